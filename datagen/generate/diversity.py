"""How different the kept instructions are, and what each strategy yielded: manifest sections.

Metrics (per seed and overall, over kept answered instructions):
distinct-1/2/3 (unique n-grams / n-grams), mean and p95 pairwise similarity on a sample
(rapidfuzz ratio on token-sorted text, the curation near-dup scorer), share of near-duplicate
drops among parsed instructions, first-words spread (distinct first two words, entropy, most
common) and topic coverage (leaves, or seed topics, with at least one kept pair); `raw` repeats
the main ones over every parsed instruction, before curation.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from datagen.config import GenerationConfig
from datagen.generate.work import seed_state
from datagen.reasons import DUPLICATES, GENERATION
from datagen.seeds import SeedTask
from datagen.text import normalize, token_sort

PAIRWISE_SAMPLE = 300


def distinct_n(texts: list[str], n: int) -> float | None:
    grams: list[tuple[str, ...]] = []
    for t in texts:
        words = normalize(t).split()
        grams += [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return round(len(set(grams)) / len(grams), 4) if grams else None


def pairwise(texts: list[str], sample: int = PAIRWISE_SAMPLE, seed: int = 0
             ) -> dict[str, float | None]:
    """Mean and p95 similarity (0-100) over all pairs of a random sample of `sample` texts."""
    if len(texts) > sample:
        texts = random.Random(seed).sample(texts, sample)
    if len(texts) < 2:
        return {"mean": None, "p95": None, "sampled": len(texts)}
    prepared = [token_sort(t) for t in texts]
    scores = process.cdist(prepared, prepared, scorer=fuzz.ratio, dtype=np.float32, workers=1)
    upper = scores[np.triu_indices(len(prepared), k=1)]
    return {"mean": round(float(upper.mean()), 2), "p95": round(float(np.percentile(upper, 95)), 2),
            "sampled": len(texts)}


def first_words(texts: list[str], k: int = 2) -> dict[str, Any]:
    heads = [" ".join(normalize(t).split()[:k]) for t in texts]
    counts = Counter(h for h in heads if h)
    total = sum(counts.values())
    if not total:
        return {"distinct_share": None, "entropy_bits": None, "top": []}
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    return {"distinct_share": round(len(counts) / total, 4), "entropy_bits": round(entropy, 3),
            "top": [[h, c] for h, c in counts.most_common(5)]}


def _meta(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [json.loads(m) if isinstance(m, str) and m else {} for m in df["metadata"]]


def _final(df: pd.DataFrame) -> pd.Series:
    return df["keep"].fillna(False).astype(bool) & df["response"].notna()


def coverage(df: pd.DataFrame, seed: SeedTask, folder: Path | None) -> dict[str, Any] | None:
    """Leaves of the saved topic tree (else the seed's topics, when calls were conditioned on
    them) with >= 1 kept pair; None when no call was conditioned on a topic."""
    tree = folder / "topics" / f"{seed.id}.json" if folder else None
    metas = [m for m, ok in zip(_meta(df), _final(df), strict=True) if ok]
    if tree is not None and tree.is_file():
        names = [" > ".join(leaf["path"]) for leaf in json.loads(tree.read_text())["leaves"]]
        hit = {m.get("topic_path") for m in metas}
    elif seed.topics and any(m.get("topic") for m in _meta(df)):
        names, hit = list(seed.topics), {m.get("topic") for m in metas}
    else:
        return None
    covered = sum(1 for n in names if n in hit)
    return {"leaves": len(names), "covered": covered,
            "coverage": round(covered / len(names), 4) if names else None}


def metrics(df: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """The diversity numbers of one set of records (a seed's, a strategy's, or all)."""
    texts = df.loc[_final(df), "instruction"].fillna("").tolist()
    failed = df["drop_reason"].fillna("").isin(list(GENERATION))
    parsed = df[~failed]
    raw = parsed["instruction"].fillna("").tolist()
    dups = int(parsed["drop_reason"].isin(list(DUPLICATES)).sum())
    return {
        "instructions": len(texts),
        "distinct_1": distinct_n(texts, 1), "distinct_2": distinct_n(texts, 2),
        "distinct_3": distinct_n(texts, 3),
        "pairwise_similarity": pairwise(texts, seed=seed),
        "near_dup_drop_share": round(dups / len(parsed), 4) if len(parsed) else None,
        "first_words": first_words(texts),
        # before curation: what the strategy itself produced (a weak model keeps few pairs)
        "raw": {"instructions": len(raw), "distinct_2": distinct_n(raw, 2),
                "pairwise_mean": pairwise(raw, seed=seed)["mean"],
                "first_words_distinct_share": first_words(raw)["distinct_share"]},
    }


def strategy_of(df: pd.DataFrame) -> pd.Series:
    return pd.Series([m.get("strategy", "plain") for m in _meta(df)], index=df.index)


def generation_sections(records: pd.DataFrame, seeds: list[SeedTask], targets: dict[str, int],
                        gen: GenerationConfig, folder: str | Path | None = None,
                        seed: int = 0) -> dict[str, Any]:
    """`generation` (per seed: target, kept, shortfall, why it stopped, calls, parse outcomes,
    yield per strategy) and `diversity` (per seed, per strategy and overall)."""
    root = Path(folder) if folder else None
    expanded = records[[m.get("stage") == "expand" for m in _meta(records)]] \
        if not records.empty else records
    per_seed, div = {}, {}
    for s in seeds:
        part = expanded[expanded["seed_id"] == s.id]
        state = seed_state(s, records, targets.get(s.id, 0), gen)
        strat = strategy_of(part)
        by_strategy = {}
        for name in sorted(set(strat)):
            sub = part[strat == name]
            made, kept_n = len(sub), int(_final(sub).sum())
            by_strategy[name] = {"generated": made, "kept": kept_n,
                                 "yield": round(kept_n / made, 4) if made else None}
        calls = {(m.get("call"), m.get("parse")) for m in _meta(part)}
        per_seed[s.id] = {
            "target": state["target"], "kept": state["kept"], "shortfall": state["missing"],
            "stop": state["stop"] or "max_rounds", "calls": state["calls"],
            "call_limit": state["call_limit"], "rounds": state["rounds"],
            "by_round": state["by_round"], "saturated_in": state["saturated_in"],
            "diversified": state["diversified"],
            "yield": round(state["kept"] / len(part), 4) if len(part) else None,
            "parse": dict(Counter(p for _, p in calls if p)),
            "by_strategy": by_strategy,
        }
        div[s.id] = {**metrics(part, seed), "topic_coverage": coverage(part, s, root),
                     "by_strategy": {n: metrics(part[strat == n], seed) for n in by_strategy}}
    return {"generation": per_seed,
            "diversity": {"overall": metrics(expanded, seed), "per_seed": div}}
