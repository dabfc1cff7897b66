"""The split stage in one process and on a Dask LocalCluster, side by side in one run.

    python bench/split_cluster.py 200000                 # worded corpus, 2 workers
    python bench/split_cluster.py 200000 --corpus build  # the templated bench corpus
    python bench/split_cluster.py 200000 --workers 4

`datagen.run.stages.split_stage` runs here (one process: the grouping's and the leakage
check's near pairs in memory), then as a task on a worker of an N-worker LocalCluster, where
it finds them on the cluster (`datagen.export.split_cluster`). Printed: both wall times,
their ratio, this process's peak memory in each, the workers' peaks, and whether the labels
and the split check are identical. `worded` (`bench/corpus.py`: dev-set words, planted
copies) is sparse in near pairs, as real seeds are; `build` (templated legal instructions) is
dense in them, the split's hardest case. Numbers are from one run on this machine; nothing
is asserted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import build, worded  # noqa: E402
from datagen.config import RunConfig  # noqa: E402
from datagen.records import new_records  # noqa: E402
from datagen.run.plan import plan_run  # noqa: E402
from datagen.run.stages import split_stage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from distributed import Client, LocalCluster

    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=200_000)
    ap.add_argument("--corpus", choices=("worded", "build"), default="worded")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="3GB")
    args = ap.parse_args()
    # the workers start first: a process's peak rss carries over into the processes it
    # starts, so started later they would report this one's peak as theirs
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      memory_limit=args.memory_limit, dashboard_address=None,
                      env={"PYTHONPATH": str(ROOT)}) as cluster, Client(cluster) as client, \
            tempfile.TemporaryDirectory() as tmp:
        frame = (worded if args.corpus == "worded" else build)(args.n).frame
        frame["seed_id"] = np.where(np.arange(args.n) % 2, "lease", "nda")
        records = new_records(frame.assign(domain="legal").to_dict(orient="records")) \
            .sample(frac=1.0, random_state=0)
        plan = plan_run(RunConfig(seeds=[str(ROOT / "seeds" / "legal" / "nda_clauses.yaml")],
                                  out=str(Path(tmp) / "run")))
        before = peak_mb()
        t = time.perf_counter()
        labels, info = split_stage(plan, records, None)
        one = time.perf_counter() - t
        one_peak = peak_mb()
        data = client.scatter(records)
        t = time.perf_counter()
        spread, spread_info = client.submit(split_stage, plan, data, None).result()
        on_cluster = time.perf_counter() - t
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    leak = info["leakage"]
    print(f"{args.n:,} records ({args.corpus}); leakage check: {leak['near_pairs_checked']:,} "
          f"pairs found, passed {leak['passed']}")
    print(f"one process: {one:.1f} s (peak rss {before:.0f} -> {one_peak:.0f} MB)")
    print(f"{args.workers} workers: {on_cluster:.1f} s (the stage is a task on one of them, "
          f"which holds the records; worker peak rss "
          + ", ".join(f"{v:.0f} MB" for v in peaks.values()) + ")")
    print(f"cluster / one process: {on_cluster / one:.2f}x; labels identical: "
          f"{spread.equals(labels)}; split check identical: {spread_info == info}")


if __name__ == "__main__":
    main()
