"""`echo`: a response that only repeats the instruction."""

from __future__ import annotations

from tests.curate.helpers import GOOD_INSTRUCTION, reason_of


def test_echoes_are_dropped() -> None:
    assert reason_of(response=GOOD_INSTRUCTION) == "echo"
    assert reason_of(response=GOOD_INSTRUCTION.upper() + "!") == "echo"


def test_an_answer_that_quotes_the_task_is_kept() -> None:
    res = GOOD_INSTRUCTION + " It requires each party to keep the other's information secret."
    assert reason_of(response=res) is None


def test_an_answer_that_copies_the_example_it_was_given_is_an_echo() -> None:
    example = ("## Design\nIntents are defined first, then entities, then a state machine that "
               "manages the conversation flow, recovers from errors, keeps the context of each "
               "user and answers with text, images or links as each path requires.")
    ins = f"Design a chatbot. Use this format for your answer:\n{example}"
    assert reason_of(instruction=ins, response=example) == "echo"
