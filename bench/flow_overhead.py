"""What does Prefect cost? A run of N pairs through the `generate_dataset` flow against the
same stages called as plain functions (`datagen.run.run` with its LocalFanout), both talking
to one loopback OpenAI-compatible server that answers every request after a fixed latency.

Each side runs in its own fresh process (no warm in-process caches carried over), on its own
run folder (no LLM cache hits). The flow side starts Prefect's temporary server and runs one
empty flow before the clock starts: the server's start-up is printed apart, since a deployed
flow talks to a server that is already up. Prints both wall times and the overhead ratio.

    python bench/flow_overhead.py                 # 10,000 pairs, 20 ms latency
    python bench/flow_overhead.py --pairs 1000    # a quick check
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.flows.world import WORDS  # noqa: E402  (the same vocabulary as the flow tests)
from tests.scripted_server import Reply, ScriptedServer  # noqa: E402

_N = re.compile(r"(\d+) new requests")


def handler(latency_s: float):
    """Unique instructions for expansion calls, a plain answer otherwise; all after latency."""

    def reply(body: dict[str, Any], n: int) -> Reply:
        user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        rng = random.Random(f"{n}:{user}")
        m = _N.search(user)
        if m:
            items = [f"Draft a clause for the {' '.join(rng.choices(WORDS, k=12))}."
                     for _ in range(int(m.group(1)))]
            text = "\n".join(f"{k}. {t}" for k, t in enumerate(items, 1))
        else:
            text = (f"Here is the clause you asked for. The {' '.join(rng.choices(WORDS, k=14))} "
                    f"shall remain confidential, and the {' '.join(rng.choices(WORDS, k=14))} "
                    "agree to notify each other in writing.")
        return Reply(text, delay_s=latency_s)

    return reply


def config_data(base_url: str, out: str, pairs: int, concurrency: int) -> dict[str, Any]:
    return {"seeds": [str(REPO / "seeds" / "legal" / "nda_clauses.yaml")], "out": out,
            "pairs": pairs, "generation": {"max_calls_per_seed": pairs},
            "llm": {"base_url": base_url, "model": "test-model", "max_retries": 0,
                    "max_concurrency": concurrency}}


def child(mode: str, config_json: str) -> None:
    """One measured side, in this (fresh) process; prints a JSON line."""
    from datagen.config import RunConfig

    config = RunConfig.model_validate_json(config_json)
    server_s = 0.0
    if mode == "flow":
        from prefect import flow

        from flows.generate_dataset import generate_dataset

        @flow
        async def warm() -> None:
            return None

        t = time.perf_counter()
        asyncio.run(warm())
        server_s = time.perf_counter() - t
        t = time.perf_counter()
        state = asyncio.run(generate_dataset(config, return_state=True))
        summary = state.result(raise_on_failure=False)
        summary = getattr(summary, "summary", summary)  # a Failed run carries it on its error
        counts = summary["result"].counts
    else:
        from datagen.run import run

        t = time.perf_counter()
        counts = asyncio.run(run(config)).counts
    print(json.dumps({"wall_s": time.perf_counter() - t, "server_s": server_s,
                      "kept": counts["kept"], "generated": counts["generated"]}))


def measure(mode: str, config: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, json.dumps(config)],
                          env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{mode} side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=32, help="llm.max_concurrency")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    tmp = Path(tempfile.mkdtemp(prefix="datagen-bench-"))
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    with ScriptedServer(handler(args.latency_ms / 1000)) as server:
        results = {}
        for mode in ("plain", "flow"):
            cfg = config_data(server.base_url, str(tmp / mode), args.pairs, args.concurrency)
            results[mode] = measure(mode, cfg, env)
            print(f"{mode:>5}: {results[mode]['wall_s']:7.1f} s wall, "
                  f"{results[mode]['kept']} kept of {results[mode]['generated']} generated",
                  flush=True)
        calls = len(server.requests)
    plain, flow = results["plain"]["wall_s"], results["flow"]["wall_s"]
    print(f"LLM requests, both sides: {calls} at {args.latency_ms:.0f} ms each")
    print(f"Prefect temporary server start-up (not counted): {results['flow']['server_s']:.1f} s")
    print(f"flow overhead: {flow - plain:+.1f} s = {100 * (flow - plain) / plain:+.1f}% "
          f"of the plain run (ratio flow/plain {flow / plain:.3f}; target < 10%)")


if __name__ == "__main__":
    main()
