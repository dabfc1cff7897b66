"""`datagen eval` with a judge that cannot score: every call failing is an error of its own
(exit 11), never a `0.50 [0.50, 0.50]` win rate; a judge failing on some comparisons gives the
win rate over the scored ones, and says how many those are. The candidates and the judge are
scripted loopback servers (real HTTP, the real client); the run folder is a real one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from datagen.errors import ScoreFailed
from datagen.llm.endpoint import Endpoint
from tests.cli import cli
from tests.scripted_server import Reply, ScriptedServer

BETTER = "A thorough answer, with the persona's care and every caveat the request needs."


def candidates(body: dict, n: int) -> Reply:
    """(b) is asked with the seed's persona as system message, (a) without one."""
    prompted = any(m["role"] == "system" for m in body["messages"])
    return Reply(BETTER if prompted else "A short answer.")


def fair_judge(body: dict, n: int) -> Reply:
    """Prefers the better answer wherever it is shown."""
    prompt = body["messages"][0]["content"]
    shown_a = re.search(r"Answer A:\n(.*?)\n\nAnswer B:", prompt, re.S).group(1)
    return Reply("A" if shown_a == BETTER else "B")


def endpoint(server: ScriptedServer, name: str) -> Endpoint:
    return Endpoint(base_url=server.base_url, model="test-model", kind="local",
                    identity=f"local:{name}")


def evaluate_with(run_dir: Path, judge_handler, base_handler=candidates) -> dict:  # noqa: ANN001
    from datagen.evaluate.comparison import EvalRequest, evaluate
    from datagen.finetune.source import training_data

    with ScriptedServer(base_handler) as base, ScriptedServer(judge_handler) as judge:
        return evaluate(training_data(run_dir),
                        EvalRequest(finetuned="none", max_tokens=24,
                                    judge=endpoint(judge, "judge"), base=endpoint(base, "base")))


def test_a_judge_whose_every_call_fails_is_an_error(run_dir: Path) -> None:
    with pytest.raises(ScoreFailed) as caught:
        evaluate_with(run_dir, lambda body, n: Reply("overloaded", status=500))
    assert caught.value.exit_code == 11
    assert "scored none of the" in caught.value.message and "http_500" in caught.value.message
    assert "no win rate" in caught.value.message
    # the candidates' answers are kept; no table with a made-up win rate is written anywhere
    assert len((run_dir / "eval" / "answers.jsonl").read_text().splitlines()) > 0
    assert not (run_dir / "eval" / "summary.json").exists()
    assert "eval" not in json.loads((run_dir / "manifest.json").read_text())


def test_a_judge_that_never_says_a_or_b_is_an_error(run_dir: Path) -> None:
    with pytest.raises(ScoreFailed, match="said_neither"):
        evaluate_with(run_dir, lambda body, n: Reply("Both answers have merit."))


def test_a_partly_failing_judge_scores_the_rest_only(run_dir: Path) -> None:
    failing: set[str] = set()

    def judge(body: dict, n: int) -> Reply:
        request = body["messages"][0]["content"].split("Request:\n", 1)[1].split("\n\n")[0]
        if len(failing) < 3 or request in failing:  # the first three requests asked fail
            failing.add(request)
            return Reply("overloaded", status=500)
        return fair_judge(body, n)

    summary = evaluate_with(run_dir, judge)
    result = summary["judge"]["pairs"]["b_vs_a"]
    asked = summary["instructions"]
    assert result["asked"] == asked and result["scored"] == result["n"] == asked - 3
    assert result["unscored"] == {"http_500": 3}
    assert result["win_rate"] == 1.0 and result["ci95"] == [1.0, 1.0]  # over the scored only
    report = (run_dir / "eval" / "report.md").read_text()
    assert f"scored {asked - 3} of {asked} comparisons (http_500 x3)" in report


def test_a_candidate_that_answers_nothing_has_no_score(run_dir: Path) -> None:
    with pytest.raises(ScoreFailed, match=r"answered none of the \d+ validation instructions"):
        evaluate_with(run_dir, fair_judge, lambda body, n: Reply("down", status=503))


def test_the_command_exits_11_with_one_message(run_dir: Path) -> None:
    with ScriptedServer(candidates) as base, \
            ScriptedServer(lambda body, n: Reply("overloaded", status=500)) as judge:
        config = json.loads((run_dir / "config.json").read_text())
        config["config"]["llm"]["base_url"] = base.base_url  # the run's endpoint answers (a), (b)
        (run_dir / "config.json").write_text(json.dumps(config))
        code, out = cli("eval", run_dir, "--finetuned", "none", "--max-tokens", "24",
                        "--judge-base-url", judge.base_url, "--judge-model", "test-model")
    assert code == 11, out
    assert "scored none of the" in out and "fix:" in out and "Traceback" not in out
    assert "0.50 [0.50, 0.50]" not in out

