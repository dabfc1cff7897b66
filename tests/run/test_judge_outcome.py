"""A run whose judge cannot score says so: with the judge on and no verdict it could read, the
run ends `judge_failed` (exit 11), not as a complete run whose pairs passed a threshold that was
never applied; the manifest counts the pairs the judge scored, not the ones it was asked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from datagen.run import run
from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.flows.world import handler
from tests.scripted_server import Reply, ScriptedServer


def _is_judge(body: dict[str, Any]) -> bool:
    return "strict reviewer of training data" in body["messages"][0]["content"]


def rambling_judge(body: dict[str, Any], n: int) -> Reply:
    return Reply("I would give it an 8 out of 10.") if _is_judge(body) else handler(body, n)


def test_a_judge_that_never_scores_ends_the_run_with_exit_11(prefect_harness, tmp_path: Path
                                                             ) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("llm:\n  max_retries: 0\nexport:\n  target_models: []\n")
    with ScriptedServer(rambling_judge) as server:
        code, out = cli("run", NDA_SEED, "--pairs", "6", "--out", tmp_path / "run",
                        "--base-url", server.base_url, "--model", "test-model",
                        "--config", config)
    assert code == 11, out
    assert "judge_failed" in out and "scored none of the" in out and "not JSON" in out
    assert "curation.judge.enabled: off" in out and "Traceback" not in out
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    stages = manifest["counts"]["by_stage"]
    assert stages["judged"] == 0 and stages["judge_unscored"] > 0
    assert (tmp_path / "run" / "openai" / "train.jsonl").is_file()  # exported all the same


def test_a_judge_that_scores_some_pairs_is_counted_as_it_is(make_config) -> None:
    asked: list[int] = []

    def flaky_judge(body: dict[str, Any], n: int) -> Reply:
        if _is_judge(body):
            asked.append(n)
            if len(asked) % 3 == 0:  # every third verdict is not JSON
                return Reply("Good answer overall.")
        return handler(body, n)

    with ScriptedServer(flaky_judge) as server:
        cfg = make_config(llm={"base_url": server.base_url, "model": "test-model",
                               "max_retries": 0}, export={"target_models": []})
        result = asyncio.run(run(cfg))
    outcome = result.outcome()
    assert outcome.name == "complete"
    assert "the judge could not score" in outcome.message and "not JSON" in outcome.message
    stages = result.counts["by_stage"]
    assert stages["judged"] > 0 and stages["judge_unscored"] > 0
    assert result.judge == {"scored": stages["judged"], "unscored": stages["judge_unscored"]}
    assert f"the judge could not score {stages['judge_unscored']} of the pairs" in \
        outcome.message
    counts = json.loads((Path(cfg.out) / "manifest.json").read_text())["counts"]
    assert counts["by_stage"]["judged"] == stages["judged"]
