"""Grounded seeds end to end through the real CLI, flow and HTTP (`ScriptedServer`): prompts
about one chunk or row, provenance on every record and in the HF export, a split that never
shares a chunk, the faithfulness check (lexical and judge), table coverage and PII masking."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from datasets import load_dataset

from datagen.checks.judge import JudgeConfig
from datagen.config import CurationConfig
from datagen.curate import References, curate
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import Endpoint
from datagen.llm.judge import judge_records, response_format
from datagen.records import json_cell
from tests.cli import cli
from tests.conftest import SEEDS
from tests.curate.helpers import records
from tests.scripted_server import Reply, ScriptedServer
from tests.seeds import grounded_world
from tests.seeds.grounded_world import shown

POLICY_SEED = SEEDS / "legal" / "privacy_policy_qa.yaml"
CATALOG_SEED = SEEDS / "ecommerce" / "catalog_questions.yaml"


def _run(server: ScriptedServer, seed: Path, out: Path, pairs: int, *extra: Any) -> str:
    # small runs, not for OpenAI (under its 10 examples); the scripted words are no verdicts
    config = out.parent / f"{out.name}.yaml"
    config.write_text("export: {target_models: []}\ncuration: {judge: {enabled: 'off'}}\n")
    code, text = cli("run", seed, "--pairs", pairs, "--out", out, "--base-url",
                     server.base_url, "--model", "test-model", "--config", config, *extra)
    assert code == 0, text
    return text


def _sources(out: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in map(json.loads, (out / "sources.jsonl").open())}


def _refs(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [json_cell(m).get("source") for m in df["metadata"]]


def test_grounded_run_keeps_provenance_and_never_splits_a_chunk(prefect_harness,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "run"
    with ScriptedServer(grounded_world.handler) as server:
        _run(server, POLICY_SEED, out, 12)
        asks = [r for r in server.requests if "Here is a passage from" in
                r["messages"][-1]["content"]]
        answers = [r for r in server.requests if "<<<" in r["messages"][0]["content"]
                   and "Here is a passage" not in r["messages"][-1]["content"]]
    units = _sources(out)
    texts = {u["text"] for u in units.values()}
    assert asks and all(shown(r["messages"][-1]["content"]) in texts for r in asks)
    assert answers and all(shown(r["messages"][0]["content"]) in texts for r in answers)
    df = pd.read_parquet(out / "records.parquet")
    kept = df[df["keep"]]
    assert len(kept) == 12
    for ref in _refs(kept):
        unit = units[ref["id"]]
        assert (ref["file"], ref["start"], ref["end"]) == (unit["file"], unit["start"],
                                                          unit["end"])
        source_doc = POLICY_SEED.parent / unit["file"]
        assert source_doc.is_file() and unit["end"] - unit["start"] == len(unit["text"])
    split = dict(zip(kept["id"], kept["split"], strict=True))
    by_chunk: dict[str, set[str]] = {}
    for rid, ref in zip(kept["id"], _refs(kept), strict=True):
        by_chunk.setdefault(ref["id"], set()).add(split[rid])
    assert all(len(s) == 1 for s in by_chunk.values()), by_chunk
    assert {"train", "validation"} <= {s for v in by_chunk.values() for s in v}
    ds = load_dataset(str(out / "hf"))
    for name in ("train", "validation"):
        for row in ds[name]:
            assert row["source_id"] in units and row["source_file"].startswith("northwind/")
            assert row["source_end"] > row["source_start"] and row["source_row"] is None
    manifest = json.loads((out / "manifest.json").read_text())
    cover = manifest["sources"]["seeds"]["legal-privacy-policy-qa"]
    assert cover["kept"] == 12 and cover["shared_units"] == 0
    assert cover["units"] == len(units) and len(cover["files"]) == 4
    assert sum(f["kept"] for f in cover["files"].values()) == 12
    assert manifest["split"]["leakage"]["crossing_sources"] == 0
    page = (out / "report.html").read_text()
    assert "id='sources'" in page or 'id="sources"' in page


def test_faithfulness_drops_an_answer_that_contradicts_its_chunk_and_keeps_a_quote() -> None:
    chunk = ("Customer analytics data is deleted 30 days after the customer's contract ends, "
             "unless the customer asks for an export before that date. Backups are overwritten "
             "on a rolling 35-day cycle.")
    source = json.dumps({"source": {"id": "c1", "kind": "chunk", "file": "policy.md"}})
    question = "How long do we keep a customer's analytics data after the contract ends?"
    df = records(
        {"instruction": question, "metadata": source,
         "response": "We delete customer analytics data 30 days after the contract ends, "
                     "unless the customer asks for an export first; backups roll over every "
                     "35 days."},
        {"instruction": "Our backups: are they archived, and for how long?", "metadata": source,
         "response": "Analytics data is kept for 90 days after the contract ends, and "
                     "backups are archived permanently on tape in our vault."},
        {"instruction": "What happens to data when a customer wants an export?",
         "metadata": source,
         "response": "Our marketing team reviews loyalty programmes quarterly with regional "
                     "managers, focusing on seasonal promotions and partnerships."})
    out = curate(df, CurationConfig(), refs=References(sources={"c1": chunk}))
    assert out["drop_reason"].fillna("").tolist() == ["", "unsupported", "unsupported"]
    scores = [json.loads(s) for s in out["scores"]]
    assert scores[0]["support"] >= 0.5 and "unsupported_numbers" not in scores[0]
    assert scores[1]["unsupported_numbers"] == ["90"]
    assert scores[2]["support"] < 0.5
    lenient = CurationConfig.model_validate({"faithfulness": {"numbers": False,
                                                              "min_support": 0.0}})
    again = curate(df, lenient, refs=References(sources={"c1": chunk}))
    assert again["drop_reason"].isna().all()


def test_a_run_whose_answers_ignore_their_source_keeps_nothing(prefect_harness,
                                                               tmp_path: Path) -> None:
    def liar(body: dict[str, Any], n: int) -> Reply:
        return grounded_world.handler(body, n, liar=True)

    with ScriptedServer(liar) as server:
        code, text = cli("run", POLICY_SEED, "--pairs", "3", "--out", tmp_path / "run",
                         "--base-url", server.base_url, "--model", "test-model")
    assert code == 7, text
    df = pd.read_parquet(tmp_path / "run" / "records.parquet")
    answered = df[df["response"].notna()]
    assert len(answered) and set(answered["drop_reason"]) == {"unsupported"}


def test_the_judge_scores_faithfulness_against_the_source(tmp_path: Path) -> None:
    def judge(body: dict[str, Any], n: int) -> Reply:
        user = body["messages"][-1]["content"]
        verdict = {"correctness": 8, "instruction_following": 8, "domain_fit": 8,
                   "rationale": "ok"}
        if "<<<" in user:
            verdict["faithfulness"] = 2 if "tape" in user else 9
            assert set(body["response_format"]["schema"]["required"]) >= {"faithfulness"}
        return Reply(json.dumps(verdict))

    chunk = "Backups are overwritten on a rolling 35-day cycle after deletion of the data."
    meta = json.dumps({"source": {"id": "c1", "kind": "chunk", "file": "policy.md"}})
    df = records(
        {"instruction": "How long do backups keep deleted data?", "metadata": meta,
         "response": "Backups are overwritten on a rolling 35-day cycle after deletion."},
        {"instruction": "Where do backups of deleted data go?", "metadata": meta,
         "response": "Backups of deleted data are overwritten after deletion and kept on tape."},
        {"instruction": "Draft an NDA clause about permitted use of information.",
         "response": "The Recipient shall use the Confidential Information only to evaluate "
                     "the proposed transaction and for no other purpose."})

    async def go(server: ScriptedServer) -> pd.DataFrame:
        client = LLMClient(Endpoint(base_url=server.base_url, model="test-model", kind="local",
                                    identity="local:grounded-judge"), max_retries=0)
        try:
            return await judge_records(df, client, JudgeConfig(enabled="on"),
                                       response_fmt=response_format("auto", "local"),
                                       sources={"c1": chunk})
        finally:
            await client.aclose()

    with ScriptedServer(judge) as server:
        judged = asyncio.run(go(server))
        shown_source = ["<<<" in r["messages"][-1]["content"] for r in server.requests]
    assert sorted(shown_source) == [False, True, True]
    faith = [json.loads(s).get("judge_faithfulness") for s in judged["scores"]]
    assert faith == [9, 2, None]
    cfg = CurationConfig.model_validate({"faithfulness": {"min_support": 0.0}})
    out = curate(judged, cfg, refs=References(sources={"c1": chunk}))
    assert out["drop_reason"].fillna("").tolist() == ["", "unsupported", ""]


def test_table_rows_fill_the_placeholders_and_are_covered_evenly(prefect_harness,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "run"
    with ScriptedServer(grounded_world.handler) as server:
        _run(server, CATALOG_SEED, out, 16)
        asks = [r["messages"][-1]["content"] for r in server.requests
                if "Here is a passage from" in r["messages"][-1]["content"]]
    table = pd.read_csv(CATALOG_SEED.parent / "products.csv", dtype=str)
    names = table["product_name"].tolist()
    assert asks and all("{" not in a.split("Here is a passage")[0] for a in asks)
    about = Counter(next(n for n in names if f"about {n} (" in a) for a in asks)
    assert max(about.values()) - min(about.values()) <= 1  # no row gets two turns before all
    assert len(about) == min(len(asks), len(names))
    df = pd.read_parquet(out / "records.parquet")
    rows = [r["row"] for r in _refs(df[df["keep"]])]
    assert all(0 <= r < len(table) for r in rows)
    cover = json.loads((out / "manifest.json").read_text())["sources"]["seeds"][
        "ecommerce-catalog-questions"]
    assert cover["kind"] == "rows" and cover["units"] == 16
    assert cover["used"] == len(set(rows)) and cover["kept"] == len(rows)


def test_pii_in_a_source_is_masked_before_it_is_sent(prefect_harness, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "contacts.md").write_text(
        "# Privacy contacts\n\nThe Data Protection Officer, Dana Reyes, answers privacy "
        "questions at dana.reyes@northwind.example or on +44 20 7946 0958 during office "
        "hours, and replies to every request within five business days.\n")
    seed = tmp_path / "seed.yaml"
    seed.write_text(POLICY_SEED.read_text().split("sources:")[0]
                    + "sources:\n  documents: [docs/contacts.md]\n")
    config = tmp_path / "run.yaml"
    config.write_text("curation:\n  pii:\n    mode: mask\n  judge:\n    enabled: 'off'\n")
    with ScriptedServer(grounded_world.handler) as server:
        code, text = cli("run", seed, "--pairs", "2", "--out", tmp_path / "run", "--base-url",
                         server.base_url, "--model", "test-model", "--config", config,
                         "--allow-short")
        sent = json.dumps(server.requests)
    assert code == 0, text
    assert "dana.reyes@northwind.example" not in sent and "7946" not in sent
    assert "[EMAIL]" in sent
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["sources"]["pii_masked"] is True
    assert manifest["sources"]["seeds"]["legal-privacy-policy-qa"]["masked_units"] == 1


def test_a_source_gone_bad_on_rerun_fails_clearly_and_loses_nothing(prefect_harness,
                                                                    tmp_path: Path) -> None:
    import shutil

    legal = tmp_path / "legal"
    shutil.copytree(POLICY_SEED.parent, legal)
    seed, out = legal / POLICY_SEED.name, tmp_path / "run"
    with ScriptedServer(grounded_world.handler) as server:
        _run(server, seed, out, 3)
        before = {p.name: p.read_bytes() for p in (out / "records.parquet",
                                                   out / "cache.sqlite", out / "sources.jsonl")}
        (legal / "northwind" / "remote-work.docx").write_bytes(b"not a zip any more")
        calls = len(server.requests)
        code, text = cli("run", seed, "--pairs", "6", "--out", out, "--base-url",
                         server.base_url, "--model", "test-model")
        assert len(server.requests) == calls  # refused before any call
    assert code == 2, text
    flat = " ".join(text.split())
    assert "remote-work.docx: not a readable DOCX file" in flat and "re-save it" in flat
    assert "Traceback" not in text
    after = {p.name: p.read_bytes() for p in (out / "records.parquet", out / "cache.sqlite",
                                              out / "sources.jsonl")}
    assert after == before


def test_appending_nights_keep_each_chunk_in_one_split(prefect_harness, tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    with ScriptedServer(grounded_world.handler) as server:
        for night, pairs in enumerate((6, 14)):
            _run(server, POLICY_SEED, tmp_path / f"night{night}", pairs, "--append-to",
                 dataset)
    published = pd.read_parquet(dataset / "records.parquet")
    assert published["run_id"].nunique() == 2
    by_chunk: dict[str, set[str]] = {}
    nights: dict[str, set[str]] = {}
    for ref, split, run in zip(_refs(published), published["split"], published["run_id"],
                               strict=True):
        by_chunk.setdefault(ref["id"], set()).add(split)
        nights.setdefault(ref["id"], set()).add(run)
    assert any(len(r) == 2 for r in nights.values())  # the second night reused chunks
    assert all(len(s) == 1 for s in by_chunk.values()), by_chunk


def test_a_follow_up_turn_is_answered_from_the_same_source(prefect_harness,
                                                           tmp_path: Path) -> None:
    import shutil

    legal = tmp_path / "legal"
    shutil.copytree(POLICY_SEED.parent, legal)
    seed = legal / POLICY_SEED.name
    seed.write_text(seed.read_text() + "multi_turn: true\n")
    with ScriptedServer(grounded_world.handler) as server:
        _run(server, seed, tmp_path / "run", 2, "--allow-short")
        second = [r for r in server.requests if any(m["role"] == "assistant"
                                                    for m in r["messages"])]
    units = {u["text"] for u in _sources(tmp_path / "run").values()}
    assert second and all(shown(r["messages"][0]["content"]) in units for r in second)
