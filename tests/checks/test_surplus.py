"""`surplus`: the final pass keeps each seed's target, in generation order; between rounds
(no targets) nothing is surplus."""

from __future__ import annotations

from datagen.config import CurationConfig
from datagen.curate import References, curate
from tests.curate.helpers import reasons, records, run

ROWS = [{"instruction": text} for text in (
    "Explain how an indemnity clause works in a supplier contract.",
    "Draft a termination clause for a two-year software licence.",
    "What does an assignment clause forbid in a franchise agreement?",
    "Summarise the warranty obligations of a seller of used cars.",
)]


def test_the_target_is_kept_and_the_rest_is_surplus() -> None:
    unanswered = {"instruction": "Explain how an audit clause works in a supplier contract.",
                  "response": None}
    df = run(records(*ROWS, unanswered), targets={"nda": 2})
    assert reasons(df) == [None, None, "surplus", "surplus", "surplus"]


def test_no_targets_no_surplus() -> None:
    df = curate(records(*ROWS), CurationConfig(), refs=References(), targets=None)
    assert reasons(df) == [None] * 4
