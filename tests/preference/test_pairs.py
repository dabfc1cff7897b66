"""Preference pairs as a pure function of records: the best kept answer against a worse one,
by the judge's scores and a margin; the rejected answer's drop reason travels with it."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from datagen.config import validated
from datagen.errors import ConfigError
from datagen.export.preference import form_pairs, openai_row, trl_row
from datagen.records import new_records, to_json


def rec(rid: str, instruction: str, response: str | None, score: float | None,
        keep: bool = True, reason: str | None = None, system: str = "Be brief.") -> dict[str, Any]:
    return {"id": rid, "seed_id": "s", "system": system, "instruction": instruction,
            "response": response, "keep": keep, "drop_reason": reason,
            "scores": to_json({} if score is None else {"judge": score})}


def test_best_kept_answer_against_the_worst_one_past_the_margin() -> None:
    df = new_records([
        rec("a1", "Draft a clause.", "Good clause.", 9),
        rec("a2", "Draft a clause.", "Weak clause.", 4, keep=False, reason="judge_low_score"),
        rec("a3", "Draft a clause.", "Middling clause.", 7, keep=False,
            reason="exact_duplicate"),
        rec("b1", "Write a notice.", "Notice A.", 8),
        rec("b2", "Write a notice.", "Notice B.", 8, keep=False, reason="exact_duplicate"),
        rec("c1", "Name a term.", "Term.", 9),
        rec("c2", "Name a term.", "Private: jo@example.com", 1, keep=False, reason="pii"),
        rec("c3", "Name a term.", "Term.", 2, keep=False, reason="exact_duplicate"),
        rec("d1", "Sum it.", "7", 3, keep=False, reason="judge_low_score"),
        rec("d2", "Sum it.", "8", 9, keep=False, reason="exact_duplicate"),
        rec("e1", "Say hi.", "Hi.", 8),
        rec("e2", "Say hi.", "Hello there.", None, keep=False, reason="refusal"),
    ])
    labels = pd.Series(["train"] * len(df), index=df.index)
    (pair,) = form_pairs(df, 2.0, labels=labels)
    assert (pair.chosen_id, pair.rejected_id) == ("a1", "a2")  # the worst past the margin
    assert (pair.chosen_score, pair.rejected_score, pair.margin) == (9.0, 4.0, 5.0)
    assert pair.rejected_drop_reason == "judge_low_score"
    assert pair.prompt == [{"role": "system", "content": "Be brief."},
                           {"role": "user", "content": "Draft a clause."}]
    assert pair.split == "train"
    # b: no margin; c: pii never rejected, the same text never paired; d: nothing kept;
    # e: the other answer has no score
    assert form_pairs(df, 6.0) == []
    assert [p.rejected_id for p in form_pairs(df, 1.0)] == ["a2"]


def test_rows_in_both_formats() -> None:
    df = new_records([rec("a1", "Q?", "Yes.", 9), rec("a2", "Q?", "No.", 3, keep=False,
                                                             reason="judge_low_score")])
    (pair,) = form_pairs(df, 1.0, system_message=False)
    assert openai_row(pair) == {
        "input": {"messages": [{"role": "user", "content": "Q?"}]},
        "preferred_output": [{"role": "assistant", "content": "Yes."}],
        "non_preferred_output": [{"role": "assistant", "content": "No."}]}
    row = trl_row(pair)
    assert row["prompt"] == [{"role": "user", "content": "Q?"}]
    assert row["chosen"] == [{"role": "assistant", "content": "Yes."}]
    assert row["rejected"] == [{"role": "assistant", "content": "No."}]
    assert row["margin"] == 6.0


@pytest.mark.parametrize(("section", "field"), [
    ({"candidates": 1}, "preference.candidates"),
    ({"candidates": 2, "margin": 0}, "preference.margin"),
    ({"candidates": 2, "margin": 10}, "preference.margin"),
    ({"candidates": 2, "margin": -1}, "preference.margin"),
])
def test_bad_preference_config_is_a_config_error(section: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        validated({"preference": section}, "run.yaml")
    assert f"key `{field}`" in str(err.value) and "run.yaml" in str(err.value)


TOOLS = [{"type": "function", "function": {
    "name": "get_order", "description": "Look up an order.",
    "parameters": {"type": "object", "required": ["order_id"],
                   "properties": {"order_id": {"type": "string"}}}}}]
CALL = {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
    "name": "get_order", "arguments": "{\"order_id\": \"A1\"}"}}]}
REPLY = {"role": "tool", "tool_call_id": "call_1", "content": "{\"status\": \"shipped\"}"}


def convo(rid: str, answer: str, score: float, keep: bool = True,
          earlier: list[dict[str, Any]] | None = None, tools: bool = True) -> dict[str, Any]:
    """A record whose conversation ends with `answer` after `earlier` messages."""
    earlier = earlier if earlier is not None else [CALL, REPLY]
    turns = [{"role": "user", "content": "Where is A1?"}, *earlier,
             {"role": "assistant", "content": answer}]
    meta = {"turns": turns, **({"tools": TOOLS, "calls": ["get_order({...})"]} if tools else {})}
    row = rec(rid, "Where is A1?", turns[1]["content"] if not tools else answer, score, keep,
              None if keep else "judge_low_score")
    return {**row, "metadata": to_json(meta)}


def test_a_tool_or_multi_turn_pair_differs_in_the_last_assistant_turn() -> None:
    from datagen.export.hf import preference_tables
    from datagen.export.validate import preference_errors

    df = new_records([
        convo("t1", "It shipped and will arrive soon.", 9),
        convo("t2", "No idea.", 3, keep=False),
        # a conversation that went another way (another call) is not a pair of the first
        convo("t3", "Bad.", 1, keep=False, earlier=[{**CALL, "tool_calls": [
            {**CALL["tool_calls"][0], "id": "call_9"}]}, {**REPLY, "tool_call_id": "call_9"}]),
        # three user turns: the prompt holds every turn before the last answer
        convo("m1", "Here is the full refund policy.", 8, tools=False, earlier=[
            {"role": "assistant", "content": "It shipped."},
            {"role": "user", "content": "And the refund policy?"}]),
        convo("m2", "Policy? What policy.", 2, keep=False, tools=False, earlier=[
            {"role": "assistant", "content": "It shipped."},
            {"role": "user", "content": "And the refund policy?"}]),
    ])
    tool_pair, turn_pair = form_pairs(df, 1.0, system_message=True)
    assert (tool_pair.chosen_id, tool_pair.rejected_id) == ("t1", "t2")
    line = openai_row(tool_pair)
    assert line["input"]["tools"] == TOOLS
    assert [m["role"] for m in line["input"]["messages"]] == ["system", "user", "assistant",
                                                              "tool"]
    assert line["input"]["messages"][2]["tool_calls"] == CALL["tool_calls"]
    assert line["preferred_output"] == [{"role": "assistant",
                                         "content": "It shipped and will arrive soon."}]
    assert line["non_preferred_output"] == [{"role": "assistant", "content": "No idea."}]
    assert preference_errors(line) == []
    # OpenAI's rules: the input must end on a user turn or a tool reply
    assert "input_not_ending_with_user" in preference_errors(
        {**line, "input": {**line["input"], "messages": line["input"]["messages"][:3]}})

    assert (turn_pair.chosen_id, turn_pair.rejected_id) == ("m1", "m2")
    line = openai_row(turn_pair)
    assert "tools" not in line["input"] and preference_errors(line) == []
    assert [m["content"] for m in line["input"]["messages"][1:]] == [
        "Where is A1?", "It shipped.", "And the refund policy?"]

    row = trl_row(tool_pair)
    assert row["prompt"] == line_prompt(tool_pair) and row["chosen"][0]["content"].startswith("It")
    assert json.loads(row["tools"]) == TOOLS
    table = preference_tables({"train": [row, trl_row(turn_pair)]})["train"]
    read = table.to_pylist()
    assert read[0]["prompt"][2]["tool_calls"][0]["function"]["name"] == "get_order"
    assert read[0]["prompt"][3]["tool_call_id"] == "call_1"
    assert read[1]["tools"] is None and json.loads(read[0]["tools"]) == TOOLS


def line_prompt(pair: Any) -> list[dict[str, Any]]:
    return openai_row(pair)["input"]["messages"]
