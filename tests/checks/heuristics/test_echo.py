"""`echo`: a response that only repeats the instruction."""

from __future__ import annotations

import pytest

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


def test_a_cjk_answer_that_repeats_its_instruction_is_an_echo() -> None:
    ins = "请解释保密协议中的双方保密义务包括哪些具体内容以及违约责任如何承担"
    assert reason_of(language="zh", instruction=ins, response=ins[2:]) == "echo"
    assert reason_of(language="zh", instruction=ins,
                     response="双方都必须对对方提供的商业信息保密，只能为约定目的使用，协议终止后"
                              "归还或销毁；违约方应赔偿对方因此遭受的全部损失。") is None


@pytest.mark.parametrize(("instruction", "echo"), [
    ("Rewrite this sentence in plain English: The party of the first part shall indemnify "
     "the party of the second part.",
     "The party of the first part shall indemnify the party of the second part."),
    ("Translate into French:\nThe agreement ends when both parties have signed the release.",
     "The agreement ends when both parties have signed the release."),
    ("Summarize the text below.\n\nInput: The recipient shall keep all confidential "
     "information secret and use it only to evaluate the proposed merger.",
     "The recipient shall keep all confidential information secret and use it only to "
     "evaluate the proposed merger."),
])
def test_a_transform_answered_with_its_input_unchanged_is_an_echo(instruction: str,
                                                                  echo: str) -> None:
    assert reason_of(instruction=instruction, response=echo) == "echo"


def test_a_transform_that_changes_its_input_is_kept() -> None:
    ins = ("Rewrite this sentence in plain English: The party of the first part shall "
           "indemnify the party of the second part.")
    assert reason_of(instruction=ins, response="The seller will cover the buyer's losses.") \
        is None
    # a task that only quotes a passage (no change asked) may answer with it
    quote = ("Which sentence of the clause names the deadline?\n\nInput: The parties sign "
             "today. Materials are returned within 30 days.")
    assert reason_of(instruction=quote, response="Materials are returned within 30 days.") \
        is None
