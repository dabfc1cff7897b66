"""A synthetic instruction corpus with ground truth, for `bench/curation.py`.

Templated legal/business instructions filled from large slot vocabularies (so distinct texts
are really distinct), with planted exact duplicates (case, punctuation and spacing changes),
near-duplicates (a few word or character edits, word swaps) and foreign-language lines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pandas as pd

TEMPLATES = (
    "Draft a {adj} {clause} clause for a {party} agreement that covers {topic} in {place}.",
    "Explain how a {clause} clause protects the {party} when {topic} is disputed in {place}.",
    "Rewrite this {adj} {clause} provision so that the {party} keeps control of {topic}.",
    "What should a {party} check before signing a {clause} clause about {topic} in {place}?",
    "Summarise the risks of a {adj} {clause} clause for {topic} under the laws of {place}.",
    "List three ways a {party} can limit {topic} exposure with a {adj} {clause} clause.",
    "Compare a {adj} and a strict {clause} clause for a {party} handling {topic} in {place}.",
    "Give an example of a {clause} clause that a {party} could use for {topic} in {place}.",
)
FOREIGN = {
    "fr": ("Rédigez une clause de {clause} pour un accord entre {party} qui couvre {topic} "
           "et précise les obligations de chaque partie."),
    "de": ("Formulieren Sie eine Klausel zu {clause} für einen Vertrag mit {party}, die "
           "{topic} regelt und die Pflichten beider Seiten festlegt."),
    "es": ("Redacte una cláusula de {clause} para un acuerdo con {party} que cubra {topic} "
           "y establezca las obligaciones de cada parte."),
}
_SYLLABLES = ("ka", "lo", "mi", "ter", "van", "sul", "dor", "pe", "ri", "zan", "gol", "be",
              "nu", "sta", "fin", "cor", "mal", "ti", "rex", "qua", "ol", "ven", "dit", "pra")


def _words(rng: random.Random, n: int, parts: tuple[int, int]) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(*parts))))
    return sorted(out)


@dataclass
class Corpus:
    frame: pd.DataFrame  # instruction, response, language, seed_id, id, finish_reason, keep
    origin: list[int]  # index of the text each row was planted from (itself if original)
    kind: list[str]  # original | exact | near | foreign


def _edit(text: str, rng: random.Random) -> str:
    """A near-duplicate: one or two small edits (typo, word swap, dropped or added word)."""
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        op = rng.random()
        i = rng.randrange(len(words))
        if op < 0.35:
            w = words[i]
            if len(w) > 3:
                j = rng.randrange(len(w) - 1)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        elif op < 0.6:
            j = rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
        elif op < 0.8 and len(words) > 8:
            del words[i]
        else:
            words.insert(i, rng.choice(("please", "briefly", "clearly", "also")))
    return " ".join(words)


def _exact(text: str, rng: random.Random) -> str:
    """An exact duplicate after normalisation: case, punctuation and spacing only."""
    out = text.upper() if rng.random() < 0.3 else text
    out = out.replace(",", "") if rng.random() < 0.5 else out.replace(" ", "  ", 1)
    return out.rstrip(".?") + ("!" if rng.random() < 0.5 else "")


def build(n: int, *, seed: int = 0, exact: float = 0.05, near: float = 0.10,
          foreign: float = 0.03) -> Corpus:
    """`n` records: originals plus the given shares of planted duplicates and foreign lines."""
    rng = random.Random(seed)
    slots = {
        "adj": _words(rng, 400, (2, 3)), "clause": _words(rng, 3000, (2, 4)),
        "party": _words(rng, 3000, (2, 4)), "topic": _words(rng, 8000, (2, 4)),
        "place": _words(rng, 2000, (2, 3)),
    }
    texts: list[str] = []
    origin: list[int] = []
    kind: list[str] = []
    langs: list[str] = []
    for i in range(n):
        r = rng.random()
        if i > 10 and r < exact + near:
            src = rng.randrange(len(texts))
            while kind[src] != "original":
                src = origin[src]
            planted = _exact(texts[src], rng) if r < exact else _edit(texts[src], rng)
            texts.append(planted)
            origin.append(src)
            kind.append("exact" if r < exact else "near")
            langs.append("en")
            continue
        fill = {k: rng.choice(v) for k, v in slots.items()}
        if r < exact + near + foreign:
            lang = rng.choice(sorted(FOREIGN))
            texts.append(FOREIGN[lang].format(**fill))
            kind.append("foreign")
        else:
            texts.append(rng.choice(TEMPLATES).format(**fill))
            kind.append("original")
        origin.append(i)
        langs.append("en")
    responses = [f"Here is a careful answer about {t.split()[3]} with the details a lawyer "
                 f"would expect, covering scope, duration and remedies. Item {i}."
                 for i, t in enumerate(texts)]
    frame = pd.DataFrame({
        "id": [f"r{i:07d}" for i in range(n)], "seed_id": "bench", "language": langs,
        "instruction": texts, "response": responses, "finish_reason": "stop",
        "keep": True, "drop_reason": pd.NA, "dup_cluster": pd.NA,
    })
    return Corpus(frame=frame, origin=origin, kind=kind)
