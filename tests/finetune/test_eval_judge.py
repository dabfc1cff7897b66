"""`datagen eval` with a judge that cannot score: every call failing is an error of its own
(exit 11), never a `0.50 [0.50, 0.50]` win rate; a judge failing on some comparisons gives the
win rate over the scored ones, and says how many those are. The candidates and the judge are
scripted loopback servers (real HTTP, the real client); the run folder is a real one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

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


def score_failed() -> type[Exception]:
    from datagen.errors import ScoreFailed  # the error of its own (exit 11)

    return ScoreFailed


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
    with pytest.raises(score_failed()) as caught:
        evaluate_with(run_dir, lambda body, n: Reply("overloaded", status=500))
    assert caught.value.exit_code == 11
    assert "scored none of the" in caught.value.message and "http_500" in caught.value.message
    assert "no win rate" in caught.value.message
    # the candidates' answers are kept; no table with a made-up win rate is written anywhere
    assert len((run_dir / "eval" / "answers.jsonl").read_text().splitlines()) > 0
    assert not (run_dir / "eval" / "summary.json").exists()
    assert "eval" not in json.loads((run_dir / "manifest.json").read_text())


def test_a_judge_that_never_says_a_or_b_is_an_error(run_dir: Path) -> None:
    with pytest.raises(score_failed(), match="said_neither"):
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
    assert result["win_rate"] == 1.0 and result["ci95"] == [1.0, 1.0]  # over the scored only
    assert result["asked"] == asked and result["scored"] == result["n"] == asked - 3
    assert result["unscored"] == {"http_500": 3}
    report = (run_dir / "eval" / "report.md").read_text()
    assert f"scored {asked - 3} of {asked} comparisons (http_500 x3)" in report


def test_a_candidate_that_answers_nothing_has_no_score(run_dir: Path) -> None:
    with pytest.raises(score_failed(), match=r"answered none of the \d+ validation instructions"):
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



def first_shown(body: dict, n: int) -> Reply:
    """A judge with all position bias: it prefers whichever answer it is shown first."""
    return Reply("A")


def test_a_judge_that_always_prefers_the_first_answer_is_all_position_bias(
        run_dir: Path) -> None:
    summary = evaluate_with(run_dir, first_shown)
    result = summary["judge"]["pairs"]["b_vs_a"]
    asked = summary["instructions"]
    bias = result["position_bias"]
    assert bias["comparisons"] == bias["answered_both_orders"] == asked
    assert bias["winner_flips"]["value"] == 1.0 and bias["winner_flips"]["k"] == asked
    assert bias["first_position_wins"]["value"] == 1.0
    assert bias["first_position_wins"]["n"] == 2 * asked
    assert bias["winner_flips"]["ci95"][0] < 1.0 == bias["winner_flips"]["ci95"][1]  # Wilson
    assert result["win_rate"] == 0.5  # every comparison a tie: the bias hides no preference
    stored = [json.loads(line) for line in
              (run_dir / "eval" / "verdicts.jsonl").read_text().splitlines()]
    assert len(stored) == asked and {(v["x_first"], v["y_first"]) for v in stored} == {("A", "A")}
    assert {v["pair"] for v in stored} == {"b_vs_a"}
    report = (run_dir / "eval" / "report.md").read_text()
    low = bias["winner_flips"]["ci95"][0]
    assert f"| (b) vs (a) | {asked} of {asked} | 1.00 \\[{low:.2f}, 1.00\\] |" in report


def test_a_fair_judge_has_no_position_bias(run_dir: Path) -> None:
    summary = evaluate_with(run_dir, fair_judge)
    result = summary["judge"]["pairs"]["b_vs_a"]
    bias = result["position_bias"]
    assert result["win_rate"] == 1.0
    assert bias["winner_flips"]["value"] == 0.0 and bias["winner_flips"]["k"] == 0
    assert bias["first_position_wins"]["value"] == 0.5
    stored = [json.loads(line) for line in
              (run_dir / "eval" / "verdicts.jsonl").read_text().splitlines()]
    assert {(v["x_first"], v["y_first"]) for v in stored} == {("A", "B")}  # (b) won both ways
    assert "| (b) vs (a) |" in (run_dir / "eval" / "report.md").read_text()
