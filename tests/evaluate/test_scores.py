"""The scoring of `datagen eval`: ROUGE-L, the judge's position swap, the bootstrap interval,
and the report section a rerun replaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagen.evaluate import scores
from datagen.evaluate.table import write_report_section


def test_rouge_l() -> None:
    assert scores.rouge_l("the cat sat", "the cat sat") == 1.0
    assert scores.rouge_l("", "the cat") == 0.0 and scores.rouge_l("dog", "the cat") == 0.0
    # LCS "the sat" = 2 of 3 answer words and 2 of 4 reference words
    assert scores.rouge_l("the dog sat", "The cat, sat down") == \
        pytest.approx(2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))


@pytest.mark.parametrize(("first", "second", "score"), [
    ("A", "B", 1.0),  # preferred in both positions
    ("B", "A", 0.0),
    ("A", "A", 0.5),  # position bias: a tie, not a win
    ("B", "B", 0.5),
    (None, "B", None),  # one order got no verdict: unscored, never a default tie
    ("A", None, None),
    (None, None, None),
])
def test_position_swap(first: str | None, second: str | None, score: float | None) -> None:
    assert scores.swap_score(first, second) == score


def test_verdicts() -> None:
    assert scores.verdict(" A") == "A" and scores.verdict("b.") == "B"
    assert scores.verdict("Answer B is better") == "B" and scores.verdict("neither") is None


def test_bootstrap_interval() -> None:
    low, high = scores.bootstrap_ci([1.0] * 30 + [0.0] * 10)
    assert low < 0.75 < high and 0.55 < low and high < 0.9
    assert scores.bootstrap_ci([0.5] * 5) == (0.5, 0.5)


def test_a_rerun_replaces_the_report_section(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text("# Run\n\nbody\n")
    write_report_section(report, "## Eval\nfirst")
    write_report_section(report, "## Eval\nsecond")
    text = report.read_text()
    assert text.count("## Eval") == 1 and "second" in text and text.startswith("# Run\n\nbody")
