"""Synthetic instruction corpora with ground truth, for `bench/curation.py` and the tests.

`build`: templated legal/business instructions filled from large slot vocabularies (so
distinct texts are really distinct), with planted exact duplicates (case, punctuation and
spacing changes), near-duplicates (a few word or character edits, word swaps) and
foreign-language lines. Dense in ratio-80 pairs: the split's hardest case.

`worded`: instructions of words drawn with the word frequencies of the hand-labelled dev
set's instructions (`bench/data/devset.jsonl`), planted copies as in `build`, and one
templated family; sparse in near pairs outside what was planted, as real seeds are.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEVSET = Path(__file__).resolve().parent / "data" / "devset.jsonl"

OPENERS = (
    "Draft", "Explain", "Rewrite", "Summarise", "Review", "Outline", "Critique", "Simplify",
    "Describe", "Analyse", "Assess", "Annotate",
)
BODIES = (
    "a {adj} {clause} clause for a {party} agreement that covers {topic}",
    "how a {clause} clause protects the {party} when {topic} is disputed",
    "this {adj} {clause} provision so that the {party} keeps control of {topic}",
    "what a {party} should check in a {clause} clause about {topic}",
    "the risks of a {adj} {clause} clause for {topic}",
    "three ways a {party} can limit {topic} exposure with a {adj} {clause} clause",
    "a {adj} and a strict {clause} clause for a {party} handling {topic}",
    "an example {clause} clause that a {party} could use for {topic}",
)
CLOSERS = (
    " under the laws of {place}.", " for a small {place} company.", ", in plain words.",
    " and cite the usual {place} practice.", " in under 200 words.", " for a {place} client.",
)
FOREIGN = {
    "fr": ("Rédigez une clause de {clause} pour un accord entre {party} qui couvre {topic} "
           "et précise les obligations de chaque partie."),
    "de": ("Formulieren Sie eine Klausel zu {clause} für einen Vertrag mit {party}, die "
           "{topic} regelt und die Pflichten beider Seiten festlegt."),
    "es": ("Redacte una cláusula de {clause} para un acuerdo con {party} que cubra {topic} "
           "y establezca las obligaciones de cada parte."),
}
ADJECTIVES = (
    "mutual", "exclusive", "limited", "perpetual", "annual", "broad", "narrow", "standard",
    "custom", "binding", "optional", "minimal", "strict", "flexible", "written", "oral",
    "prior", "future", "shared", "joint", "separate", "formal", "informal", "urgent",
    "material", "minor", "major", "direct", "indirect", "partial", "complete", "temporary",
    "permanent", "confidential", "public", "private", "commercial", "financial", "technical",
    "legal", "regional", "national", "global", "local", "digital", "physical", "seasonal",
    "monthly", "weekly", "daily", "early", "late", "initial", "final", "secondary", "primary",
    "unusual", "common", "reasonable", "fair",
)
NOUNS = (
    "payment", "delivery", "warranty", "liability", "indemnity", "termination", "renewal",
    "assignment", "notice", "audit", "insurance", "escrow", "license", "royalty", "data",
    "privacy", "security", "software", "hardware", "service", "support", "maintenance",
    "training", "travel", "expense", "invoice", "tax", "interest", "penalty", "bonus",
    "salary", "equity", "share", "option", "loan", "credit", "debt", "lease", "property",
    "rent", "deposit", "inventory", "shipping", "customs", "export", "import", "patent",
    "trademark", "copyright", "design", "source", "code", "content", "marketing", "brand",
    "pricing", "discount", "rebate", "refund", "return", "exchange", "dispute", "mediation",
    "arbitration", "court", "venue", "law", "compliance", "safety", "health", "environment",
    "waste", "energy", "water", "transport", "storage", "quality", "inspection", "testing",
    "acceptance", "milestone", "schedule", "deadline", "delay", "force", "strike", "supply",
    "demand", "forecast", "budget", "report", "record", "document", "signature", "approval",
    "consent", "waiver", "amendment", "severability", "survival", "notice", "subcontract",
    "employee", "contractor", "agent", "partner", "customer", "vendor", "supplier", "buyer",
)
ROLES = (
    "supplier", "buyer", "licensor", "licensee", "landlord", "tenant", "employer", "employee",
    "contractor", "client", "vendor", "distributor", "agent", "franchisor", "franchisee",
    "lender", "borrower", "investor", "founder", "partner", "reseller", "customer", "consultant",
    "publisher", "author", "developer", "manufacturer", "carrier", "shipper", "insurer",
)
PLACES = (
    "England", "Scotland", "Ireland", "France", "Germany", "Spain", "Italy", "Portugal",
    "Belgium", "Austria", "Sweden", "Norway", "Denmark", "Finland", "Poland", "Greece",
    "Canada", "Mexico", "Brazil", "Chile", "Peru", "Japan", "Korea", "India", "Singapore",
    "Australia", "Texas", "California", "New York", "Delaware", "Florida", "Ohio", "Ontario",
    "Quebec", "Bavaria", "Catalonia", "Victoria", "Queensland", "Illinois", "Nevada",
)


def _combos(rng: random.Random, first: tuple[str, ...], second: tuple[str, ...],
            n: int) -> list[str]:
    out = {f"{a} {b}" for a in first for b in second if a != b}
    return sorted(rng.sample(sorted(out), min(n, len(out))))


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
        "adj": list(ADJECTIVES), "clause": _combos(rng, NOUNS, NOUNS, 8000),
        "party": _combos(rng, ADJECTIVES, ROLES, 1800), "topic": _combos(rng, ADJECTIVES, NOUNS,
                                                                          7000),
        "place": list(PLACES),
    }
    texts: list[str] = []
    origin: list[int] = []
    kind: list[str] = []
    langs: list[str] = []
    for i in range(n):
        r = rng.random()
        if i > 10 and r < exact + near:
            src = origin[rng.randrange(len(texts))]  # plant from an original text
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
            texts.append(" ".join((rng.choice(OPENERS), rng.choice(BODIES) + rng.choice(CLOSERS)))
                         .format(**fill))
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


def worded(n: int, *, seed: int = 0, exact: float = 0.05, near: float = 0.10,
           family: float = 0.03) -> Corpus:
    """`n` records of 8-20 dev-set words each, with the given shares of planted copies (of
    any earlier record) and of one templated family ("Translate the word ... into French"
    over 300 words: one huge MinHash bucket, and equal texts)."""
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    for line in DEVSET.read_text().splitlines():
        counts.update(re.findall(r"[a-z]+", json.loads(line)["instruction"].lower()))
    vocab = sorted(counts)
    cum = np.cumsum([counts[w] for w in vocab])
    draws = np.searchsorted(cum, np.random.default_rng(seed).random(n * 20) * cum[-1]).tolist()
    texts: list[str] = []
    origin: list[int] = []
    kind: list[str] = []
    for i in range(n):
        r = rng.random()
        if texts and r < exact + near:
            src = rng.randrange(len(texts))
            texts.append((_exact if r < exact else _edit)(texts[src], rng))
            origin.append(src)
            kind.append("exact" if r < exact else "near")
            continue
        if r < exact + near + family:
            texts.append(f"Translate the word {rng.choice(vocab[:300])} into French and use it "
                         "in a sentence.")
            kind.append("family")
        else:
            words = [vocab[draws.pop()] for _ in range(rng.randint(8, 20))]
            texts.append(" ".join(words).capitalize() + ".")
            kind.append("original")
        origin.append(i)
    frame = pd.DataFrame({
        "id": [f"r{i:07d}" for i in range(n)], "seed_id": "bench", "language": "en",
        "instruction": texts, "response": [f"An answer. Item {i}." for i in range(n)],
        "finish_reason": "stop", "keep": True, "drop_reason": pd.NA, "dup_cluster": pd.NA,
    })
    return Corpus(frame=frame, origin=origin, kind=kind)
