"""The judge-agreement statistics on a table computed by hand, their intervals, and every
number that cannot be computed reported as undefined with its reason."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from datagen.evaluate import agreement as a

# Twenty reviewed records: the judge's score (1-10) and the reviewer's verdict (True: drop).
# At the threshold 6 (keep at score >= 6):
#   both drop (TP)               scores 2 3 4 5 5         -> 5
#   judge drops, reviewer keeps  scores 4 5               -> 2
#   judge keeps, reviewer drops  scores 6 6 7             -> 3
#   both keep (TN)               scores 6 7 7 8 8 8 9 9 10 10 -> 10
TP, FP, FN, TN = [2, 3, 4, 5, 5], [4, 5], [6, 6, 7], [6, 7, 7, 8, 8, 8, 9, 9, 10, 10]
SCORES = np.array(TP + FP + FN + TN, dtype=float)
HUMAN_DROP = np.array([True] * 5 + [False] * 2 + [True] * 3 + [False] * 10)


def test_the_hand_computed_table() -> None:
    judge_drop = SCORES < 6
    c = a.confusion(judge_drop, HUMAN_DROP)
    assert (c.both_drop, c.judge_drop_human_keep, c.judge_keep_human_drop, c.both_keep) == \
        (5, 2, 3, 10)
    # agreement (5 + 10) / 20 = 0.75
    agree = a.agreement(c)
    assert (agree.value, agree.k, agree.n) == (0.75, 15, 20)
    # judge drops 7/20 = 0.35, reviewer drops 8/20 = 0.40
    # chance = 0.35 * 0.40 + 0.65 * 0.60 = 0.14 + 0.39 = 0.53
    # kappa = (0.75 - 0.53) / (1 - 0.53) = 0.22 / 0.47 = 22/47
    kap = a.kappa(judge_drop, HUMAN_DROP)
    assert kap.value == pytest.approx(22 / 47, abs=1e-9)
    # precision of drops 5 / (5 + 2) = 5/7; recall 5 / (5 + 3) = 5/8
    assert a.drop_precision(c).value == pytest.approx(5 / 7, abs=1e-12)
    assert a.drop_recall(c).value == pytest.approx(5 / 8, abs=1e-12)
    assert (a.drop_precision(c).n, a.drop_recall(c).n) == (7, 8)


def test_wilson_matches_the_textbook_values() -> None:
    # 15/20, z = 1.96: centre (0.75 + 1.96^2/40) / (1 + 1.96^2/20) = 0.70973,
    # half 1.96 * sqrt(0.75 * 0.25 / 20 + 1.96^2 / 1600) / 1.19208 = 0.17842
    low, high = a.wilson(15, 20)
    assert low == pytest.approx(0.53131, abs=1e-4) and high == pytest.approx(0.88814, abs=1e-4)
    assert a.wilson(0, 10)[0] == 0.0 and a.wilson(10, 10)[1] == 1.0  # stays inside [0, 1]
    assert a.wilson(0, 10)[1] == pytest.approx(0.27753, abs=1e-4)
    assert a.wilson(0, 0) is None


def test_the_kappa_interval_is_a_fixed_seed_bootstrap_around_the_value() -> None:
    judge_drop = SCORES < 6
    first = a.kappa(judge_drop, HUMAN_DROP)
    again = a.kappa(judge_drop, HUMAN_DROP)
    assert first.ci95 == again.ci95  # the same data always gives the same interval
    low, high = first.ci95
    assert -1 <= low < first.value < high <= 1
    assert high - low > 0.3  # 20 records: a wide interval, as it should be
    assert "bootstrap" in first.method and "2000" in first.method
    other = a.kappa(judge_drop, HUMAN_DROP, seed=1)
    assert other.value == first.value and other.ci95 != first.ci95


def test_the_threshold_scan_finds_the_best_one_by_hand() -> None:
    rows = a.threshold_scan(SCORES, HUMAN_DROP, list(range(1, 11)))
    by_t = {r["threshold"]: r for r in rows}
    # t = 7: drops are scores < 7: both drop 7 (2 3 4 5 5 6 6), judge drops/reviewer keeps 3
    # (4 5 6), judge keeps/reviewer drops 1 (7), both keep 9: agreement 16/20 = 0.8;
    # chance 0.5 * 0.4 + 0.5 * 0.6 = 0.5, kappa (0.8 - 0.5) / 0.5 = 0.6
    assert by_t[7]["agreement"] == 0.8 and by_t[7]["kappa"] == pytest.approx(0.6, abs=1e-9)
    assert by_t[7]["judge_drops"] == 10
    assert by_t[6]["agreement"] == 0.75 and by_t[8]["agreement"] == 0.75
    assert by_t[5]["agreement"] == 0.7  # both drop 3, fp 1, fn 5, both keep 11
    # t = 1 keeps everything: agreement 12/20, and kappa 0 (chance = 0.6 = observed)
    assert by_t[1]["judge_drops"] == 0 and by_t[1]["agreement"] == 0.6
    assert by_t[1]["kappa"] == pytest.approx(0.0, abs=1e-12)
    assert a.best_threshold(rows, 6)["threshold"] == 7


def test_ties_go_to_kappa_then_to_the_current_threshold() -> None:
    rows = [{"threshold": 3, "agreement": 0.8, "kappa": None},
            {"threshold": 4, "agreement": 0.8, "kappa": 0.5},
            {"threshold": 8, "agreement": 0.8, "kappa": 0.5},
            {"threshold": 5, "agreement": 0.7, "kappa": 0.9}]
    assert a.best_threshold(rows, 6)["threshold"] == 4
    assert a.best_threshold(rows, 7)["threshold"] == 8


def test_what_cannot_be_computed_is_undefined_with_its_reason() -> None:
    keep_all = np.zeros(12, dtype=bool)
    c = a.confusion(keep_all, keep_all)
    both_keep = a.kappa(keep_all, keep_all)
    assert both_keep.value is None and both_keep.ci95 is None
    assert "kept every one of the 12 records" in both_keep.undefined
    assert a.drop_precision(c).value is None
    assert a.drop_precision(c).undefined == "the judge dropped none of these records"
    assert a.drop_recall(c).value is None
    assert a.drop_recall(c).undefined == "the reviewer dropped none of these records"
    assert a.agreement(c).value == 1.0
    json = a.drop_recall(c).as_json()
    assert json["value"] is None and "ci95" not in json and json["undefined"]


def test_a_judge_that_never_drops_has_kappa_zero_and_says_why() -> None:
    human = np.array([True, False] * 6)
    got = a.kappa(np.zeros(12, dtype=bool), human)
    assert got.value == 0.0 and "judge made the same decision on every record" in got.note


def test_bootstrap_resamples_without_a_kappa_are_left_out_and_counted() -> None:
    # one disagreement among ten: many resamples see only "both keep"
    judge = np.array([True] + [False] * 9)
    human = np.zeros(10, dtype=bool)
    got = a.kappa(judge, human)
    assert got.value == 0.0
    assert re.search(r"\d+ of 2000 resamples had no kappa", got.note), got.note


def test_kappa_reads_in_landis_koch_bands() -> None:
    assert [a.kappa_band(v) for v in (-0.1, 0.0, 0.2, 0.21, 0.6, 0.61, 0.8, 0.81, 1.0)] == [
        "worse than chance", "slight", "slight", "fair", "moderate", "substantial",
        "substantial", "almost perfect", "almost perfect"]
    assert a.kappa_band(None) is None


def test_position_bias_from_both_orders() -> None:
    # (X first, Y first): consistent, flip (A twice), consistent, flip, half-answered
    got = a.position_bias([("A", "B"), ("A", "A"), ("B", "A"), ("A", "A"), (None, "A")])
    assert got["comparisons"] == 5 and got["answered_both_orders"] == 4
    assert got["winner_flips"]["value"] == 0.5  # 2 of 4
    assert got["first_position_wins"]["value"] == 0.75  # A in 6 of 8 verdicts
    assert got["first_position_wins"]["ci95"] == list(a.wilson(6, 8))
    none = a.position_bias([(None, "A")])
    assert none["winner_flips"]["value"] is None and none["winner_flips"]["undefined"]


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError):
        a.confusion([True, False], [True])
    assert math.isclose(a.wilson(5, 10)[0] + a.wilson(5, 10)[1], 1.0)


def test_a_pairs_result_is_built_from_its_stored_verdicts() -> None:
    from datagen.evaluate.pairwise import pair_result

    verdicts = [{"x_first": "A", "y_first": "B"},  # X won both orders
                {"x_first": "A", "y_first": "A"},  # the first shown won twice: a flip
                {"x_first": None, "y_first": "B", "unscored": "http_500"}]
    result = pair_result(verdicts)
    assert result["win_rate"] == 0.75 and result["scored"] == 2 and result["asked"] == 3
    assert result["unscored"] == {"http_500": 1}
    bias = result["position_bias"]
    assert bias["answered_both_orders"] == 2
    assert bias["winner_flips"]["k"] == 1 and bias["winner_flips"]["value"] == 0.5
    assert bias["first_position_wins"]["k"] == 3 and bias["first_position_wins"]["n"] == 4
