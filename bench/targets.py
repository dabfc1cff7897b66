"""Targets at the size teams ask for: what a large run keeps, how it stops, and the split
shares it realises, before and after, against a loopback OpenAI-compatible server whose
answers vary.

The server behaves like a model asked the same prompt many times: plain expansion draws from
a finite repertoire of templated requests ("Draft a strict confidentiality clause for a
supplier agreement that covers source code."), so a large run exhausts it: duplicates grow
round after round, and templated requests chain into big near-duplicate groups at the
split's threshold. Prompts conditioned on a topic or a persona (and evolution) bring requests
of their own, so `on_saturation: diversify` has something to switch to.

Two runs side by side on the library path (no Prefect), same server, same target:

- before: the defaults this project had (`max_calls_per_seed: 200`, saturation reported
  nowhere: `on_saturation: continue`) and the greedy split fill;
- after: the defaults now (`auto` attempt limit, `diversify`) and the closest-subset split.

Each prints kept pairs, the stop reason, calls and the attempt limit, the duplicate share
per round, and the realised split shares with the share check's warning.

    python bench/targets.py                  # 10,000 pairs
    python bench/targets.py --pairs 2000     # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


from datagen.config import RunConfig  # noqa: E402
from datagen.export import split as split_module  # noqa: E402
from datagen.run import run  # noqa: E402
from tests.flows.world import WORDS  # noqa: E402
from tests.scripted_server import Reply, ScriptedServer  # noqa: E402

_N = re.compile(r"(?:Write|List|Describe) (\d+) ")


ADJ = ("strict", "mutual", "one-way", "broad", "narrow", "standard", "short", "detailed")
PARTY = ("supplier", "employee", "investor", "reseller", "contractor", "partner", "customer",
         "consultant", "licensee", "distributor")
TOPIC = ("source code", "customer lists", "pricing", "trade secrets", "personal data",
         "product plans", "financial results", "security reports", "research data",
         "supplier terms", "board minutes", "merger talks")
_SUBJECT = re.compile(r"(?:narrow subject|as this person): (.+?)(?:\(|\n|$)")


def templated(rng: random.Random) -> str:
    return (f"Draft a {rng.choice(ADJ)} confidentiality clause for a {rng.choice(PARTY)} "
            f"agreement that covers {rng.choice(TOPIC)}.")


def handler(body: dict[str, Any], n: int) -> Reply:
    user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    rng = random.Random(f"{n}:{user}")
    words = lambda k: " ".join(rng.sample(WORDS, k))  # noqa: E731
    m = _N.search(user)
    if "Write a new version of it" in user:
        return Reply(f"Rewrite the clause so that the {words(10)} are covered too.")
    if not m:
        return Reply(f"Here is the clause you asked for. The {words(14)} shall remain "
                     f"confidential, and the {words(14)} agree to notify each other in writing.")
    k = int(m.group(1))
    if "narrower subtopics" in user or "different people" in user:
        items = [words(4) for _ in range(k)]
    elif subject := _SUBJECT.search(user):
        about = subject.group(1).strip()[:60]
        items = [f"For {about}: explain how the {words(8)} should be handled." for _ in range(k)]
    else:
        items = [templated(rng) for _ in range(k)]
    return Reply("\n".join(f"{i}. {t}" for i, t in enumerate(items, 1)))


def one_run(server: ScriptedServer, pairs: int, before: bool) -> None:
    out = Path(tempfile.mkdtemp(prefix="datagen-bench-targets-")) / "run"
    generation = ({"max_calls_per_seed": 200, "on_saturation": "continue"} if before
                  else {"max_calls_per_seed": "auto", "on_saturation": "diversify"})
    config = RunConfig.model_validate({
        "seeds": [str(REPO / "seeds" / "legal" / "nda_clauses.yaml")], "out": str(out),
        "pairs": pairs, "generation": generation, "curation": {"judge": {"enabled": "off"}},
        "llm": {"base_url": server.base_url, "model": "test-model", "max_retries": 0,
                "max_concurrency": 64}})
    split_module.DP_CELLS = 0 if before else DP_CELLS  # before: the greedy fill
    started = time.perf_counter()
    result = asyncio.run(run(config))
    seconds = time.perf_counter() - started
    gen = result.manifest["generation"]["legal-nda-clauses"]
    name = "before" if before else "after"
    print(f"[{name}] {pairs:,} pairs asked: kept {gen['kept']:,} in {seconds:.0f} s; stop "
          f"{gen['stop']}; {gen['calls']:,} expansion calls, attempt limit "
          f"{gen['call_limit']:,}; outcome {result.outcome().name}")
    print(f"[{name}] duplicate share per round: " + ", ".join(
        f"{r['duplicate_share']:.2f} of {r['made']:,}" for r in gen["by_round"]) +
        f"; diversified: {gen['diversified']}")
    info = result.manifest["split"]
    ratios = info["ratios"]["all"]
    print(f"[{name}] split: train {ratios['train']:,}, validation {ratios['validation']:,} "
          f"(share {ratios['validation_share']:.3f}, asked {config.split.validation}); "
          f"leakage check passed: {info['leakage']['passed']}")
    if info.get("warning"):
        print(f"[{name}]   warning: {info['warning']}")
    sizes = [g["size"] for m in (info.get("shares") or {}).get("misses", [])
             for g in m["largest_groups"]]
    if sizes:
        print(f"[{name}]   largest groups: {sizes}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=10_000)
    args = ap.parse_args()
    with ScriptedServer(handler) as server:
        for before in (True, False):
            one_run(server, args.pairs, before)


DP_CELLS = split_module.DP_CELLS

if __name__ == "__main__":
    main()
