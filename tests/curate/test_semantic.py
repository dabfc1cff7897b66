"""`semantic`: instructions that ask the same thing in other words are caught, one of each
kept (the better answered), while different requests on one topic stay. Runs the shipped
embedding model (the `semantic` extra); skipped where it is not installed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from datagen.curate import embed, semantic
from datagen.curate.semantic import pairs_within
from datagen.export.card import semantic_lines
from tests.curate.helpers import cfg, reasons, records, run

pytestmark = pytest.mark.skipif(bool(embed.missing()),
                                reason="the semantic extra is not installed")

ANSWER = ("Here is a clear answer with the steps, the reasons behind them and one worked "
          "example, so that the request is fully handled.")
BETTER = ANSWER + " It also lists the two mistakes people make most often, and how to avoid them."

# (one request, the same request in other words)
PARAPHRASES = [
    ("Give me three tips for sleeping better.",
     "List three pieces of advice for improving sleep."),
    ("Translate 'good morning' into French.",
     "How would you say 'good morning' in French?"),
    ("What are the health benefits of green tea?",
     "How is drinking green tea good for you?"),
    ("Summarise the plot of Romeo and Juliet.",
     "Give a short summary of the story of Romeo and Juliet."),
]
# (a request, a different request on the same topic)
SAME_TOPIC = [
    ("How do I reverse a list in Python?", "How do I sort a dictionary by value in Python?"),
    ("Give me three tips for sleeping better.", "Give me three tips for waking up earlier."),
    ("Translate 'good morning' into French.", "Translate 'good night' into German."),
    ("What are the health benefits of green tea?",
     "What are the side effects of drinking too much green tea?"),
    ("Explain what a mutual confidentiality clause requires from both parties.",
     "Explain how long a confidentiality clause should last after the contract ends."),
    ("Draft a confidentiality clause for a software supplier agreement.",
     "Draft a termination clause for a software supplier agreement."),
    ("Summarise the plot of Romeo and Juliet.", "Summarise the plot of Macbeth."),
]
ON = {"semantic": {"enabled": True}}


def test_paraphrases_are_caught_and_the_better_answered_one_stays() -> None:
    rows = []
    for first, second in PARAPHRASES:
        rows += [{"instruction": first, "response": ANSWER},
                 {"instruction": second, "response": BETTER}]
    df = run(records(*rows), cfg(**ON))
    got = reasons(df)
    for k in range(len(PARAPHRASES)):
        assert got[2 * k] == "semantic_duplicate", PARAPHRASES[k]
        assert got[2 * k + 1] is None, PARAPHRASES[k]
        assert df["lost_to"].iloc[2 * k] == df["id"].iloc[2 * k + 1]
        assert df["dup_cluster"].iloc[2 * k] == df["id"].iloc[2 * k + 1]
    scores = [json.loads(s) for s in df["scores"]]
    assert all(0 <= s["semantic_distance"] <= 2 for s in scores)


def test_different_requests_on_one_topic_stay() -> None:
    rows = [{"instruction": text, "response": ANSWER} for pair in SAME_TOPIC for text in pair]
    assert reasons(run(records(*rows), cfg(**ON))) == [None] * len(rows)


def test_pairs_within_is_every_pair_over_the_threshold() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(40, 8)).astype(np.float32)
    v[1] = v[0] + 0.01
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sims = v @ v.T
    want = {(i, j) for i in range(40) for j in range(i + 1, 40) if sims[i, j] >= 0.6}
    assert {tuple(p) for p in pairs_within(v, 0.6).tolist()} == want
    assert (0, 1) in want


def test_coverage_per_seed_counts_clusters_and_names_the_most_crowded_request() -> None:
    crowd = ["Give me three tips for sleeping better.",
             "List three pieces of advice for improving sleep.",
             "What are three ways to get better sleep?"]
    rows = [{"instruction": t, "response": ANSWER} for t in crowd]
    rows += [{"instruction": "Translate 'good night' into German <b>|</b>", "response": ANSWER},
             {"instruction": "Summarise the plot of Macbeth.", "response": ANSWER,
              "seed_id": "plays"}]
    df = run(records(*rows), cfg(**ON), targets={"nda": 100, "plays": 100})
    cov = semantic.coverage(df)
    assert set(cov) == {"nda", "plays"}
    nda = cov["nda"]
    dropped = reasons(df).count("semantic_duplicate")
    assert dropped >= 1
    assert nda["judged"] == 4 and nda["clusters"] == 4 - dropped
    assert nda["duplicate_share"] == round(dropped / 4, 4)
    head, members = nda["crowded"][0]
    assert head in crowd and members == dropped + 1
    assert cov["plays"]["crowded"] == [] and cov["plays"]["clusters"] == 1
    assert semantic.coverage(run(records(*rows))) == {}  # off: nothing to report
    # the card escapes the instructions it quotes
    lines = "\n".join(semantic_lines({"semantic": cov}))
    assert "## Semantic coverage" in lines and "<b>" not in lines
