"""Language of instruction and response against the seed's target language (langdetect).

langdetect is random unless seeded: we seed it, so a rerun gives the same verdicts. It is
flaky on short texts, so a field under `SHORT_WORDS` words is not judged alone: the pair is
judged on its longer field, or on both fields joined when both are short.
"""

from __future__ import annotations

import functools

import pandas as pd
from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from datagen.config import CurationConfig
from datagen.filters import Texts

SHORT_WORDS = 10


@functools.lru_cache(maxsize=65536)
def detect(text: str, seed: int = 0) -> tuple[str, dict[str, float]]:
    """Top language and the probability of each candidate; ("", {}) if undecidable."""
    DetectorFactory.seed = seed
    try:
        langs = detect_langs(text)
    except LangDetectException:
        return "", {}
    return langs[0].lang, {lang.lang: lang.prob for lang in langs}


def language_verdicts(t: Texts, cfg: CurationConfig, seed: int = 0) -> pd.DataFrame:
    """Per row: detected language, target-language probability, and whether it fails."""
    rows = []
    for ins, res, ins_n, res_n, target in zip(
        t.instruction, t.response, t.instruction_words, t.response_words,
        t.frame["language"].fillna("en"), strict=True,
    ):
        texts = [x for x, n in ((ins, ins_n), (res, res_n)) if n >= SHORT_WORDS]
        if not texts:
            joined = f"{ins} {res}".strip()
            texts = [joined] if joined else []
        if not texts:
            rows.append(("", None, False))
            continue
        worst_prob, shown = 1.0, ""
        for text in texts:
            top, probs = detect(text, seed)
            shown = top
            worst_prob = min(worst_prob, probs.get(target, 0.0))
        rows.append((shown, round(worst_prob, 4), worst_prob < cfg.language_threshold))
    return pd.DataFrame(rows, columns=["detected", "score", "fail"], index=t.frame.index)


def wrong_language(t: Texts, cfg: CurationConfig, seed: int = 0) -> pd.Series:
    verdicts = language_verdicts(t, cfg, seed)
    t.frame["detected_language"] = verdicts["detected"].astype("string")
    t.frame["language_score"] = verdicts["score"].astype("Float64")
    return verdicts["fail"].astype(bool)
