"""The one runner and the contract: declared checks, order, no mutation, `skip`."""

from __future__ import annotations

import pandas as pd
import pytest

from datagen.checks.registry import REASON_STAGES, stage_of
from datagen.config import CurationConfig
from datagen.curate import CHECKS, Context, References, Texts
from datagen.reasons import DropReason
from datagen.records import COLUMNS
from tests.curate.helpers import GOOD_INSTRUCTION, cfg, reasons, records, run


def test_every_check_declares_its_contract() -> None:
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names))
    sections = set(CurationConfig.model_fields)
    for check in CHECKS:
        assert check.inputs
        assert check.reasons or check.name == "quality", check.name  # it only scores
        assert set(check.inputs) <= set(COLUMNS), check.name
        assert check.section is None or check.section in sections, check.name
        assert all(stage_of(r) != "other" for r in check.reasons), check.name
    # every named reason is in the catalogue the checks' declarations make, with one stage
    assert {str(r) for r in DropReason} <= set(REASON_STAGES)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_a_check_never_writes_to_the_frame(check) -> None:
    df = records({}, {"instruction": GOOD_INSTRUCTION.upper()},
                 {"instruction": "Draw a diagram of the parties.", "response": "ok"})
    before = df.copy()
    ctx = Context(frame=df, texts=Texts(df), cfg=CurationConfig(), refs=References(),
                  scores=pd.Series([{}] * len(df), index=df.index, dtype=object),
                  targets={"nda": 1})
    if not check.active(ctx):
        pytest.skip(f"{check.name} needs outside texts or settings this frame lacks")
    verdicts = check.run(ctx)
    pd.testing.assert_frame_equal(df, before)
    assert verdicts.reason.index.equals(df.index)
    assert set(verdicts.reason.dropna()) <= set(check.reasons)


def test_the_first_reason_wins_in_the_declared_order() -> None:
    # too short for its task, and a refusal: length runs before refusal
    assert reasons(run(records({"instruction": "Write an essay on NDAs.",
                                "response": "As an AI, no."}))) == ["too_short"]


def test_skip_turns_a_check_off() -> None:
    row = {"response": "As an AI language model, I cannot give legal advice on clauses."}
    assert reasons(run(records(row))) == ["refusal"]
    assert reasons(run(records(row), cfg(skip=["refusal"]))) == [None]


def test_generation_failures_stay_dropped_and_verdicts_are_recomputed() -> None:
    df = records({"keep": False, "drop_reason": "llm_error", "response": None},
                 {"instruction": "Draw a diagram of the parties to the agreement."})
    once = run(df)
    assert reasons(once) == ["llm_error", "blacklist_keyword"]
    again = run(once, cfg(keywords={"blacklist": []}))
    assert reasons(again) == ["llm_error", None]
