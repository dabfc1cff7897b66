"""The plots of the dataset card (PNG files) and of the run report (inline SVG).

Built on `matplotlib.figure.Figure` (the Agg canvas), never pyplot: no display, no global
state shared with other threads of a flow. Each builder returns a Figure; `save_png` writes
one for the card, `svg` inlines one in the report.

Readable at any size: counts are labelled 1.2k / 35k / 1.2M on a few ticks, long category
names go on the y axis of horizontal bars, and a histogram has about sqrt(n) bins (at most
40), so ten examples make a few bars, not ten bars of height one.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from datagen.files import atomic_path

_DPI = 110
MAX_BINS = 40
MAX_CATEGORIES = 12  # bars shown; the rest are summed into "other"


def compact(value: float, _pos: object = None) -> str:
    """1200 -> 1.2k, 35000 -> 35k, 1200000 -> 1.2M."""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return f"{value:.0f}"


def _counts_axis(axis: object) -> None:
    axis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # type: ignore[attr-defined]
    axis.set_major_formatter(FuncFormatter(compact))  # type: ignore[attr-defined]


def save_png(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI)
    return path.name


def svg(fig: Figure) -> str:
    """The figure as an inline <svg> element (no XML header), fonts as paths."""
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _top(counts: pd.Series) -> pd.Series:
    counts = counts.sort_values(ascending=False)
    if len(counts) <= MAX_CATEGORIES:
        return counts
    head = counts.iloc[:MAX_CATEGORIES - 1]
    return pd.concat([head, pd.Series({"other": counts.iloc[MAX_CATEGORIES - 1:].sum()})])


def token_histogram(lengths: dict[str, list[int]], encoding: str) -> Figure:
    """Tokens per example, one series per split."""
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    series = {k: v for k, v in lengths.items() if v}
    if series:
        lo = min(min(v) for v in series.values())
        hi = max(max(v) for v in series.values()) + 1
        n = sum(len(v) for v in series.values())
        bins = max(1, min(MAX_BINS, math.ceil(math.sqrt(n)), hi - lo))
        ax.hist(list(series.values()), bins=bins, range=(lo, hi), label=list(series),
                stacked=True)
        ax.legend()
    ax.set_xlabel(f"tokens per example ({encoding}, chat framing included)")
    ax.set_ylabel("examples")
    _counts_axis(ax.yaxis)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(compact))
    ax.set_title("Token length")
    return fig


def word_histogram(words: dict[str, list[int]], what: str) -> Figure:
    """Words per instruction or response, one series per split."""
    fig = token_histogram(words, "")
    ax = fig.axes[0]
    ax.set_xlabel(f"words per {what}")
    ax.set_title(f"{what.capitalize()} length")
    return fig


def seed_yield(records: pd.DataFrame) -> Figure:
    """Per seed: kept records and dropped ones by reason, as stacked horizontal bars."""
    keep = records["keep"].fillna(False).astype(bool)
    status = records["drop_reason"].fillna("dropped").astype(str).where(~keep, "kept")
    counts = pd.crosstab(records["seed_id"].astype(str), status)
    reasons = counts.drop(columns=["kept"], errors="ignore").sum().sort_values(ascending=False)
    if len(reasons) > MAX_CATEGORIES - 1:
        rest = list(reasons.index[MAX_CATEGORIES - 2:])
        counts["other"] = counts[rest].sum(axis=1)
        counts = counts.drop(columns=rest)
        reasons = counts.drop(columns=["kept"], errors="ignore").sum()
    order = ["kept", *[c for c in reasons.index if c != "other"], "other"]
    counts = counts.reindex(columns=[c for c in order if c in counts.columns])
    fig = Figure(figsize=(6.4, 1.6 + 0.45 * len(counts)))
    ax = fig.add_subplot()
    left = pd.Series(0, index=counts.index)
    for col in counts.columns:
        ax.barh(counts.index, counts[col], left=left, label=col)
        left = left + counts[col]
    ax.set_xlabel("records")
    _counts_axis(ax.xaxis)
    ax.set_title("Yield per seed")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def funnel(by_reason: dict[str, int], kept: int) -> Figure:
    """Kept records and each drop reason, as horizontal bars (largest first)."""
    counts = _top(pd.Series(by_reason, dtype="int64")) if by_reason else pd.Series(dtype="int64")
    labels = ["kept", *counts.index.astype(str)]
    values = [kept, *counts.tolist()]
    fig = Figure(figsize=(6.4, 1.2 + 0.32 * len(labels)))
    ax = fig.add_subplot()
    colors = ["#2e7d32", *["#c62828"] * len(counts)]
    ax.barh(labels[::-1], values[::-1], color=colors[::-1])
    ax.set_xlabel("records")
    _counts_axis(ax.xaxis)
    ax.set_title("Where the records went")
    return fig


def languages(kept_records: pd.DataFrame) -> Figure:
    """Detected language of kept records (target language where detection did not run)."""
    lang = kept_records["detected_language"].fillna(kept_records["language"]).fillna("unknown")
    lang = lang.astype(str).replace("", "unknown")
    counts = _top(lang.value_counts())
    fig = Figure(figsize=(5.0, 1.2 + 0.3 * max(1, len(counts))))
    ax = fig.add_subplot()
    ax.barh(counts.index[::-1], counts.values[::-1])
    ax.set_xlabel("pairs")
    _counts_axis(ax.xaxis)
    ax.set_title("Detected language of kept pairs")
    return fig
