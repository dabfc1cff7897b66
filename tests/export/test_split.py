"""Split: seeded, reproducible, stratified, group-aware, and proven leakage-free."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from datagen.export import split as split_module
from datagen.export.split import assign, check_shares, leakage_check, realised_ratios, split
from datagen.records import new_records


def test_same_seed_same_labels_whatever_the_row_order(corpus: pd.DataFrame) -> None:
    a = split(corpus, 0.2, seed=3)
    shuffled = corpus.sample(frac=1.0, random_state=1)
    b = split(shuffled, 0.2, seed=3)
    by_id = lambda df, lab: dict(zip(df.loc[lab.index, "id"], lab, strict=True))  # noqa: E731
    assert by_id(corpus, a) == by_id(shuffled, b)
    c = split(corpus, 0.2, seed=4)
    assert by_id(corpus, a) != by_id(corpus, c)


def test_random_split_leaks_on_this_corpus_group_aware_does_not(corpus: pd.DataFrame) -> None:
    rnd = random.Random(0)
    naive = pd.Series([("validation" if rnd.random() < 0.2 else "train") for _ in corpus.index],
                      index=corpus.index, dtype="string")
    assert leakage_check(corpus, naive)["crossing_pairs"] > 0  # the corpus tempts leakage
    for seed in range(5):
        labels = split(corpus, 0.2, test=0.1, seed=seed)
        check = leakage_check(corpus, labels)
        assert check["passed"], check
        assert check["crossing_pairs"] == 0 and check["test"] > 0 and check["validation"] > 0


def test_dup_cluster_members_stay_together(make_records) -> None:
    df = make_records(20)
    df.loc[df.index[:6], "dup_cluster"] = "shared"  # unrelated texts, one curation cluster
    for seed in range(6):
        labels = split(df, 0.3, seed=seed)
        assert labels.loc[df.index[:6]].nunique() == 1
        assert leakage_check(df, labels)["crossing_clusters"] == 0


def test_stratified_ratio_and_count(corpus: pd.DataFrame) -> None:
    labels = split(corpus, 0.25, seed=0)
    ratios = realised_ratios(corpus, labels)
    for seed_id in ("nda", "lease"):
        assert ratios[seed_id]["validation"] == 9  # 36 records, groups of 3: 9 = 25 % exactly
    labels = split(corpus, 12, test=6, seed=0)
    assert (labels == "validation").sum() == 12 and (labels == "test").sum() == 6
    assert realised_ratios(corpus, labels)["all"]["validation_share"] == pytest.approx(12 / 72,
                                                                                       abs=1e-3)


def test_every_seed_in_validation_and_never_empty(make_records) -> None:
    df = pd.concat([make_records(6, seed_id="a"), make_records(40, seed_id="b")],
                   ignore_index=True)
    ratios = realised_ratios(df, split(df, 0.05, seed=0))
    assert ratios["a"]["validation"] >= 1 and ratios["b"]["validation"] >= 1
    # ten kept records spread over seeds too small to stratify: still one held out
    tiny = pd.concat([make_records(3, seed_id=s) for s in "wxyz"], ignore_index=True)
    labels = split(tiny, 0.01, seed=0)
    assert (labels == "validation").sum() >= 1 and (labels == "train").sum() >= 1


def test_only_kept_records_are_labelled(make_records) -> None:
    df = make_records(12)
    df.loc[df.index[:2], "keep"] = False
    labels = split(df, 0.2)
    assert set(labels.index) == set(df.index[2:])
    assert split(new_records([]), 0.2).empty


def test_tiny_run_still_gets_a_validation_example(make_records) -> None:
    """Two kept pairs: one goes to validation, so `ds["validation"]` exists for users."""
    labels = split(make_records(2), 0.2, seed=0)
    assert sorted(labels.tolist()) == ["train", "validation"]


def _grouped(sizes: list[int], seed_id: str = "nda") -> pd.DataFrame:
    """Records in curation clusters of the given sizes (random texts, so only the clusters
    join them): a corpus with big groups of paraphrases."""
    rng = random.Random(sum(sizes))
    rows = []
    for g, size in enumerate(sizes):
        for k in range(size):
            rows.append({"id": f"{seed_id}-{g:03d}-{k:03d}", "seed_id": seed_id,
                         "instruction": " ".join("".join(rng.choices("abcdefghijklmnop", k=6))
                                                 for _ in range(8)),
                         "response": "An answer.", "dup_cluster": f"{seed_id}-g{g}",
                         "keep": True})
    return new_records(rows)


def test_big_groups_still_meet_the_share(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1000 records in groups of 150, 150, 100, 100 and 50 x 10: the closest subset of groups
    # is exact for every seed, where the greedy fill in shuffled order lands 50 records off
    df = _grouped([150, 150, 100, 100, *[50] * 10])
    for seed in range(12):
        done = assign(df, 0.2, seed=seed)
        assert (done.labels == "validation").sum() == 200
        check = check_shares(df, done, 0.2)
        assert check["met"] and check["warning"] is None
        assert leakage_check(df, done.labels)["passed"]
    monkeypatch.setattr(split_module, "DP_CELLS", 0)  # the greedy fill alone
    greedy = [int((split(df, 0.2, seed=seed) == "validation").sum()) for seed in range(12)]
    assert max(greedy) == 250


def test_an_impossible_share_names_the_largest_group() -> None:
    df = _grouped([900, 40, 30, 20, 10])
    done = assign(df, 0.2, seed=0)
    assert (done.labels == "validation").sum() == 100  # all that can go without the big one
    check = check_shares(df, done, 0.2)
    assert not check["met"]
    miss = check["misses"][0]
    assert (miss["asked"], miss["realised"]) == (200, 100)
    assert miss["largest_groups"][0] == {**miss["largest_groups"][0], "size": 900,
                                         "share": 0.9, "split": "train"}
    assert "holds 900 pairs (90%)" in check["warning"]


def test_min_validation_is_a_floor() -> None:
    df = _grouped([1] * 100)
    assert (split(df, 0.05, seed=0) == "validation").sum() == 5
    labels = split(df, 0.05, seed=0, min_validation=30)
    assert (labels == "validation").sum() == 30
    assert check_shares(df, assign(df, 0.05, min_validation=30), 0.05,
                        min_validation=30)["met"]


def test_the_tolerance_is_a_share_of_the_seed() -> None:
    df = _grouped([60, 20, 20])  # 100 records: validation can be 20 exactly
    done = assign(df, 0.2, seed=0)
    assert check_shares(df, done, 0.2)["met"]
    moved = done.labels.copy()
    moved[moved == "validation"] = "train"
    moved.iloc[:17] = "validation"  # 17 of 100: 3 off, more than 2% of 100
    off = check_shares(df, type(done)(moved, done.group), 0.2, tolerance=0.02)
    assert not off["met"]
    assert check_shares(df, type(done)(moved, done.group), 0.2, tolerance=0.05)["met"]


def _paraphrases() -> list[str]:
    """Clusters of instructions near each other at ratio 80 (a word changed, punctuation
    added), and unrelated clusters: the shape a split must keep together."""
    rnd = random.Random(5)

    def word() -> str:
        return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(3, 8)))

    texts = []
    for _ in range(120):
        stem = [word() for _ in range(9)]
        texts += [f"Explain {' '.join(stem)} in plain words" + "." * k for k in range(3)]
        stem[rnd.randrange(9)] = word()
        texts.append(f"Explain {' '.join(stem)} in plain words")
    return texts


def test_grouping_by_minhash_joins_what_all_pairs_joins() -> None:
    from datagen.similarity.grouping import grouping_pairs
    from datagen.similarity.pairs import components

    texts = _paraphrases()
    exact, how = grouping_pairs(texts, 80.0)
    assert how["method"] == "allpairs" and len(exact) > len(texts) // 2
    lsh, how = grouping_pairs(texts, 80.0, allpairs_max=10)
    assert how["method"] == "minhash" and how["bands"] > 0
    assert set(map(tuple, lsh.tolist())) <= set(map(tuple, exact.tolist()))  # verified pairs
    assert components(len(texts), lsh).tolist() == components(len(texts), exact).tolist()


def test_grouping_skips_pairs_inside_known_groups_and_joins_the_same() -> None:
    """With groups known beforehand (dedup's clusters, the assignment's groups), no pair
    inside one is returned, and with them the pairs found join what every pair joins."""
    import numpy as np

    from datagen.similarity.grouping import grouping_pairs
    from datagen.similarity.pairs import components

    texts = _paraphrases()
    exact, _ = grouping_pairs(texts, 80.0)
    known = np.arange(len(texts)) // 2 * 2  # each half of a paraphrase family: one group
    truth = components(len(texts), np.concatenate([exact, np.stack([np.arange(len(texts)),
                                                                    known], 1)]))
    for limit in (10_000, 10):  # all pairs, then MinHash
        pairs, how = grouping_pairs(texts, 80.0, allpairs_max=limit, known=known)
        assert len(pairs) and (known[pairs[:, 0]] != known[pairs[:, 1]]).all(), how
        both = np.concatenate([pairs.reshape(-1, 2), np.stack([np.arange(len(texts)), known], 1)])
        assert components(len(texts), both).tolist() == truth.tolist()


def test_components_are_named_by_their_smallest_member() -> None:
    from datagen.similarity.pairs import components, roots_of

    rnd = random.Random(2)
    pairs = [(rnd.randrange(500), rnd.randrange(500)) for _ in range(300)]
    pairs = sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b})
    import numpy as np
    assert components(500, np.array(pairs)).tolist() == roots_of(500, pairs)


def test_the_leakage_check_says_what_it_checked(corpus: pd.DataFrame) -> None:
    check = leakage_check(corpus, split(corpus, 0.2, seed=1))
    assert check["passed"] and "exact" in check["checked"]
    assert check["near_pairs_checked"] > 0


def test_pairs_the_check_found_join_the_groups_they_link(make_records) -> None:
    """The run's split stage re-draws with the leakage check's pairs joined to the groups
    found before: the two records of a joined pair then share a split."""
    df = make_records(40)
    first = assign(df, 0.3, seed=2)
    lab = first.labels
    a = lab.index[lab == "train"][0]
    b = lab.index[lab == "validation"][0]
    joined = df.loc[[a, b], "id"].astype(str).to_numpy().reshape(1, 2)
    again = assign(df, 0.3, seed=2, joined=joined, known=first.group)
    assert again.group[a] == again.group[b] and again.labels[a] == again.labels[b]
    assert again.group.nunique() == first.group.nunique() - 1
