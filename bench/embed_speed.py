"""How fast the semantic check embeds instructions on CPU, per setting, side by side in one run.

    python bench/embed_speed.py [N]

Embeds what the check embeds for N records of the bench corpus (bench/corpus.py: each
instruction with its answer's opening, `semantic.meaning_texts`) with
`datagen.similarity.embed.encode` at float32 (the earlier setting) and bfloat16 (chosen where the
CPU multiplies bf16 natively: AMX or AVX-512 BF16), at batch sizes 32/128/256 and 1 or all
torch threads, and prints texts/s, the ratio to float32 at batch 128 on all threads, and how
far each setting's vectors are from float32's (lowest cosine). Settings run interleaved, best
of two rounds, so a busy machine slows them alike; on a shared machine one thread can beat two.
A static model distilled from the same transformer (bench/static_model.py; model2vec) runs in
the same rounds, with its distillation time when it was not cached yet.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench import static_model  # noqa: E402
from bench.corpus import build  # noqa: E402
from datagen.checks.duplicates.semantic import meaning_texts  # noqa: E402
from datagen.similarity import embed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, nargs="?", default=1000)
    args = ap.parse_args()
    frame = build(args.n * 2, seed=1).frame.drop_duplicates("instruction").iloc[:args.n]
    texts = meaning_texts(frame["instruction"].tolist(), frame["response"].tolist())
    cores = len(os.sched_getaffinity(0))
    print(f"{len(texts)} texts, {np.mean([len(t) for t in texts]):.0f} characters on "
          f"average; {cores} cores; native bf16: {embed.native_bf16()}")
    settings = [(dtype, batch, threads) for threads in sorted({1, cores})
                for dtype in ("float32", "bfloat16") for batch in (32, 128, 256)]
    for dtype in ("float32", "bfloat16"):
        embed.encode(texts[:64], dtype=dtype)  # load both models first
    static, distilled = None, 0.0
    if static_model.missing():
        print(f"static model: not measured ({', '.join(static_model.missing())} not installed)")
    else:
        static, distilled = static_model.load()
        static_model.encode(static, texts[:64])
    best: dict[tuple[str, int, int], float] = {}
    vectors: dict[tuple[str, int, int], np.ndarray] = {}
    for _ in range(2):
        for key in settings:
            dtype, batch, threads = key
            t = time.perf_counter()
            vectors[key] = embed.encode(texts, dtype=dtype, batch=batch, threads=threads)
            best[key] = max(best.get(key, 0.0), len(texts) / (time.perf_counter() - t))
        if static is not None:
            t = time.perf_counter()
            static_model.encode(static, texts)
            best["static"] = max(best.get("static", 0.0), len(texts) / (time.perf_counter() - t))
    ref_key = ("float32", 128, cores)
    print(f"\n{'dtype':<10}{'batch':>6}{'threads':>8}{'texts/s':>10}{'ratio':>8}"
          f"{'min cos vs float32':>20}")
    for key in settings:
        low = float((vectors[key] * vectors[("float32", 128, cores)]).sum(1).min())
        print(f"{key[0]:<10}{key[1]:>6}{key[2]:>8}{best[key]:>10.0f}"
              f"{best[key] / best[ref_key]:>7.2f}x{low:>20.5f}")
    if static is not None:
        fastest = max(settings, key=best.__getitem__)
        made = f"distilled in {distilled:.0f} s" if distilled else "cached"
        print(f"\n{static_model.DEFAULT.describe()} ({made}): {best['static']:.0f} texts/s = "
              f"{best['static'] / best[ref_key]:.0f}x float32 batch 128 on {cores} threads, "
              f"{best['static'] / best[fastest]:.0f}x the fastest setting above "
              f"({fastest[0]}, batch {fastest[1]}, {fastest[2]} threads)")


if __name__ == "__main__":
    main()
