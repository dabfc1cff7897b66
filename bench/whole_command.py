"""The whole `datagen curate RUN` command at size: curation, split, exports, report.

    python bench/whole_command.py 100000              # one size
    python bench/whole_command.py 100000 1000000      # both, then the ratio, in one run
    python bench/whole_command.py 100000 --keep DIR   # keep the run folders in DIR

For each size, a run folder is made as `datagen run` leaves it (the bench corpus of
`bench/corpus.py` as its records: originals, planted exact and near copies, foreign lines),
then `datagen curate RUN` runs in a child process with the default config. Printed per size:
the whole command's wall time and peak memory (the command's process and its workers,
sampled), each stage's time from the manifest (`timings_s`: curate, split, and the export's
parts), the quality of the curation, and the size of `report.html`. Quality, in two measures:

- `near_pair_recall`: dedup's recall against all pairs at its own ratio
  (`dedup.near_threshold`, 90): every pair of a random sample of `--sample` records (among
  those no other check dropped) is scored with rapidfuzz, and a pair is caught unless both of
  its records are kept. This is the near-duplicate recall the issue's goal (>= 0.95) means.
- `planted_near_caught` / `planted_exact_caught`: the share of the corpus's planted copies
  dropped as duplicates. Some planted near copies score under ratio 90 by design (a few
  word edits in a short text), so this share is not a recall at dedup's ratio.

`distinct_lost` is the share of distinct texts of which neither the text nor any copy is
kept. The split's candidate recall is measured by
`bench/split_recall.py`. Numbers are from one run on this machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.curation import in_use, write_corpus  # noqa: E402

SEED = Path(__file__).resolve().parents[1] / "seeds" / "legal" / "nda_clauses.yaml"


def make_run(n: int, root: Path) -> None:
    """A finished run folder whose records are the bench corpus of `n` records (one seed)."""
    from datagen.config import RunConfig
    from datagen.records import new_records
    from datagen.run import finish
    from datagen.run.fanout import LocalFanout
    from datagen.run.plan import plan_run

    plan = plan_run(RunConfig(seeds=[str(SEED)], out=str(root), pairs=n))
    sid = plan.seeds[0].id
    tiny = new_records([{"seed_id": sid, "instruction": f"Explain clause {i} of an NDA.",
                         "response": "A clause answered at length for the bench. " * 3}
                        for i in range(3)])
    asyncio.run(finish(plan, LocalFanout(), tiny, None, {"kind": "local", "model": "m"}, {},
                       {}, {}))
    target = (root / "records.parquet").resolve()
    write_corpus(n, str(target))
    frame = pd.read_parquet(target)
    frame["seed_id"], frame["run_id"] = sid, plan.run_id
    frame.to_parquet(target, index=False, row_group_size=100_000)
    Path(str(target) + ".npz").rename(root / "truth.npz")


def run_command(root: Path) -> tuple[float, float, int, str]:
    """`datagen curate root` in a child process: seconds, peak MB (it and its workers), exit
    code and output tail."""
    cmd = [sys.executable, "-m", "datagen.cli", "curate", str(root)]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc, peak, done = psutil.Process(child.pid), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            try:
                peak[0] = max(peak[0], in_use(proc))
            except psutil.Error:
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = child.communicate()
    seconds = time.perf_counter() - started
    done.set()
    thread.join()
    return seconds, peak[0] / 2**20, child.returncode, out[-2000:]


def quality(root: Path, sample: int) -> dict[str, float]:
    """Near-duplicate recall (dedup against all pairs at its own ratio, on a sample), the
    shares of planted copies caught, and the share of distinct texts lost."""
    from datagen.config import CurationConfig
    from datagen.similarity.pairs import prepared_pairs
    from datagen.text import token_sort

    truth = np.load(root / "truth.npz")
    kind, origin = truth["kind"], truth["origin"]
    rec = pd.read_parquet(root / "records.parquet",
                          columns=["id", "instruction", "drop_reason", "keep"])
    rec = rec.sort_values("id").reset_index(drop=True)  # ids are r0000000.. in corpus order
    dup = rec["drop_reason"].isin(["near_duplicate", "exact_duplicate"]).to_numpy()
    keep = rec["keep"].to_numpy(bool)
    originals = np.flatnonzero(kind == "original")
    # a distinct text is lost when neither it nor any of its planted copies is kept
    alive = np.zeros(len(kind), dtype=bool)
    np.logical_or.at(alive, origin, keep)
    # every pair of a random sample at dedup's ratio (exhaustive rapidfuzz), among records
    # that only dedup could drop: a pair is caught unless both of its records are kept
    ratio = CurationConfig().dedup.near_threshold
    rows = np.sort(np.random.default_rng(1).choice(len(rec), min(sample, len(rec)),
                                                   replace=False))
    open_ = (rec["drop_reason"].isna() | dup).to_numpy()[rows]
    rows = rows[open_]
    pairs = prepared_pairs([token_sort(t) for t in rec["instruction"].to_numpy()[rows]], ratio,
                           method="allpairs")
    both_kept = keep[rows[pairs[:, 0]]] & keep[rows[pairs[:, 1]]]
    return {"near_pair_recall": float(1 - both_kept.mean()) if len(pairs) else float("nan"),
            "near_pairs_sampled": len(pairs),
            "planted_near_caught": float(dup[kind == "near"].mean()),
            "planted_exact_caught": float(dup[kind == "exact"].mean()),
            "distinct_lost": float((~alive[originals]).mean())}


def one(n: int, folder: Path, sample: int) -> dict[str, object]:
    root = folder / f"run-{n}"
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--make", str(n), str(root)], check=True)
    made = time.perf_counter() - t
    seconds, peak, code, tail = run_command(root)
    if code != 0:
        print(tail)
    manifest = json.loads((root / "manifest.json").read_text())
    report = (root / "report.html").stat().st_size / 2**20
    row = {"n": n, "made_s": made, "seconds": seconds, "peak_mb": peak, "exit": code,
           "timings": manifest.get("timings_s", {}), "report_mb": report,
           "leakage": {k: v for k, v in manifest["split"]["leakage"].items()
                       if k != "examples"}, **quality(root, sample)}
    print(json.dumps(row, indent=1))
    return row


def table(rows: list[dict[str, object]]) -> None:
    stages = sorted({k for r in rows for k in r["timings"]} - {"endpoint", "generate"})
    head = "| stage | " + " | ".join(f"{r['n']:,}" for r in rows)
    ratio = len(rows) > 1
    print(head + (" | ratio |" if ratio else " |"))
    print("|---" * (len(rows) + 1 + ratio) + "|")

    def line(name: str, vals: list[float], fmt: str = "{:.1f}") -> None:
        cells = " | ".join(fmt.format(v) for v in vals)
        extra = f" | {vals[-1] / vals[0]:.1f}x" if ratio and vals[0] else (" | " if ratio else "")
        print(f"| {name} | {cells}{extra} |")

    for s in stages:
        line(f"{s} (s)", [float(r["timings"].get(s, 0.0)) for r in rows])
    line("whole command (s)", [float(r["seconds"]) for r in rows])
    line("peak memory (MB)", [float(r["peak_mb"]) for r in rows], "{:.0f}")
    line("report.html (MB)", [float(r["report_mb"]) for r in rows])
    line("near pairs in the sample", [float(r["near_pairs_sampled"]) for r in rows], "{:.0f}")
    for key in ("near_pair_recall", "planted_near_caught", "planted_exact_caught",
                "distinct_lost"):
        line(key, [float(r[key]) for r in rows], "{:.4f}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--make":
        make_run(int(sys.argv[2]), Path(sys.argv[3]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="*", default=[100_000])
    ap.add_argument("--keep", help="make the run folders here and keep them")
    ap.add_argument("--sample", type=int, default=8_000,
                    help="records scored pair by pair for the near-duplicate recall")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        table([one(n, folder, args.sample) for n in args.n])


if __name__ == "__main__":
    main()
