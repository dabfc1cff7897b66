"""The lexical faithfulness check on real grounded answers, two dev sets in `bench/data/`
(provenance and labels in `bench/data/GROUNDED.md`):

    python bench/faithfulness.py

- `grounded_devset.jsonl`: 150 questions from HaluEval's QA set, each with its passage, its
  right answer (HotpotQA's gold answer: `supported`) and a hallucinated one (`unsupported`).
  Each answer is scored against its own passage and, as a control, the right answer against
  another question's passage (an answer that has drifted from its source).
- `grounded_embedded.jsonl`: 35 long answers the embedded model wrote from the shipped
  grounded seed's chunks, labelled by reading them against their chunk.

Printed, as Markdown, for several settings of the two knobs (`min_words`, below which an
answer is not judged, and `min_support`): the share of supported answers kept, of
unsupported ones caught, of drifted right answers caught, and of answers too short to judge.

Nothing is asserted: this measures; the default settings come from it.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datagen.checks.faithful import (  # noqa: E402
    MIN_WORDS,
    FaithfulnessConfig,  # noqa: E402
    support,
    unsupported,
)

DATA = Path(__file__).parent / "data" / "grounded_devset.jsonl"
EMBEDDED = Path(__file__).parent / "data" / "grounded_embedded.jsonl"
SETTINGS = [(1, 0.3), (1, 0.5), (1, 0.7), (1, 0.8), (2, 0.5), (3, 0.5), (3, 0.7)]


def verdict(response: str, source: str, question: str, min_words: int,
            min_support: float) -> tuple[bool, bool]:
    """(dropped, judged) as the check decides with these settings (numbers on)."""
    share, numbers = support(response, source, question, min_words=min_words)
    judged = share is not None or bool(numbers)
    return unsupported(share, numbers, min_support), judged


def dropped(rows: list[dict], min_words: int, min_support: float,
            sources: list[str] | None = None) -> list[bool]:
    """The check's verdict per row (against `sources` instead of the rows' own, if given)."""
    shown = sources or [r["source"] for r in rows]
    return [verdict(r["response"], src, r["instruction"], min_words, min_support)[0]
            for r, src in zip(rows, shown, strict=True)]


def label(min_words: int, min_support: float) -> str:
    default = (MIN_WORDS, FaithfulnessConfig().min_support)
    return f"{min_words}{' (default)' if (min_words, min_support) == default else ''}"


def main() -> None:
    rows = [json.loads(line) for line in DATA.open()]
    right = [r for r in rows if r["label"] == "supported"]
    wrong = [r for r in rows if r["label"] == "unsupported"]
    passages = [r["source"] for r in right]
    rng = random.Random(0)
    other = [passages[(i + 1 + rng.randrange(len(passages) - 1)) % len(passages)]
             for i in range(len(right))]
    print(f"{len(right)} supported and {len(wrong)} unsupported answers "
          f"(HaluEval QA); the control shows each right answer another question's passage.\n")
    print("| min_words | min_support | supported kept | unsupported caught | "
          "right answer, wrong passage: caught | too short to judge |")
    print("|---|---|---|---|---|---|")
    for min_words, min_support in SETTINGS:
        kept = [not d for d in dropped(right, min_words, min_support)]
        caught = dropped(wrong, min_words, min_support)
        drift = dropped(right, min_words, min_support, other)
        short = sum(not verdict(r["response"], r["source"], r["instruction"], min_words,
                                min_support)[1] for r in rows)
        print(f"| {label(min_words, min_support)} | {min_support} | "
              f"{sum(kept) / len(kept):.3f} | {sum(caught) / len(caught):.3f} | "
              f"{sum(drift) / len(drift):.3f} | {short / len(rows):.3f} |")
    own = [json.loads(line) for line in EMBEDDED.open()]
    good = [r for r in own if r["label"] == "supported"]
    bad = [r for r in own if r["label"] == "unsupported"]
    print(f"\nThe embedded model's answers to the shipped grounded seed: {len(good)} supported, "
          f"{len(bad)} unsupported (labelled by reading).\n")
    print("| min_words | min_support | supported kept | unsupported caught |")
    print("|---|---|---|---|")
    for min_words, min_support in SETTINGS:
        kept = [not d for d in dropped(good, min_words, min_support)]
        caught = dropped(bad, min_words, min_support)
        print(f"| {label(min_words, min_support)} | {min_support} | {sum(kept)}/{len(kept)} | "
              f"{sum(caught)}/{len(caught)} |")


if __name__ == "__main__":
    main()
