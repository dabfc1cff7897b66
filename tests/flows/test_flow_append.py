"""Two nightly runs appended to one dataset folder: the second adds new pairs only, never a
duplicate of a published one, and no published pair changes split."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pandas as pd
import pytest

from datagen.export.append import Published, assign_splits, bucket
from datagen.records import new_records
from datagen.similarity.pairs import exact_key, near_pairs
from flows.generate_dataset import generate_dataset
from tests.cli import cli
from tests.conftest import NDA_SEED


def _jsonl_lines(path: Path) -> int:
    return sum(1 for _ in path.open(encoding="utf-8"))


def test_nightly_appends_without_duplicates_or_split_churn(prefect_harness, make_config,
                                                          tmp_path, world):
    dataset = tmp_path / "dataset"
    config = make_config(append_to=str(dataset), export={"target_models": []})
    first = asyncio.run(generate_dataset(config))
    night1 = Published(dataset).records()
    assert len(night1) == first["published"]["total"] == 8
    asked_first = len(world.requests)

    second = asyncio.run(generate_dataset(config))  # the same parameters, the next night
    assert len(world.requests) > asked_first, "the second night must ask new questions"
    ds = Published(dataset)
    everything = ds.records()
    manifest = ds.manifest()

    lineage = manifest["lineage"]
    assert [e["seed"] for e in lineage] == [0, 1]
    assert len({e["run_id"] for e in lineage}) == 2
    assert lineage[1]["published_duplicates"] > 0, "the scripted world repeats itself"
    assert len(everything) == 16 == second["published"]["total"]
    assert set(everything["run_id"]) == {e["run_id"] for e in lineage}

    # no duplicates: neither exact nor near (at the dedup threshold) anywhere in the dataset
    keys = [exact_key(t) for t in everything["instruction"]]
    assert len(set(keys)) == len(keys)
    threshold = config.curation.dedup.near_threshold
    assert near_pairs(everything["instruction"].tolist(), threshold) == []

    # no split churn: every night-1 record is still there, in the same split
    before = dict(zip(night1["id"], night1["split"], strict=True))
    after = dict(zip(everything["id"], everything["split"], strict=True))
    assert {k: after[k] for k in before} == before

    # the exports are the whole dataset
    for name, n in manifest["counts"].items():
        if name != "total":
            assert _jsonl_lines(dataset / "openai" / f"{name}.jsonl") == n
            assert n == int((everything["split"] == name).sum())
    assert (dataset / "hf" / "README.md").exists()
    assert any(k.startswith("dataset-") for k in second["artifacts"])
    run_manifest = json.loads((Path(config.out) / "manifest.json").read_text())
    assert run_manifest["counts"]["by_reason"].get("published_duplicate", 0) > 0


def test_assign_splits_follows_published_paraphrases_and_hashes_the_rest():
    published = new_records([{"id": "p1", "instruction": "Draft a clause on data retention "
                              "for a payroll vendor.", "dup_cluster": "p1"}])
    published = published.assign(split=pd.array(["validation"], dtype="string"))
    new = new_records([
        {"id": "n1", "instruction": "Draft a clause on data retention for a payroll vendor "
         "please.", "dup_cluster": "n1"},
        {"id": "n2", "instruction": "Write a mutual non-solicitation clause for two consulting "
         "firms.", "dup_cluster": "n2"},
    ])
    labels = assign_splits(new, published, validation=0.2)
    assert labels.iloc[0] == "validation"  # a paraphrase joins its published twin's split
    assert labels.iloc[1] == bucket("n2", 0.2)  # the rest: by the hash of their cluster
    assert assign_splits(new.iloc[::-1], published, validation=0.2).sort_index().equals(
        labels.sort_index())


def test_a_night_that_adds_nothing_ends_failed(prefect_harness, tmp_path):
    """The documented state of a 0-pair night: Failed, message `empty: ...`, exit code 7 in
    its result, the dataset untouched; a scheduler sees it without opening an artifact."""
    from datagen.config import RunConfig
    from datagen.run.result import RunIncomplete
    from tests.conftest import NDA_SEED
    from tests.scripted_server import Reply, ScriptedServer

    def one_request(body: dict, n: int) -> Reply:
        if "numbered list" in body["messages"][-1]["content"]:
            return Reply("1. Draft an NDA clause on permitted use by a software reseller.")
        return Reply("The reseller may use the confidential information only to market and "
                     "support the licensed software, and for no other purpose.")

    dataset = tmp_path / "dataset"
    with ScriptedServer(one_request) as server:
        def night(out: str) -> object:
            config = RunConfig.model_validate({
                "seeds": [str(NDA_SEED)], "out": str(tmp_path / out), "pairs": 3,
                "append_to": str(dataset), "allow_short": True,
                "curation": {"judge": {"enabled": "off"}}, "export": {"target_models": []},
                "llm": {"base_url": server.base_url, "model": "test-model", "max_retries": 0}})
            return asyncio.run(generate_dataset(config, return_state=True))

        first = night("night1")
        assert first.is_completed(), first  # one new pair, short accepted
        before = Published(dataset).records()
        second = night("night2")
    assert second.is_failed() and second.message.startswith("empty: no pair was kept"), second
    error = second.result(raise_on_failure=False)
    assert isinstance(error, RunIncomplete) and error.exit_code == 7
    assert error.summary["counts"]["kept"] == 0
    assert error.summary["counts"]["by_reason"].get("published_duplicate", 0) >= 1
    assert Published(dataset).records()["id"].tolist() == before["id"].tolist()


@pytest.mark.parametrize(("out", "target", "said"), [
    ("nightly", "nightly", "are the same folder"),
    ("nightly", "nightly/dataset", "is inside --out"),
    ("datasets/legal/nightly", "datasets/legal", "is inside --append-to"),
    ("nightly", "link-to-nightly", "are the same folder"),  # a symlink is no way apart
])
def test_append_target_and_run_folder_must_be_apart(world, tmp_path: Path, out: str,
                                                     target: str, said: str) -> None:
    """Refused before any paid call and before Prefect starts: one line naming both flags and
    the fix, exit 2 (it used to make every call, then blame its own pid, exit 9)."""
    (tmp_path / "nightly").mkdir()
    (tmp_path / "link-to-nightly").symlink_to(tmp_path / "nightly")
    started = time.perf_counter()
    code, printed = cli("run", NDA_SEED, "--out", tmp_path / out, "--append-to",
                        tmp_path / target, "--base-url", world.base_url, "--model", "test-model",
                        "--pairs", "4")
    assert code == 2 and "Traceback" not in printed, printed
    error, fix = " ".join(printed.split()).split(" fix: ")  # as printed, unwrapped
    assert error.startswith("error: ") and said in error, printed
    assert "--out" in error and "--append-to" in error and "its own folder" in fix, printed
    assert world.requests == []
    assert time.perf_counter() - started < 5, "refused before Prefect starts"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link-to-nightly", "nightly"]


def test_the_library_run_refuses_the_same_folder_too(make_config, world, tmp_path: Path) -> None:
    """Deployments call `datagen.run.run` without the CLI: the same check, before any call."""
    from datagen.errors import ConfigError
    from datagen.run import run

    config = make_config(out=str(tmp_path / "nightly"), append_to=str(tmp_path / "nightly"))
    with pytest.raises(ConfigError, match="are the same folder"):
        asyncio.run(run(config))
    assert world.requests == []


def test_tool_and_schema_nights_keep_their_shape_in_the_grown_dataset(prefect_harness,
                                                                        make_config, tmp_path):
    """Two nights of a tools seed and an output_schema seed appended to one dataset: the
    grown OpenAI JSONL and HF dataset keep `tools`, `tool_calls` and `tool_call_id`, hold no
    record twice, and the card states the kinds of every published record."""
    from datasets import load_dataset

    from datagen.records import user_texts
    from tests.generate import kinds_world
    from tests.generate.test_kinds import SCHEMA_SEED, TOOLS_SEED, openai_tool_line_errors
    from tests.scripted_server import ScriptedServer

    dataset = tmp_path / "dataset"
    with ScriptedServer(kinds_world.handler) as server:
        config = make_config(seeds=[str(TOOLS_SEED), str(SCHEMA_SEED)], pairs=4,
                             allow_short=True, append_to=str(dataset),
                             curation={"judge": {"enabled": "off"}},
                             export={"target_models": []},
                             llm={"base_url": server.base_url, "model": "test-model",
                                  "max_retries": 0})
        asyncio.run(generate_dataset(config))
        night1 = Published(dataset).records()
        asyncio.run(generate_dataset(config))
    ds = Published(dataset)
    everything, manifest = ds.records(), ds.manifest()
    assert len(manifest["lineage"]) == 2 and len(everything) > len(night1) > 0
    assert set(everything["run_id"]) == {e["run_id"] for e in manifest["lineage"]}
    assert everything["id"].is_unique
    keys = [exact_key(t) for t in user_texts(everything)]  # instruction and calls together
    assert len(set(keys)) == len(keys)

    calls = everything["metadata"].map(lambda m: bool(json.loads(m).get("calls")))
    calling = int(calls.sum())
    assert everything.loc[calls, "run_id"].nunique() == 2, "both nights hold tool calls"
    lines = [json.loads(x) for name in ("train", "validation")
             for x in (dataset / "openai" / f"{name}.jsonl").read_text().splitlines()]
    assert len(lines) == len(everything)
    tooled = [line for line in lines if "tools" in line]
    assert len(tooled) == int((everything["seed_id"] == "order-tools").sum())
    assert sum(any("tool_calls" in m for m in line["messages"]) for line in tooled) == calling
    assert all(openai_tool_line_errors(line) == [] for line in tooled)

    hf = load_dataset(str(dataset / "hf"), cache_dir=str(tmp_path / "cache"))
    rows = [r for split in hf for r in hf[split]]
    assert sorted(r["id"] for r in rows) == sorted(everything["id"])
    with_calls = [r for r in rows if any(m["tool_calls"] for m in r["messages"])]
    assert len(with_calls) == calling
    for row in with_calls:
        assert [t["function"]["name"] for t in json.loads(row["tools"])] == ["get_order",
                                                                              "refund"]
        asked = {c["id"] for m in row["messages"] for c in m["tool_calls"] or []}
        assert asked == {m["tool_call_id"] for m in row["messages"] if m["role"] == "tool"}
    structured = [r for r in rows if r["seed_id"] == "order-extraction"]
    assert structured and all(r["tools"] is None for r in structured)

    card = (dataset / "hf" / "README.md").read_text()
    assert f"**Tool calling**: {calling} of the {len(everything)} kept records" in card
    schema_kept = int((everything["seed_id"] == "order-extraction").sum())
    assert f"| order-extraction | {schema_kept} | customer, total, items |" in card
