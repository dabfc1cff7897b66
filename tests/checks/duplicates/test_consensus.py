"""`consensus`: among three or more answers to one instruction, the one the others agree with
is kept over a longer odd one out; two answers keep the plain ranking."""

from __future__ import annotations

import numpy as np

from datagen.checks.check import Texts
from datagen.checks.duplicates.consensus import MAX_COMPARED, agreement, groups
from datagen.checks.duplicates.quality import heuristic, in_group
from tests.curate.helpers import reasons, records, run

ASK = "Who created the Superman comic book character?"
AGREE = [
    "Superman was created by writer Jerry Siegel and artist Joe Shuster in 1938.",
    "Jerry Siegel and Joe Shuster created Superman.",
    "The character was created by Jerry Siegel and Joe Shuster, two friends from Cleveland.",
]
ODD = ("The Superman cartoon character was created by two animators, Max Fleischer and his "
       "brother Dave Fleischer, who brought him to the screen in a series of theatrical shorts "
       "for Paramount Pictures. Their studio designed his look, his flight and his costume, "
       "and the shorts made him famous across the country before any comic book did.")


def test_of_four_answers_the_three_that_agree_beat_the_longest_odd_one() -> None:
    df = records(*[{"id": f"s{i}", "instruction": ASK, "response": r}
                   for i, r in enumerate([*AGREE, ODD])])
    plain = heuristic(df, Texts(df))
    assert plain.idxmax() == df.index[3]  # by the plain score, the long odd one would win
    out = run(df)
    assert reasons(out)[3] == "exact_duplicate"
    assert sorted(str(r) for r in reasons(out)[:3]) == ["None", "exact_duplicate",
                                                         "exact_duplicate"]
    kept = out["id"][out["keep"].astype(bool)].tolist()
    assert len(kept) == 1 and kept[0] in {"s0", "s1", "s2"}


def test_two_answers_keep_the_plain_ranking() -> None:
    df = records({"id": "s0", "instruction": ASK, "response": AGREE[0]},
                 {"id": "s1", "instruction": ASK, "response": ODD})
    plain = heuristic(df, Texts(df))
    assert np.array_equal(in_group(plain, Texts(df)), plain.to_numpy())
    out = run(df)
    assert reasons(out) == ["exact_duplicate", None]  # no majority: the fuller answer stays


def test_answers_to_other_instructions_are_no_group() -> None:
    df = records(*[{"instruction": f"{ASK} Answer for reader {i}.", "response": r}
                   for i, r in enumerate([*AGREE, ODD])])
    plain = heuristic(df, Texts(df))
    assert np.array_equal(in_group(plain, Texts(df)), plain.to_numpy())


def test_groups_hold_three_or_more_members() -> None:
    keys = np.array([0, 1, 0, 2, 0, 1, 1, 1, 3, 3, 3])
    members = np.ones(len(keys), dtype=bool)
    members[7] = False  # group 1 keeps three members
    members[10] = False  # group 3 falls to two
    assert [g.tolist() for g in groups(keys, members)] == [[0, 2, 4], [1, 5, 6]]
    assert groups(keys, np.zeros(len(keys), dtype=bool)) == []


def test_agreement_is_bounded_and_compares_at_most_a_fixed_number() -> None:
    agree = agreement([*AGREE, ODD])
    assert agree.shape == (4,) and ((agree >= 0) & (agree <= 1)).all()
    assert agree[3] < agree[:3].min()
    many = agreement(AGREE * 20)  # 60 answers, each compared with the first 16 only
    assert many.shape == (60,) and MAX_COMPARED == 16
    assert np.allclose(many[:3], many[-3:], atol=0.05)


def test_answers_that_differ_by_a_number_keep_the_plain_ranking() -> None:
    df = records(*[{"instruction": ASK, "response": f"{AGREE[0]} Item {i}."}
                   for i in (7, 12, 345)])
    plain = heuristic(df, Texts(df))
    assert np.array_equal(in_group(plain, Texts(df)), plain.to_numpy())


def test_chinese_answers_agree_by_their_characters() -> None:
    # Chinese writes no spaces: compared as whole strings, no two answers share a token and
    # no majority shows; compared by character, the two that say 10 agree, the 13 does not
    ask = "一个直角三角形的两个直角边长度分别是6和8，斜边的长度是多少？"
    answers = ["斜边的长度是10。",
               "根据勾股定理，斜边的长度为√(6^2+8^2)=√174=13。",
               "根据勾股定理，直角三角形的斜边的平方等于另外两条直角边的平方之和。"
               "因此，这个直角三角形的斜边的长度是10。"]
    agree = agreement(answers)
    assert agree[1] < min(agree[0], agree[2])
    df = records(*[{"id": f"z{i}", "instruction": ask, "response": r, "language": "zh"}
                   for i, r in enumerate(answers)])
    out = run(df)
    kept = out["id"][out["keep"].astype(bool)].tolist()
    assert len(kept) == 1 and kept[0] in {"z0", "z2"}
