"""The whole run on the embedded model: real llama.cpp server, real openai client, real Prefect
flow, real `datasets` round trip. The model is tiny: these tests check structure, not content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from datasets import load_dataset

from datagen.config import RunConfig
from datagen.export.split import groups
from datagen.llm.cache import ResponseCache
from datagen.records import COLUMNS, kept
from tests.conftest import NDA_SEED, REPO
from tests.runs import flow_summary

pytestmark = pytest.mark.embedded
STOP_REASONS = {"target_met", "stalled", "parse_failed", "saturated", "attempt_limit",
                "max_rounds"}


def _config(out: Path, base_url: str, pairs: int = 3) -> RunConfig:
    return RunConfig.model_validate({
        "seeds": [str(NDA_SEED)], "out": str(out), "pairs": pairs, "seed": 7,
        "llm": {"base_url": base_url, "max_concurrency": 2},
        # the shared server looks like any local endpoint, where the judge is on by default;
        # the embedded model is too weak to judge (as on its own, default path)
        "curation": {"judge": {"enabled": "off"}},
        "export": {"target_models": []},  # a handful of pairs: not for OpenAI
    })


def check_run_folder(out: Path) -> dict:
    """Everything a run folder must hold, and counts that add up."""
    manifest = json.loads((out / "manifest.json").read_text())
    c = manifest["counts"]
    assert c["generated"] == c["kept"] + c["dropped"]
    assert c["kept"] == c["train"] + c["validation"]
    assert sum(c["by_reason"].values()) == c["dropped"]
    assert manifest["split"]["leakage"]["crossing_pairs"] == 0
    assert {"openai", "datasets", "prefect"} <= set(manifest["versions"])

    records = pd.read_parquet(out / "records.parquet")
    assert list(records.columns) == [*COLUMNS, "split"]  # the run's ledger, with the split
    assert len(records) == c["generated"]
    assert records["split"].value_counts().to_dict() == {
        k: v for k in ("train", "validation") if (v := c[k])}
    assert records["id"].is_unique
    assert (~records["keep"]).sum() == c["dropped"]
    assert records.loc[~records["keep"], "drop_reason"].notna().all()

    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == c["dropped"]

    for split, n in (("train", c["train"]), ("validation", c["validation"])):
        lines = (out / "openai" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == n
        for line in lines:
            msgs = json.loads(line)["messages"]
            assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
            assert all(isinstance(m["content"], str) and m["content"] for m in msgs)
            assert "null" not in line

    # The tiny model's words (and so its yield) change with the llama.cpp build: zero kept
    # is a legal outcome here, as long as the run says why each seed stopped.
    for seed_id, gen in manifest["generation"].items():
        assert gen["stop"] in STOP_REASONS, (seed_id, gen["stop"])
        assert gen["kept"] + gen["shortfall"] == gen["target"]
        assert gen["kept"] == manifest["per_seed"][seed_id]["kept"]
    if c["kept"] == 0:
        assert not list((out / "hf" / "data").glob("*.parquet"))
        return manifest
    ds = load_dataset(str(out / "hf"))
    expected = {name: n for name, n in (("train", c["train"]),
                                          ("validation", c["validation"])) if n}
    assert {name: d.num_rows for name, d in ds.items()} == expected
    first = next(iter(ds.values()))
    assert {"messages", "instruction", "response", "seed_id", "domain", "language"} <= set(
        first.column_names
    )
    # two groups or more (near-duplicate instructions share one): then validation is never
    # empty; the tiny model's instructions may all be one group, whose pairs stay together
    live = kept(pd.read_parquet(out / "records.parquet"))
    if groups(live).nunique() >= 2:
        assert c["validation"] >= 1
    return manifest


def test_flow_run_then_rerun_makes_no_calls(tmp_path: Path, embedded, prefect_harness) -> None:
    out = tmp_path / "run"
    cfg = _config(out, embedded.base_url)
    first = flow_summary(cfg)
    assert first["outcome"] in ("complete", "short", "empty")
    manifest = check_run_folder(out)
    assert first["counts"]["kept"] == manifest["counts"]["kept"]
    assert manifest["llm"]["requests"] > 0
    train_before = (out / "openai" / "train.jsonl").read_bytes()

    answers = len(ResponseCache(out / "cache.sqlite"))
    assert answers == manifest["llm"]["requests"]  # every answer was cached as it arrived

    assert flow_summary(cfg)["outcome"] == first["outcome"]
    again = check_run_folder(out)
    # no new call: the cache holds exactly the answers of the first run (stages come back
    # from Prefect's persisted results, or from the response cache when those are gone)
    assert len(ResponseCache(out / "cache.sqlite")) == answers
    assert again["counts"] == manifest["counts"]
    assert (out / "openai" / "train.jsonl").read_bytes() == train_before


def test_cli_run(tmp_path: Path, embedded) -> None:
    """`datagen run` end to end in its own process (Prefect's temporary server included),
    on the session's embedded model server (the quickstart starts its own: `make demo`)."""
    out = tmp_path / "cli"
    config = tmp_path / "run.yaml"
    config.write_text("curation:\n  judge:\n    enabled: 'off'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.run(
        [sys.executable, "-m", "datagen.cli", "run", str(NDA_SEED), "--pairs", "2",
         "--out", str(out), "--base-url", embedded.base_url, "--config", str(config),
         "--allow-short", "--allow-empty"],  # the tiny model's yield varies by build
        capture_output=True, text=True, timeout=600, cwd=REPO, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = check_run_folder(out)
    assert manifest["endpoint"] == {"kind": "local", "model": "smollm2-135m-instruct"}
    assert "kept" in proc.stderr  # the summary table


def test_grounded_seed_runs_end_to_end(tmp_path: Path, embedded, prefect_harness) -> None:
    """The shipped grounded seed (documents in four formats) on the embedded model: every
    record names a chunk of the run's sources, whatever the tiny model kept."""
    out = tmp_path / "grounded"
    seed = REPO / "seeds" / "legal" / "privacy_policy_qa.yaml"
    cfg = _config(out, embedded.base_url, pairs=2).model_copy(update={"seeds": [str(seed)]})
    # one round of short answers (expansion keeps its default length, so the instructions
    # parse): what is asserted is where each record points, not its words
    cfg = cfg.model_copy(update={"generation": cfg.generation.model_copy(update={
        "max_rounds": 1, "respond_max_tokens": 48})})
    assert flow_summary(cfg)["outcome"] in ("complete", "short", "empty")
    manifest = check_run_folder(out)
    units = {json.loads(line)["id"] for line in (out / "sources.jsonl").open()}
    records = pd.read_parquet(out / "records.parquet")
    refs = [json.loads(m).get("source") for m in records["metadata"]]
    assert refs and all(r is not None and r["id"] in units for r in refs)
    cover = manifest["sources"]["seeds"]["legal-privacy-policy-qa"]
    assert cover["units"] == len(units) and cover["instructions"] == len(records)
    assert cover["kept"] == manifest["counts"]["kept"] and cover["shared_units"] == 0


def test_open_endpoint_starts_and_stops_the_embedded_model() -> None:
    """No endpoint configured: the embedded model is served on loopback, then stopped."""
    import httpx

    from datagen.config import LLMConfig
    from datagen.llm.endpoint import open_endpoint

    with open_endpoint(LLMConfig()) as endpoint:
        assert endpoint.kind == "embedded"
        assert endpoint.identity.startswith("embedded:")  # not the port: caches survive runs
        assert httpx.get(f"{endpoint.base_url}/models", timeout=5).status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{endpoint.base_url}/models", timeout=2)
