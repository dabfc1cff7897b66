"""Hand-built record frames for the export tests: no model, no network."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from datagen.records import new_records

WORDS = ("lessor lessee indemnity warranty escrow arbitration tenant licence royalty audit "
         "breach remedy notice waiver assignment severability jurisdiction damages liability "
         "invoice payment delivery acceptance termination renewal exclusivity territory patent "
         "trademark copyright source escrow vendor buyer seller agent broker insurer pledge "
         "mortgage guarantee surety novation merger subsidiary affiliate shareholder director "
         "officer employee contractor consultant supplier customer distributor reseller").split()


def leaky_corpus(topics: int = 12, seeds: tuple[str, ...] = ("nda", "lease"),
                 rng_seed: int = 7) -> pd.DataFrame:
    """Per seed, `topics` groups of 3 paraphrased instructions. A random split puts
    paraphrases on both sides; a group-aware one must not."""
    rng = random.Random(rng_seed)
    rows = []
    for seed_id in seeds:
        for t in range(topics):
            base = rng.sample(WORDS, 9)
            variants = [base, [*base, "please"], [*base[:-1], "kindly", base[-1]]]
            for v, words in enumerate(variants):
                text = "Explain " + " ".join(words)
                rid = f"{seed_id}-{t:02d}-{v}"
                rows.append({"id": rid, "run_id": "r", "seed_id": seed_id, "domain": "legal",
                             "language": "en", "system": "You are a careful lawyer.",
                             "instruction": text, "response": f"Answer {t} {v}: " + text.lower(),
                             "dup_cluster": rid, "keep": True})
    return new_records(rows)


def small_records(n: int = 12, *, seed_id: str = "nda", turns: bool = False) -> pd.DataFrame:
    rng = random.Random(seed_id)
    rows = []
    for i in range(n):
        words = rng.sample(WORDS, 14)
        meta = {}
        if turns and i == 0:
            meta["turns"] = [
                {"role": "user", "content": "What is an NDA?"},
                {"role": "assistant", "content": "A non-disclosure agreement."},
                {"role": "user", "content": "Is it binding?"},
                {"role": "assistant", "content": "Yes, as a contract."},
            ]
        rows.append({"id": f"{seed_id}{i:03d}", "run_id": "r", "seed_id": seed_id,
                     "domain": "legal", "language": "en", "system": "You are a lawyer.",
                     "instruction": f"Question {i}: " + " ".join(words[:6]),
                     "response": f"Answer {i}: " + " ".join(words[6:]),
                     "model": "smol", "dup_cluster": f"c{i}", "keep": True,
                     "metadata": json.dumps(meta)})
    return new_records(rows)


@pytest.fixture
def corpus() -> pd.DataFrame:
    return leaky_corpus()


@pytest.fixture
def make_records():
    """`make_records(n, seed_id=..., turns=...)`: a small kept frame with distinct texts."""
    return small_records
