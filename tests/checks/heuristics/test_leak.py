"""`chat_leak`: special tokens and the next turn of the chat leaked into an answer."""

from __future__ import annotations

import pytest

from tests.curate.helpers import GOOD_RESPONSE, reason_of


@pytest.mark.parametrize("response", [
    GOOD_RESPONSE + "\n### Human: Thanks! Can you also draft a termination clause?",
    GOOD_RESPONSE + "<|im_end|>",
    GOOD_RESPONSE + "</s>",
    GOOD_RESPONSE + "\nUser: and what about the survival clause?\nAssistant: It says...",
    "[INST] " + GOOD_RESPONSE,
])
def test_leaks_are_dropped(response: str) -> None:
    assert reason_of(response=response) == "chat_leak"


def test_a_dialogue_that_was_asked_for_is_kept() -> None:
    ins = "Write a short dialogue between a user and an assistant about NDAs."
    res = "User: What is an NDA?\nAssistant: A contract that keeps shared information secret."
    assert reason_of(instruction=ins, response=res) is None


def test_a_command_line_transcript_that_runs_into_the_next_prompt_is_a_leak() -> None:
    ins = "我应该先学Python还是Java？"
    ran_on = (f"> {ins}\n这取决于你的目标，如果想做数据分析，可以先学Python。\n"
              "> 那如果我想做安卓开发呢？\n那就先学Java或者Kotlin。")
    assert reason_of(instruction=ins, language="zh", response=ran_on) == "chat_leak"
    # a quoted line in an answer is no transcript
    quoted = ("Python更适合入门，正如常说的：\n> 人生苦短，我用Python。\n"
              "如果以后做安卓开发，再学Java或者Kotlin也不迟。")
    assert reason_of(instruction=ins, language="zh", response=quoted) is None
