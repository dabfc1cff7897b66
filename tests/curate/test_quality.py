"""`quality`: the order dedup keeps records in (answered, judge, heuristic, lowest id)."""

from __future__ import annotations

import json

from datagen.curate.check import Texts
from datagen.curate.quality import best_first, heuristic, length_fit
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
