"""Language of instruction and response against the seed's target language.

The engine is configurable (`datagen.filters.langid`); langdetect is seeded, so a rerun gives
the same verdicts. Every engine is flaky on short texts, so a field under `SHORT_WORDS` words
is not judged alone: the pair is judged on its longer field(s), or on both fields joined
when both are short.

A field fails when its top language is not the target, scores at least `SURE`, and the
target's probability is under `language_threshold`.
"""

from __future__ import annotations

import pandas as pd

from datagen.config import CurationConfig
from datagen.filters import Texts
from datagen.filters.langid import detect_many

SHORT_WORDS = 10
SURE = 0.5  # a field is wrong-language only if some other language scores at least this


def _base(code: str) -> str:
    return code.split("-")[0].lower() if code else "en"


def language_verdicts(t: Texts, cfg: CurationConfig, seed: int = 0) -> pd.DataFrame:
    """Per row: detected language, target-language probability, and whether it fails."""
    targets = [_base(x) for x in t.frame["language"].fillna("en")]
    plans: list[list[str]] = []
    for ins, res, ins_n, res_n in zip(t.instruction, t.response, t.instruction_words,
                                      t.response_words, strict=True):
        texts = [x for x, n in ((ins, ins_n), (res, res_n)) if n >= SHORT_WORDS]
        if not texts:
            joined = f"{ins} {res}".strip()
            texts = [joined] if joined else []
        plans.append(texts)
    flat = [x for texts in plans for x in texts]
    found = iter(detect_many(flat, cfg.language_engine, seed=seed, targets=set(targets)))
    rows = []
    for texts, target in zip(plans, targets, strict=True):
        if not texts:
            rows.append(("", None, False))
            continue
        worst_prob, shown, fail = 1.0, "", False
        for _ in texts:
            top, probs = next(found)
            prob = probs.get(target, 0.0)
            if prob <= worst_prob:
                worst_prob, shown = prob, top
            # the target on top passes even when unsure (fastText scores plain English 0.4-0.7),
            # and so does a text no language is sure of (fr 0.25 / en 0.22: not evidence)
            sure = probs.get(top, 0.0) >= SURE
            fail = fail or (top != target and prob < cfg.language_threshold and sure)
        rows.append((shown, round(worst_prob, 4), fail))
    return pd.DataFrame(rows, columns=["detected", "score", "fail"], index=t.frame.index)


def wrong_language(t: Texts, cfg: CurationConfig, seed: int = 0) -> pd.Series:
    verdicts = language_verdicts(t, cfg, seed)
    t.frame["detected_language"] = verdicts["detected"].astype("string")
    t.frame["language_score"] = verdicts["score"].astype("Float64")
    return verdicts["fail"].astype(bool)
