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
