"""`strategy`: verdicts the generation strategies recorded are applied like any other."""

from __future__ import annotations

import json

from tests.curate.helpers import reasons, records, run


def test_recorded_verdicts_drop_and_unknown_ones_are_ignored() -> None:
    df = run(records(
        {"metadata": json.dumps({"verdict": "not_novel"})},
        {"instruction": "Draft a termination clause for a two-year software licence.",
         "metadata": json.dumps({"verdict": "evol_unchanged"})},
        {"instruction": "Draft a governing-law clause for a Swiss services contract.",
         "metadata": json.dumps({"verdict": "something_else"})},
    ))
    assert reasons(df) == ["not_novel", "evol_unchanged", None]
