"""`refusal`: refusals and AI boilerplate, in English and other languages."""

from __future__ import annotations

import pytest

from tests.curate.helpers import reason_of


@pytest.mark.parametrize("response", [
    "As an AI language model, I cannot give legal advice on this clause.",
    "I\u2019m sorry, but I can\u2019t help with drafting that clause for you.",
    "I don't have access to the internet, so I cannot look up the registry.",
    "作为一个人工智能语言模型，我无法提供法律建议。",
    "En tant qu'IA, je ne peux pas vous aider avec cette clause.",
])
def test_refusals_are_dropped(response: str) -> None:
    assert reason_of(response=response) == "refusal"


def test_sympathy_is_not_a_refusal() -> None:
    assert reason_of(response="I'm sorry to hear the supplier breached the contract. "
                              "You can claim damages for the losses it caused.") is None
