"""Language of instruction and response against the seed's target language.

The engine is configurable (`curation.language.engine`, see `datagen.curate.langid`);
langdetect is seeded, so a rerun gives the same verdicts. Every engine is flaky on short
texts, so a field under `SHORT_WORDS` words is not judged alone: the pair is judged on its
longer field(s), or on both fields joined when both are short, and not at all when even that is
under `MIN_JOINED_WORDS` ("Calculate 17 times 23." / "391"). A code answer is not judged:
only its request is.

A field fails when its top language is not the target, scores at least `SURE`, and the
target's probability is under `curation.language.threshold`.
"""

from __future__ import annotations

import pandas as pd

from datagen.config import LanguageConfig
from datagen.curate.check import Check, Context, Texts, Verdicts
from datagen.curate.langid import detect_many
from datagen.curate.reasons import DropReason

SHORT_WORDS = 10
MIN_JOINED_WORDS = 6  # under this, even both fields joined are too few words to judge
SURE = 0.5  # a field is wrong-language only if some other language scores at least this


def _base(code: str) -> str:
    return code.split("-")[0].lower() if code else "en"


def language_verdicts(t: Texts, cfg: LanguageConfig, seed: int = 0) -> pd.DataFrame:
    """Per row: detected language, target-language probability, and whether it fails."""
    targets = [_base(x) for x in t.frame["language"].fillna("en")]
    plans: list[list[str]] = []
    for ins, res, ins_n, res_n, shape in zip(t.instruction, t.response, t.instruction_words,
                                             t.response_words, t.shape, strict=True):
        if shape == "code":  # code is no language: judge the request alone
            res, res_n = "", 0
        texts = [x for x, n in ((ins, ins_n), (res, res_n)) if n >= SHORT_WORDS]
        if not texts and ins_n + res_n >= MIN_JOINED_WORDS:
            texts = [f"{ins} {res}".strip()]
        plans.append(texts)
    flat = [x for texts in plans for x in texts]
    found = iter(detect_many(flat, cfg.engine, seed=seed, targets=set(targets)))
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
            fail = fail or (top != target and prob < cfg.threshold and sure)
        rows.append((shown, round(worst_prob, 4), fail))
    return pd.DataFrame(rows, columns=["detected", "score", "fail"], index=t.frame.index)


def _language(ctx: Context) -> Verdicts:
    v = language_verdicts(ctx.texts, ctx.cfg.language, ctx.seed)
    return Verdicts.where(v["fail"].astype(bool), DropReason.WRONG_LANGUAGE, columns={
        "detected_language": v["detected"].astype("string"),
        "language_score": v["score"].astype("Float64")})


CHECK = Check(
    name="language", reasons=(DropReason.WRONG_LANGUAGE,),
    inputs=("instruction", "response", "language"), section="language", level="pair",
    run=_language,
)
