"""Compare generation strategies on the same seed: diversity and yield, one run each.

    python bench/diversity.py seeds/legal/nda_clauses.yaml --pairs 6 \
        --strategies bootstrap topics evolve [--base-url URL --model NAME] [--out DIR]
        [--rng-seed N]

Each strategy gets its own run (the real Prefect flow, the embedded model unless an endpoint
is given) on a copy of the seed with only that strategy on, and the same sampling budget.
Prints one markdown table of the manifest's `diversity` and `generation` numbers: `kept`
metrics are over kept answered instructions, `raw` over every parsed instruction (before
curation; with a weak model, few pairs survive curation, so `raw` shows the strategy itself).
Reruns are free: every answer is in each run folder's response cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SETTINGS = {"bootstrap": {}, "topics": {"depth": 2, "degree": 3}, "personas": {"generate": 4},
            "evolve": {"rounds": 2}, "plain": {}}


def _env() -> None:
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="datagen-bench-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if os.environ.get("PREFECT_API_URL") == "":
        del os.environ["PREFECT_API_URL"]


def run_one(seed_file: Path, strategy: str, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    from datagen.config import RunConfig
    from flows.generate_dataset import generate_dataset

    seed = yaml.safe_load(seed_file.read_text())
    seed["strategies"] = {strategy: SETTINGS[strategy]}
    seed["id"] = f"{seed['id']}-{strategy}"
    path = out / f"{strategy}.yaml"
    path.write_text(yaml.safe_dump(seed, sort_keys=False))
    llm: dict[str, Any] = {"max_concurrency": args.concurrency}
    if args.base_url:
        llm.update(base_url=args.base_url, model=args.model)
    config = RunConfig.model_validate({
        "seeds": [str(path)], "out": str(out / strategy), "pairs": args.pairs,
        "seed": args.rng_seed, "llm": llm,
        "generation": {"max_rounds": args.rounds, "respond_max_tokens": args.respond_tokens,
                       "overgenerate": args.overgenerate},
    })
    started = time.perf_counter()
    asyncio.run(generate_dataset(config))
    manifest = json.loads((out / strategy / "manifest.json").read_text())
    return {"seconds": round(time.perf_counter() - started, 1), "seed_id": seed["id"],
            **{k: manifest[k] for k in ("generation", "diversity", "llm")}}


def _f(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) \
        else str(value)


def table(results: dict[str, dict[str, Any]]) -> str:
    head = ["strategy", "calls", "generated", "kept", "yield", "distinct-1", "distinct-2",
            "distinct-3", "sim mean", "sim p95", "near-dup share", "first-words distinct",
            "first-words entropy", "topic coverage", "raw n", "raw distinct-2", "raw sim mean",
            "raw first-words", "LLM requests", "s"]
    rows = []
    for name, r in results.items():
        g = r["generation"][r["seed_id"]]
        d = r["diversity"]["per_seed"][r["seed_id"]]
        cov = d.get("topic_coverage")
        generated = sum(s["generated"] for s in g["by_strategy"].values())
        rows.append([name, g["calls"], generated, g["kept"], _f(g["yield"]),
                     _f(d["distinct_1"]), _f(d["distinct_2"]), _f(d["distinct_3"]),
                     _f(d["pairwise_similarity"]["mean"], 1),
                     _f(d["pairwise_similarity"]["p95"], 1), _f(d["near_dup_drop_share"]),
                     _f(d["first_words"]["distinct_share"]), _f(d["first_words"]["entropy_bits"]),
                     f"{cov['covered']}/{cov['leaves']}" if cov else "-",
                     d["raw"]["instructions"], _f(d["raw"]["distinct_2"]),
                     _f(d["raw"]["pairwise_mean"], 1), _f(d["raw"]["first_words_distinct_share"]),
                     f"{r['llm']['requests']} (+{r['llm']['cache_hits']} cached)", r["seconds"]])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seed", type=Path)
    ap.add_argument("--strategies", nargs="+", default=["bootstrap", "topics", "evolve"],
                    choices=sorted(SETTINGS))
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--overgenerate", type=float, default=2.5,
                    help="instructions asked per pair wanted (a weak model needs more)")
    ap.add_argument("--respond-tokens", type=int, default=256)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--rng-seed", type=int, default=0)
    ap.add_argument("--base-url")
    ap.add_argument("--model")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    _env()
    out = args.out or Path(tempfile.mkdtemp(prefix="datagen-bench-diversity-"))
    out.mkdir(parents=True, exist_ok=True)
    results = {s: run_one(args.seed, s, out, args) for s in args.strategies}
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    print(f"\nseed {args.seed}, {args.pairs} pairs per strategy, run folders in {out}\n")
    print(table(results))


if __name__ == "__main__":
    main()
