"""The card's and the report's plots stay readable from 10 to 1,000,000 records: no two tick
labels overlap (measured on the rendered text), counts read 1.2k / 1M, and a handful of
examples is not drawn as a row of single bars."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from datagen.export import plots

REASONS = ["near_duplicate", "exact_duplicate", "too_short", "refusal", "wrong_language",
           "truncated", "placeholder", "echo", "repetition", "prompt_debris", "garbled",
           "no_code", "pii", "surplus", "judge_low_score"]


def _records(n: int, seeds: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    keep = rng.random(n) < 0.6
    reason = np.where(keep, None, rng.choice(REASONS, size=n))
    return pd.DataFrame({
        "seed_id": rng.choice([f"seed-{i}-{'x' * i}" for i in range(seeds)], size=n),
        "keep": keep, "drop_reason": reason,
        "detected_language": rng.choice(["en", "fr", "de", "es", "it", "pt", "nl", "pl",
                                         "sv", "da", "fi", "cs", "ro", "hu"], size=n),
        "language": "en"})


def _overlaps(fig: Figure) -> list[str]:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    found = []
    for ax in fig.axes:
        for axis, labels in (("x", ax.get_xticklabels()), ("y", ax.get_yticklabels())):
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels
                     if t.get_visible() and t.get_text()]
            for (a, box_a), (b, box_b) in zip(boxes, boxes[1:], strict=False):
                if box_a.overlaps(box_b):
                    found.append(f"{ax.get_title()} {axis}: {a!r} overlaps {b!r}")
    return found


@pytest.mark.parametrize("n", [10, 10_000, 1_000_000])
def test_tick_labels_never_overlap(n: int) -> None:
    records = _records(n)
    rng = random.Random(n)
    lengths = {"train": [rng.randint(40, 4000) for _ in range(int(n * 0.8))],
               "validation": [rng.randint(40, 4000) for _ in range(n - int(n * 0.8))]}
    kept = int(records["keep"].sum())
    by_reason = records.loc[~records["keep"], "drop_reason"].value_counts().to_dict()
    figures = [plots.seed_yield(records), plots.token_histogram(lengths, "o200k_base"),
               plots.languages(records[records["keep"]]), plots.funnel(by_reason, kept),
               plots.word_histogram(lengths, "response")]
    for fig in figures:
        assert _overlaps(fig) == [], fig.axes[0].get_title()
        assert plots.svg(fig).startswith("<svg")


def test_counts_are_compact() -> None:
    assert [plots.compact(v) for v in (7, 1200, 35000, 1_200_000, 2_000_000)] == [
        "7", "1.2k", "35k", "1.2M", "2M"]
    fig = plots.seed_yield(_records(1_000_000))
    FigureCanvasAgg(fig).draw()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert any(t.endswith("k") for t in ticks) and all(len(t) <= 5 for t in ticks), ticks


def test_a_handful_of_examples_is_a_few_bars_not_a_row_of_singles() -> None:
    fig = plots.token_histogram({"train": [110, 180, 260, 300, 420, 515, 640, 700]}, "x")
    bars = [p for p in fig.axes[0].patches if p.get_height() > 0]
    assert 2 <= len(bars) <= 3  # ceil(sqrt(8)) bins


def test_many_reasons_and_languages_are_grouped() -> None:
    records = _records(5000)
    fig = plots.funnel(records.loc[~records["keep"], "drop_reason"].value_counts().to_dict(),
                       int(records["keep"].sum()))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "other" in labels and len(labels) <= plots.MAX_CATEGORIES + 1
    fig = plots.languages(records[records["keep"]])
    assert len(fig.axes[0].patches) <= plots.MAX_CATEGORIES


def test_the_overlap_check_sees_crowded_labels() -> None:
    fig = Figure(figsize=(6.4, 3))
    ax = fig.add_subplot()
    ax.barh(["a", "b"], [400_000, 600_000])
    ax.xaxis.set_major_locator(plots.MaxNLocator(nbins=20, integer=True))
    ax.ticklabel_format(axis="x", style="plain")  # 100000 200000 ... in a row
    assert _overlaps(fig)
