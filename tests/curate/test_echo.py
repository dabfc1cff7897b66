"""`echo`: a response that only repeats the instruction."""

from __future__ import annotations

from tests.curate.helpers import GOOD_INSTRUCTION, reason_of


def test_echoes_are_dropped() -> None:
    assert reason_of(response=GOOD_INSTRUCTION) == "echo"
    assert reason_of(response=GOOD_INSTRUCTION.upper() + "!") == "echo"


def test_an_answer_that_quotes_the_task_is_kept() -> None:
    res = GOOD_INSTRUCTION + " It requires each party to keep the other's information secret."
    assert reason_of(response=res) is None
