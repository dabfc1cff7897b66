"""`quality`: the order dedup keeps records in (answered, judge, heuristic, lowest id)."""

from __future__ import annotations

import json

from datagen.checks.check import Texts
from datagen.checks.duplicates.quality import best_first, heuristic, length_fit
from tests.curate.helpers import GOOD_RESPONSE, records


def test_length_fits_the_task() -> None:
    assert length_fit("label", 1) == 1.0 and length_fit("label", 400) == 0.0
    assert length_fit("long", 15) < length_fit("long", 150) == 1.0
    assert length_fit("long", 0) == 0.0


def test_rank_order() -> None:
    import pandas as pd

    df = records(
        {"id": "a", "response": None},                                      # unanswered
        {"id": "b", "response": "Short.", "finish_reason": None},          # weak, unknown end
        {"id": "c"},                                                        # full, stopped
        {"id": "d", "scores": json.dumps({"judge": 9}), "response": "Short."},  # judged best
        {"id": "e"},                                                        # ties with c
    )
    scores = pd.Series([json.loads(s) for s in df["scores"]], index=df.index)
    q = heuristic(df, Texts(df), scores)
    order = best_first(df, Texts(df), scores, q)
    assert df["id"].iloc[order].tolist() == ["d", "c", "e", "b", "a"]
    assert q.iloc[2] > q.iloc[1]
    flagged = records({"response": GOOD_RESPONSE + " Write to [Your Name]."}, {})
    q = heuristic(flagged, Texts(flagged))
    assert q.iloc[0] < q.iloc[1]


def test_a_tie_goes_to_fewer_flags_then_the_length_band_then_the_lowest_id() -> None:
    import pandas as pd

    long_words = " ".join(["The clause binds both parties to secrecy."] * 30)  # 210 words
    longer = " ".join(["The clause binds both parties to secrecy."] * 40)  # 280 words
    df = records(
        {"id": "a", "response": long_words, "scores": json.dumps({"pii": True})},
        {"id": "b", "response": long_words + " " + " ".join(["Even more."] * 700)},
        {"id": "c", "response": longer},
        {"id": "d", "response": long_words},
    )
    scores = pd.Series([json.loads(s) for s in df["scores"]], index=df.index)
    tied = pd.Series([0.8] * 4, index=df.index)  # equal scores, as rounding makes them
    order = best_first(df, Texts(df), scores, tied)
    # c and d lie in the band (no preference: the lower id), b past it, a carries a flag
    assert df["id"].iloc[order].tolist() == ["c", "d", "b", "a"]
