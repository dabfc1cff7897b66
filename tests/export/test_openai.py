"""Chat examples of records: system message, weights, multi-turn from `metadata.turns`."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from datagen.config import RunConfig
from datagen.export.openai import alpaca, messages, sharegpt, strip_nulls

ROW = {"system": "Be brief.", "instruction": "Q?", "response": "A.", "metadata": "{}"}
TURNS = {**ROW, "metadata": json.dumps({"turns": [
    {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1", "weight": 1},
    {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]})}


def test_single_pair_with_and_without_system() -> None:
    assert messages(ROW) == [{"role": "system", "content": "Be brief."},
                             {"role": "user", "content": "Q?"},
                             {"role": "assistant", "content": "A."}]
    assert [m["role"] for m in messages(ROW, system_message=False)] == ["user", "assistant"]
    assert [m["role"] for m in messages({**ROW, "system": None})] == ["user", "assistant"]


@pytest.mark.parametrize(("weight", "expected"), [("none", [1, None]), ("all", [1, 1]),
                                                  ("last", [1, 1])])
def test_weights_on_assistant_turns_keep_explicit_ones(weight: str, expected: list) -> None:
    msgs = messages(TURNS, weight=weight)  # type: ignore[arg-type]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant"]
    assert [m.get("weight") for m in msgs if m["role"] == "assistant"] == expected
    assert not any("weight" in m for m in msgs if m["role"] != "assistant")


def test_last_weighting_zeroes_earlier_turns() -> None:
    row = {**TURNS, "metadata": TURNS["metadata"].replace(', "weight": 1', "")}
    assert [m.get("weight") for m in messages(row, weight="last")
            if m["role"] == "assistant"] == [0, 1]


def test_strip_nulls_and_other_formats() -> None:
    assert strip_nulls([{"role": "user", "content": "x", "weight": None}]) == [
        {"role": "user", "content": "x"}]
    msgs = messages(TURNS)
    assert alpaca(msgs) == {"instruction": "Q2", "input": "", "output": "A2",
                            "system": "Be brief.", "history": [["Q1", "A1"]]}
    assert [t["from"] for t in sharegpt(msgs)["conversations"]] == [
        "system", "human", "gpt", "human", "gpt"]


def test_split_sizes_in_config() -> None:
    assert RunConfig.model_validate({"split": {"validation": 50}}).split.validation == 50
    for bad in (1.5, -3, 1.0):
        with pytest.raises(ValidationError):
            RunConfig.model_validate({"split": {"validation": bad}})
