"""Merging answered batches back into the run's records (the rounds loop does it each round)."""

from __future__ import annotations

import pandas as pd

from datagen.records import new_records
from datagen.run.rounds import merge


def test_merge_batches_with_a_failed_call_after_row_zero():
    # pandas 3.1 raised KeyError assigning a whole frame whose nullable-int column holds NA
    # (a failed call) when the batch does not start at row 0: it broke runs at random.
    records = new_records([{"id": f"r{i}", "instruction": f"question {i}"} for i in range(5)])
    first = records.iloc[:2].copy()
    first["response"] = ["a0", "a1"]
    first["prompt_tokens"] = pd.array([3, 4], dtype="Int64")
    second = records.iloc[[2, 4]].copy()
    second["response"] = pd.array(["a2", pd.NA], dtype="string")
    second["prompt_tokens"] = pd.array([5, pd.NA], dtype="Int64")
    second["keep"] = pd.array([True, False], dtype="boolean")
    out = merge(records, [first, second])
    assert out["response"].tolist()[:3] == ["a0", "a1", "a2"]
    assert out["prompt_tokens"].tolist()[:3] == [3, 4, 5]
    assert not out.loc[4, "keep"]
    assert pd.isna(out.loc[3, "response"]) and pd.isna(out.loc[4, "prompt_tokens"])
    assert out.dtypes.equals(records.dtypes)
