"""`semantic`: instructions that ask the same thing in other words are caught, one of each
kept (the better answered), while different requests on one topic stay. Runs the shipped
embedding model (the `semantic` extra); skipped where it is not installed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from datagen.checks.duplicates import semantic
from datagen.checks.duplicates.semantic import pairs_within
from datagen.export.card import semantic_lines
from datagen.similarity import embed
from tests.curate.helpers import cfg, reasons, records, run

pytestmark = pytest.mark.skipif(bool(embed.missing()),
                                reason="the semantic extra is not installed")

# the rest of every answer: the check reads an answer's opening words only
TAIL = (" Each step comes with the reason behind it and one worked example, so that the "
        "request is fully handled.")
BETTER = TAIL + " It also lists the two mistakes people make most often, and how to avoid them."

# ((a request, its answer), (the same request in other words, its answer))
PARAPHRASES = [
    (("Give me three tips for sleeping better.",
      "Keep a fixed bedtime, avoid screens late at night and cut caffeine after noon."),
     ("List three pieces of advice for improving sleep.",
      "Go to bed at the same time, put the phone away before bed and skip late coffee.")),
    (("Translate 'good morning' into French.", "In French, 'good morning' is 'bonjour'."),
     ("How would you say 'good morning' in French?", "You would say 'bonjour'.")),
    (("What are the health benefits of green tea?",
      "Green tea is rich in antioxidants, may support heart health and helps focus."),
     ("How is drinking green tea good for you?",
      "It supplies antioxidants, can help the heart and gives a gentle lift in alertness.")),
    (("Summarise the plot of Romeo and Juliet.",
      "Two young lovers from feuding families in Verona marry in secret and both die."),
     ("Give a short summary of the story of Romeo and Juliet.",
      "In Verona, the children of two rival families fall in love, wed secretly and die.")),
]
# ((a request, its answer), (a different request on the same topic, its answer))
SAME_TOPIC = [
    (("How do I reverse a list in Python?", "Call items.reverse() or take items[::-1]."),
     ("How do I sort a dictionary by value in Python?",
      "Use sorted(d.items(), key=lambda kv: kv[1]).")),
    (("Give me three tips for sleeping better.",
      "Keep a fixed bedtime, avoid screens late at night and cut caffeine after noon."),
     ("Give me three tips for waking up earlier.",
      "Move your alarm fifteen minutes a week, open the curtains and get up at once.")),
    (("Translate 'good morning' into French.", "In French, 'good morning' is 'bonjour'."),
     ("Translate 'good night' into German.", "In German, 'good night' is 'gute Nacht'.")),
    (("What are the health benefits of green tea?",
      "Green tea is rich in antioxidants, may support heart health and helps focus."),
     ("What are the side effects of drinking too much green tea?",
      "Too much can cause poor sleep, an upset stomach and less iron absorbed.")),
    (("Explain what a mutual confidentiality clause requires from both parties.",
      "Each party must keep the other's information secret and use it only for the deal."),
     ("Explain how long a confidentiality clause should last after the contract ends.",
      "Usually two to five years, and trade secrets for as long as they stay secret.")),
    (("Draft a confidentiality clause for a software supplier agreement.",
      "The Supplier shall hold all Customer Data in confidence and disclose it to no one."),
     ("Draft a termination clause for a software supplier agreement.",
      "Either party may end this Agreement on ninety days' written notice to the other.")),
    (("Summarise the plot of Romeo and Juliet.",
      "Two young lovers from feuding families in Verona marry in secret and both die."),
     ("Summarise the plot of Macbeth.",
      "A Scottish general, spurred by witches and his wife, murders the king and falls.")),
]
ON = {"semantic": {"enabled": True}}


def test_paraphrases_are_caught_and_the_better_answered_one_stays() -> None:
    rows = []
    for (first, answer), (second, other) in PARAPHRASES:
        rows += [{"instruction": first, "response": answer + TAIL},
                 {"instruction": second, "response": other + BETTER}]
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
    rows = [{"instruction": text, "response": answer + TAIL}
            for pair in SAME_TOPIC for text, answer in pair]
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
    sleep = "Keep a fixed bedtime, avoid screens late at night and cut caffeine after noon."
    rows = [{"instruction": t, "response": sleep + TAIL} for t in crowd]
    rows += [{"instruction": "Translate 'good night' into German <b>|</b>",
              "response": "In German, 'good night' is 'gute Nacht'." + TAIL},
             {"instruction": "Summarise the plot of Macbeth.",
              "response": SAME_TOPIC[-1][1][1] + TAIL,
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


def test_vectors_come_back_in_the_order_of_the_texts_across_batches_and_trims() -> None:
    # batches of two over texts of mixed lengths: sorted by length inside, trimmed every
    # `TRIM_EVERY` batches, each vector written back to its text's own row
    texts = [first for pair in PARAPHRASES for first, _ in pair][:10]
    texts += ["Hi.", "A much longer request that asks for a step by step plan to learn Python."]
    assert len(texts) // 2 > embed.TRIM_EVERY
    together = embed.encode(texts, batch=2)
    alone = np.vstack([embed.encode([t]) for t in texts])
    assert together.shape == (len(texts), embed.DIM)
    assert np.allclose(together, alone, atol=2e-2)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-4)
