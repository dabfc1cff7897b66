"""`placeholder`: template text is dropped where a concrete answer was asked, and kept where
the task asks for a template, a letter or another document whose particulars it lacks."""

from __future__ import annotations

import pytest

from tests.curate.helpers import cfg, reason_of


@pytest.mark.parametrize(("instruction", "response"), [
    ("What is the notice period in a typical NDA?", "The notice period is [insert number] days."),
    ("Summarise the clause below in one sentence.", "[Your summary here]"),
    ("Explain what a confidentiality clause is.",
     "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod."),
    ("How long does a patent last?", "A patent lasts <insert duration> from filing."),
])
def test_template_text_in_a_concrete_answer_is_dropped(instruction: str, response: str) -> None:
    assert reason_of(instruction=instruction, response=response) == "placeholder"


@pytest.mark.parametrize(("instruction", "response"), [
    ("Write a template for a LinkedIn summary.",
     "I am a [job title] at [company name], where I help [audience] achieve [result]."),
    ("Write an offer letter to a candidate for a sales role.",
     "Dear [Candidate], we are pleased to offer you the position of Sales Associate at "
     "[Company Name], starting on [Start Date]."),
    ("Draft a mutual NDA clause on the return of confidential materials.",
     "Upon termination, [Disclosing Party] may request that [Receiving Party] return or "
     "destroy all Confidential Information within [30] days."),
])
def test_a_requested_document_may_hold_placeholders(instruction: str, response: str) -> None:
    assert reason_of(instruction=instruction, response=response) is None


def test_code_indexing_is_not_a_placeholder() -> None:
    ins = "Write a Python function that returns the largest element of a list."
    res = "def largest(items):\n    best = items[0]\n    for i in range(len(items)):\n" \
          "        best = max(best, items[i])\n    return best"
    assert reason_of(instruction=ins, response=res) is None


def test_documents_can_be_held_to_concrete_text() -> None:
    strict = cfg(placeholder={"allow_in_documents": False})
    assert reason_of(strict, instruction="Write an offer letter to a new hire.",
                     response="Dear [Candidate], welcome to the team at our company; "
                              "your first day is Monday.") \
        == "placeholder"


def test_song_sections_are_not_placeholders() -> None:
    res = ("[Intro]\nYo, I had a dream where freedom rang\n[Verse 1]\nJudged by character, not "
           "skin\n[Chorus]\nLet freedom ring")
    assert reason_of(instruction="Turn the speech into a rap song.", response=res) is None
