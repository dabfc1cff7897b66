"""`keywords`: tasks a text model cannot do, judged in context; and bad starts."""

from __future__ import annotations

import pytest

from tests.curate.helpers import cfg, reason_of


@pytest.mark.parametrize("instruction", [
    "Draw a diagram of the parties to this agreement.",
    "Create an image of a contract being signed at sunset.",
    "Summarise the attached file about the merger.",
    "Describe this picture of the signing ceremony in detail.",
    "Go to the website of the registry and fetch the filed agreement.",
    "Watch the video of the deposition and list the admissions.",
])
def test_media_and_browsing_tasks_are_dropped(instruction: str) -> None:
    assert reason_of(instruction=instruction) == "blacklist_keyword"


@pytest.mark.parametrize("instruction", [
    # the media word is there, but the task is text (Self-Instruct's bare list dropped these)
    "Summarize the plot of Hamlet in three sentences.",
    "Write a Python function that reads a CSV file and returns its rows.",
    "What kind of music did Johann Sebastian Bach compose?",
    "Explain what a map function does in functional programming.",
    "Explain what a confidentiality clause says about audio recordings of meetings.",
])
def test_text_tasks_that_mention_media_are_kept(instruction: str) -> None:
    assert reason_of(instruction=instruction) != "blacklist_keyword"


@pytest.mark.parametrize(("instruction", "language", "reason"), [
    (") explain the term of this agreement to a client", "en", "bad_start"),
    ("- explain the term of this agreement to a client", "en", None),  # a bullet
    ("? explain the term of this agreement to a client", "en", "bad_start"),
    ('"Explain the term of this agreement to a client."', "en", None),
    ("Élaborez une clause de confidentialité mutuelle pour un contrat.", "fr", None),
])
def test_bad_start(instruction: str, language: str, reason: str | None) -> None:
    res = ("La clause oblige chaque partie à garder secrètes les informations de l'autre, à "
           "ne les utiliser que pour l'objet du contrat et à les restituer à la fin.")
    row = {"instruction": instruction, "language": language}
    if language == "fr":
        row["response"] = res
    assert reason_of(**row) == reason


@pytest.mark.parametrize(("instruction", "language"), [
    ("《傲慢与偏见》的作者是谁？请简单介绍她。", "zh"),  # a title first: its bracket opens it
    ("「吾輩は猫である」の作者は誰ですか。", "ja"),
    ("«Le Petit Prince» a été écrit par qui ?", "fr"),
])
def test_a_title_in_its_own_brackets_is_a_good_start(instruction: str, language: str) -> None:
    assert reason_of(instruction=instruction, language=language, response="") != "bad_start"


def test_an_empty_blacklist_turns_it_off() -> None:
    assert reason_of(cfg(keywords={"blacklist": []}),
                     instruction="Draw a diagram of the parties to this agreement.") is None


@pytest.mark.parametrize("instruction", [
    # the product is text whose topic is a medium
    "Create a list of subtopics for a video about confidentiality agreements.",
    "Write a script for a video that explains what an NDA is.",
    "Generate titles for my podcast recording about startup law.",
])
def test_text_about_a_medium_is_kept(instruction: str) -> None:
    assert reason_of(instruction=instruction) is None
