"""Recall of the split's near-duplicate machinery against all pairs, on a sample.

    python bench/split_recall.py 100000            # corpus size; --sample 5000 to change

The split groups kept instructions that are near-duplicates at ratio 80 and then checks that
no such pair crosses a split (`datagen.export.split`). Above `ALLPAIRS_MAX` texts both find
their pairs with MinHash LSH (`grouping_pairs`), so both can miss pairs. On the bench corpus
(`bench/corpus.py`, templated legal instructions: dense in ratio-80 pairs), this prints, for a
random sample of the corpus scored exhaustively with rapidfuzz (the truth):

- what each draw costs: candidates proposed, candidates scored (only those whose texts are
  still in different groups), and the pairs that joined groups;
- group recall: the share of true pairs whose two texts end in one group (what keeps them on
  one side of the split: a pair is joined through others too);
- check recall: the share of true pairs whose texts end in one group once the leakage
  check's draw (`CHECK_SEEDS`, over pairs across the grouping's groups) has joined the
  groups it links, as the run's split stage does; a pair outside it can leak unseen.

Numbers are from one run on this machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import build  # noqa: E402
from datagen.export.split import CHECK_SEEDS, GROUP_THRESHOLD, GROUPING_SEEDS  # noqa: E402
from datagen.similarity.grouping import grouping_pairs  # noqa: E402
from datagen.similarity.pairs import _allpairs, components  # noqa: E402
from datagen.text import token_sort  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=100_000)
    ap.add_argument("--sample", type=int, default=5_000)
    args = ap.parse_args()
    texts = build(args.n).frame["instruction"].tolist()
    sample = np.array(sorted(random.Random(1).sample(range(args.n), args.sample)))
    t = time.perf_counter()
    truth = _allpairs([token_sort(texts[i]) for i in sample], GROUP_THRESHOLD)
    truth = sample[truth]
    brute = time.perf_counter() - t
    print(f"{args.n:,} texts; all pairs of a {args.sample:,} sample at ratio "
          f"{GROUP_THRESHOLD:g}: {len(truth):,} pairs in {brute:.1f} s (all {args.n:,}: "
          f"~{brute * (args.n / args.sample) ** 2 / 3600:.1f} h)")
    t = time.perf_counter()
    grouping, how = grouping_pairs(texts, GROUP_THRESHOLD, seeds=GROUPING_SEEDS)
    roots = components(args.n, grouping)
    print(f"grouping: hash seeds {GROUPING_SEEDS} ({how['method']}, {how.get('bands')}x"
          f"{how.get('rows')}): {how.get('candidates', 0):,} candidates, "
          f"{how.get('scored', 0):,} scored, {len(grouping):,} joining pairs in "
          f"{time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    check, how = grouping_pairs(texts, GROUP_THRESHOLD, seeds=CHECK_SEEDS, known=roots)
    print(f"check: hash seeds {CHECK_SEEDS}, across the grouping's groups: "
          f"{how.get('candidates', 0):,} candidates, {how.get('scored', 0):,} scored, "
          f"{len(check):,} joining pairs in {time.perf_counter() - t:.1f} s")
    joined = roots[truth[:, 0]] == roots[truth[:, 1]]
    final = components(args.n, np.concatenate([grouping, check]))
    either = final[truth[:, 0]] == final[truth[:, 1]]
    print(f"group recall (the pair's texts in one group): {joined.mean():.4f}")
    missed = int((~either).sum())
    bound = 1 - (3 if not missed else missed + 3 * missed ** 0.5) / len(truth)
    print(f"check recall (in one group once the check's pairs join theirs: the pairs a run's "
          f"split keeps together): {either.mean():.4f}; pairs left apart: {missed} of "
          f"{len(truth):,} (recall >= {bound:.3f} at ~95%)")


if __name__ == "__main__":
    main()
