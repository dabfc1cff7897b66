"""Round planning from the records: strategy shares, continuation, leaf order, verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagen.config import GenerationConfig
from datagen.errors import SeedError
from datagen.generate import plan_expansion
from datagen.generate.topics import order_leaves
from datagen.records import new_records
from datagen.seeds import load_seed
from tests.generate.helpers import apply_verdicts, tiny_seed


def test_weights_split_the_calls_and_later_rounds_continue() -> None:
    seed = tiny_seed(strategies={"topics": {"weight": 3}, "personas": {}})
    gen = GenerationConfig(instructions_per_call=2, overgenerate=2.0)
    work = plan_expansion(seed, new_records([]), 4, gen)  # 8 instructions: 6 topics, 2 personas
    assert [c.strategy for c in work.calls].count("topics") == 3
    assert [c.strategy for c in work.calls].count("personas") == 1
    rows = [{"id": f"r{c.sample}", "seed_id": seed.id, "instruction": f"text {c.sample}",
             "keep": c.strategy == "topics",
             "metadata": {"stage": "expand", "sample": c.sample, "round": 0,
                          "strategy": c.strategy, "topic_path": "legal > a"}}
            for c in work.calls]
    nxt = plan_expansion(seed, new_records(rows), 1, gen)
    assert nxt.calls[0].sample == 4
    assert nxt.calls_before == {"topics": 3, "personas": 1}
    assert nxt.kept_by_topic == {"legal > a": 3}
    assert nxt.pool == ["text 0", "text 2", "text 3"]


def test_uncovered_leaves_come_first() -> None:
    leaves = [{"topic": t, "path": ["d", t]} for t in ("a", "b", "c")]
    order = order_leaves(leaves, {"d > a": 2, "d > c": 1})
    assert [leaf["topic"] for leaf in order] == ["b", "c", "a"]


def test_verdicts_are_applied_to_every_record_but_generation_failures() -> None:
    rows = [{"id": "1", "instruction": "x", "keep": True, "metadata": {"verdict": "not_novel"}},
            {"id": "2", "instruction": "y", "keep": False, "drop_reason": "llm_error",
             "metadata": {"verdict": "not_novel"}},
            {"id": "3", "instruction": "z", "keep": True, "metadata": {}}]
    out = apply_verdicts(new_records(rows))
    assert out["drop_reason"].fillna("").tolist() == ["not_novel", "llm_error", ""]
    assert out["keep"].tolist() == [False, False, True]


def test_strategy_settings_in_yaml_fail_with_their_name(tmp_path: Path) -> None:
    seed = tiny_seed(strategies=["bootstrap", "evolve"])
    assert list(seed.strategies.enabled()) == ["bootstrap", "evolve"]
    assert list(tiny_seed().strategies.enabled()) == ["plain"]
    path = tmp_path / "s.yaml"
    text = seed.model_dump_json(exclude_none=True).replace('"bootstrap":', '"bootstrapp":')
    path.write_text(text)
    with pytest.raises(SeedError, match=r"strategies.bootstrapp.*allowed fields: plain, "
                                        r"bootstrap, topics, personas, evolve"):
        load_seed(path)
