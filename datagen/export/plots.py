"""PNG plots for the dataset card and the run report.

Built on `matplotlib.figure.Figure` (the Agg canvas), never pyplot: no display, no global
state shared with other threads of a flow. Each function writes one file and returns its name.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from datagen.files import atomic_path

_DPI = 110


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI)
    return path.name


def token_histogram(lengths: dict[str, list[int]], path: Path, encoding: str) -> str:
    """Tokens per example, one series per split."""
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    series = {k: v for k, v in lengths.items() if v}
    if series:
        lo = min(min(v) for v in series.values())
        hi = max(max(v) for v in series.values()) + 1
        ax.hist(list(series.values()), bins=min(40, hi - lo), range=(lo, hi),
                label=list(series), stacked=True)
        ax.legend()
    ax.set_xlabel(f"tokens per example ({encoding}, chat framing included)")
    ax.set_ylabel("examples")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 examples
    ax.set_title("Token length")
    return _save(fig, path)


def seed_yield(records: pd.DataFrame, path: Path) -> str:
    """Per seed: kept records and dropped ones by reason, as stacked horizontal bars."""
    keep = records["keep"].fillna(False).astype(bool)
    status = records["drop_reason"].fillna("dropped").astype(str).where(~keep, "kept")
    counts = pd.crosstab(records["seed_id"].astype(str), status)
    order = ["kept", *sorted(c for c in counts.columns if c != "kept")]
    counts = counts.reindex(columns=[c for c in order if c in counts.columns])
    fig = Figure(figsize=(6.4, 1.6 + 0.45 * len(counts)))
    ax = fig.add_subplot()
    left = pd.Series(0, index=counts.index)
    for col in counts.columns:
        ax.barh(counts.index, counts[col], left=left, label=col)
        left = left + counts[col]
    ax.set_xlabel("records")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Yield per seed")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def languages(kept_records: pd.DataFrame, path: Path) -> str:
    """Detected language of kept records (target language where detection did not run)."""
    lang = kept_records["detected_language"].fillna(kept_records["language"]).fillna("unknown")
    counts = lang.astype(str).value_counts()
    fig = Figure(figsize=(5.0, 2.8))
    ax = fig.add_subplot()
    ax.bar(counts.index, counts.values)
    ax.set_ylabel("pairs")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Detected language of kept pairs")
    return _save(fig, path)
