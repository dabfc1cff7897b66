"""`datagen eval` on the embedded model: (a) base, (b) persona + few-shot, (c) the base with
the session's LoRA adapter (served by llama.cpp from the converted adapter), with a scripted
judge. The tiny model's words are never asserted: the table's structure and the judge's
protocol are."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from datagen.llm.endpoint import Endpoint
from tests.scripted_server import Reply, ScriptedServer

pytestmark = pytest.mark.embedded


@pytest.fixture
def eval_run(adapter_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(adapter_run, copy, symlinks=True)
    return copy


def test_the_comparison_table(eval_run: Path, embedded_endpoint: Endpoint) -> None:
    from datagen.evaluate.comparison import EvalRequest, evaluate
    from datagen.finetune.source import training_data

    with ScriptedServer(lambda body, n: Reply("A")) as judge_server:  # always says "A"
        judge = Endpoint(base_url=judge_server.base_url, model="test-model", kind="local",
                         identity="local:eval-judge")
        summary = evaluate(training_data(eval_run),
                           EvalRequest(max_tokens=24, judge=judge, base=embedded_endpoint))
        asked = [r["messages"][0]["content"] for r in judge_server.requests]
    n = json.loads((eval_run / "manifest.json").read_text())["counts"]["validation"]
    rows = {c["candidate"]: c for c in summary["candidates"]}
    assert sorted(rows) == ["a", "b", "c"] and summary["finetuned"] == "lora"
    assert rows["c"]["approach"] == "adapter (LoRA)" and rows["c"]["training"]["eval_loss"] > 0
    for c in rows.values():
        assert c["answered"] + c["failed"] == summary["instructions"] == n
        assert c["answered"] > 0 and 0 <= c["rouge_l"] <= 1
        assert c["prompt_tokens"] > 0 and c["latency_s"] > 0 and c["cost_usd"] == 0
    # (b) carries the persona and few-shot turns: a longer prompt than (a)
    assert rows["b"]["prompt_tokens"] > rows["a"]["prompt_tokens"]
    # every pair is asked in both orders, so a judge that always says "A" scores a tie
    assert len(asked) == 3 * n * 2
    for pair, result in summary["judge"]["pairs"].items():
        assert result["win_rate"] == 0.5 and result["ci95"] == [0.5, 0.5], pair
    shown = {tuple(re.findall(r"Answer [AB]:\n(.*?)\n\n", p, re.S)) for p in asked}
    assert all((b, a) in shown for a, b in shown)
    # the table is in the manifest, eval/ and report.md (once)
    manifest = json.loads((eval_run / "manifest.json").read_text())
    assert manifest["eval"] == summary
    answers = (eval_run / "eval" / "answers.jsonl").read_text().splitlines()
    assert len(answers) == 3 * n
    report = (eval_run / "report.md").read_text()
    assert report.count("## Prompting vs fine-tuning vs adapter") == 1
    assert "ROUGE-L F1" in report and "(c) adapter" in report
