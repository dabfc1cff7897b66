"""Diversity metrics: numbers checked on texts whose answer is known."""

from __future__ import annotations

import pytest

from datagen.generate.diversity import distinct_n, first_words, metrics, pairwise
from datagen.records import new_records


def test_distinct_n_on_known_texts() -> None:
    assert distinct_n(["a b c", "a b d"], 1) == pytest.approx(4 / 6, abs=1e-4)
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["a b c", "a b c"], 3) == 0.5
    assert distinct_n(["a"], 2) is None


def test_pairwise_similarity_and_first_words() -> None:
    same = pairwise(["draft a clause", "draft a clause", "draft a clause"])
    assert same == {"mean": 100.0, "p95": 100.0, "sampled": 3}
    apart = pairwise(["draft a clause", "zzz yyy", "qqq"])
    assert apart["mean"] < 40
    spread = first_words(["Draft a clause", "Draft a term", "Write a rule", "Explain it"])
    assert spread["distinct_share"] == 0.75 and spread["top"][0] == ["draft a", 2]
    assert spread["entropy_bits"] == pytest.approx(1.5)


def test_metrics_count_duplicate_drops_among_parsed_records() -> None:
    rows = [{"id": "1", "instruction": "Draft a clause on term.", "response": "ok", "keep": True},
            {"id": "2", "instruction": "Draft a clause on term!", "keep": False,
             "drop_reason": "near_duplicate"},
            {"id": "3", "instruction": "raw", "keep": False, "drop_reason": "unparseable"},
            {"id": "4", "instruction": "Write a rule for audits.", "response": "ok",
             "keep": True}]
    m = metrics(new_records(rows))
    assert m["instructions"] == 2
    assert m["near_dup_drop_share"] == pytest.approx(1 / 3, abs=1e-4)
