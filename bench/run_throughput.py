"""End-to-end request rate: a whole run against what the LLM client alone does.

One loopback OpenAI-compatible server with a fixed latency and varied answers (distinct
instructions for expansion calls, a distinct answer to each instruction: the handler of
`bench/flow_overhead.py`) serves, in one bench run and in fresh processes:
- client: `LLMClient` (cache, gate, cost on) sending `--requests` distinct answer requests at
  `llm.max_concurrency`: the most requests/s a run could reach; measured before and after the
  run, as the shared machine's pace drifts, and the two pooled;
- run: `datagen.run.run` of the legal seed with `--pairs` (plain library path, no Prefect), at
  the same concurrency: its generate stage's requests/s (expand, respond, judge, curation
  between them).
Prints both rates and their ratio (target: >= 0.8).

    python bench/run_throughput.py                    # 10,000 pairs, 50 ms, concurrency 64
    python bench/run_throughput.py --pairs 1000       # a quick check
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from flow_overhead import config_data, handler  # noqa: E402

from tests.scripted_server import ScriptedServer  # noqa: E402


def client_side(base_url: str, out: str, n: int, concurrency: int) -> dict[str, Any]:
    """The client alone: n distinct respond-like requests through `LLMClient`."""
    from datagen.llm.cache import ResponseCache
    from datagen.llm.client import LLMClient
    from datagen.llm.endpoint import Endpoint

    endpoint = Endpoint(base_url=base_url, model="test-model", kind="local",
                        identity="bench:run-throughput")
    client = LLMClient(endpoint, ResponseCache(Path(out) / "cache.sqlite"),
                       max_concurrency=concurrency, max_retries=0)
    system = "You are an expert drafter of confidentiality clauses. Answer in plain English."

    async def many() -> float:
        started = time.perf_counter()
        try:
            await asyncio.gather(*(client.chat(
                [{"role": "system", "content": system},
                 {"role": "user", "content": f"Draft a clause about obligation {i} of the "
                                             "receiving party."}],
                params={"temperature": 0.7, "max_tokens": 512}) for i in range(n)))
        finally:
            await client.aclose()
        return time.perf_counter() - started

    seconds = asyncio.run(many())
    return {"requests": client.usage.requests, "seconds": seconds}


def run_side(config_json: str) -> dict[str, Any]:
    """A whole run on the plain library path: its generate stage."""
    from datagen.config import RunConfig
    from datagen.run import run

    result = asyncio.run(run(RunConfig.model_validate_json(config_json)))
    llm = result.manifest.get("llm", {})
    return {"requests": int(llm.get("requests", 0)),
            "seconds": float(result.manifest["timings_s"]["generate"]),
            "kept": result.counts["kept"]}


def child(args: list[str]) -> None:
    kind, *rest = args
    if kind == "client":
        out = client_side(rest[0], rest[1], int(rest[2]), int(rest[3]))
    else:
        out = run_side(rest[0])
    print(json.dumps(out))


def measure(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{args[0]} side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=3000, help="requests of the client side")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=64, help="llm.max_concurrency")
    ap.add_argument("--language-engine", default=None,
                    help="curation.language.engine of the run (default: the config's)")
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    tmp = Path(tempfile.mkdtemp(prefix="datagen-bench-"))
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"}
    with ScriptedServer(handler(args.latency_ms / 1000)) as server:
        def client_alone(label: str) -> dict[str, Any]:
            return measure(["client", server.base_url, str(tmp / f"client-{label}"),
                            str(args.requests), str(args.concurrency)], env)

        before = client_alone("before")
        cfg = config_data(server.base_url, str(tmp / "run"), args.pairs, args.concurrency)
        if args.language_engine:
            cfg["curation"] = {"language": {"engine": args.language_engine}}
        whole = measure(["run", json.dumps(cfg)], env)
        after = client_alone("after")  # the machine's pace can drift: the run sits between
    alone = {"requests": before["requests"] + after["requests"],
             "seconds": before["seconds"] + after["seconds"]}
    a = alone["requests"] / alone["seconds"]
    w = whole["requests"] / whole["seconds"]
    ideal = args.concurrency * 1000 / args.latency_ms
    print(f"loopback server, {args.latency_ms:.0f} ms per request, varied answers; "
          f"llm.max_concurrency {args.concurrency} (ideal {ideal:,.0f} req/s); "
          f"{os.cpu_count()} CPUs")
    print(f"client alone, before and after the run: {alone['requests']} requests in "
          f"{alone['seconds']:.1f} s = {a:,.0f} req/s "
          f"({before['requests'] / before['seconds']:,.0f} and "
          f"{after['requests'] / after['seconds']:,.0f})")
    print(f"run, --pairs {args.pairs}: {whole['requests']} requests in a generate stage of "
          f"{whole['seconds']:.1f} s = {w:,.0f} req/s ({whole['kept']} kept; language "
          f"engine {args.language_engine or 'default'})")
    print(f"end to end / client alone: {w / a:.2f}x (target >= 0.8); "
          f"of the ideal: {w / ideal:.0%}")


if __name__ == "__main__":
    main()
