"""`truncation`: an answer cut off by the token limit is dropped."""

from __future__ import annotations

from tests.curate.helpers import reason_of


def test_cut_off_answers_are_dropped_and_finished_ones_kept() -> None:
    assert reason_of(finish_reason="length") == "truncated"
    assert reason_of(finish_reason="stop") is None
    assert reason_of(finish_reason=None) is None  # unknown (imported data): not judged


def test_an_answer_that_stops_where_its_content_should_begin_is_cut() -> None:
    ins = "Make a list of the most popular podcasts."
    assert reason_of(instruction=ins, response="The most popular podcasts are:") == "truncated"
    assert reason_of(instruction=ins, response="Serial, The Daily, Radiolab,") == "truncated"
    assert reason_of(instruction=ins, response="Serial, The Daily and Radiolab.") is None
