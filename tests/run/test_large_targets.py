"""Targets that do what was asked, through the scripted server: a large target is not cut by
a default call limit, a seed that saturates is named as such (and diversified when allowed),
and a split whose groups make the asked share impossible says so, in the CLI and the report.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path
from typing import Any

from datagen.config import RunConfig
from datagen.run import run
from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.flows.world import WORDS, verdict
from tests.scripted_server import Reply, ScriptedServer

_N = re.compile(r"(?:Write|List|Describe) (\d+) ")
ANSWER = ("Here is the clause you asked for. Each party shall keep the other party's "
          "confidential information secret, use it only for the purpose of this agreement, "
          "and notify the other party in writing of any breach without delay.")


def _user(body: dict[str, Any]) -> str:
    return next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")


def _distinct(rng: random.Random, n: int) -> list[str]:
    """Instructions that are all different (words from a 120-word vocabulary)."""
    return [f"Draft a clause on the {' '.join(rng.sample(WORDS, 9))} for case "
            f"{rng.randrange(10**9)}." for _ in range(n)]


def _numbered(items: list[str]) -> Reply:
    return Reply("\n".join(f"{k}. {t}" for k, t in enumerate(items, 1)))


def _judge(body: dict[str, Any]) -> Reply | None:
    """A passing verdict when `body` asks the judge (a judge that cannot score fails a run)."""
    if "strict reviewer of training data" in body["messages"][0]["content"]:
        return Reply(verdict(_user(body)))
    return None


def varied(body: dict[str, Any], n: int) -> Reply:
    """Every expansion call makes new, different instructions; every answer is fine."""
    if judged := _judge(body):
        return judged
    user = _user(body)
    rng = random.Random(user + repr(body.get("temperature")))
    m = _N.search(user)
    return _numbered(_distinct(rng, int(m.group(1)))) if m else Reply(ANSWER)


def saturating(body: dict[str, Any], n: int) -> Reply:
    """Plain expansion repeats one request in five wordings; the diversity strategies
    (topic trees, personas, evolution) bring new ones."""
    user = _user(body)
    rng = random.Random(user + repr(body.get("temperature")) + str(n))
    m = _N.search(user)
    if "narrower subtopics" in user:
        return _numbered([f"subtopic {rng.randrange(10**6)}" for _ in range(int(m.group(1)))])
    if "different people who would ask" in user:
        return _numbered([f"A {rng.choice(WORDS)} manager from {rng.choice(WORDS)}."
                          for _ in range(int(m.group(1)))])
    if "Write a new version of it" in user:
        return Reply(_distinct(rng, 1)[0])
    if m:
        if "narrow subject" in user or "as this person" in user:
            return _numbered(_distinct(rng, int(m.group(1))))
        same = "Draft an NDA clause on permitted use by a software reseller"
        return _numbered([same + ".", same + " please.", same + " today.",
                          "Please " + same[0].lower() + same[1:] + ".", same + "!"]
                         [:int(m.group(1))])
    return Reply(ANSWER)


def _config(tmp_path: Path, server: ScriptedServer, pairs: int, **sections: Any) -> RunConfig:
    data: dict[str, Any] = {
        "seeds": [str(NDA_SEED)], "out": str(tmp_path / "run"), "pairs": pairs,
        "llm": {"base_url": server.base_url, "model": "test-model", "max_retries": 0,
                "max_concurrency": 32},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return RunConfig.model_validate(data)


def test_a_2000_pair_target_is_not_cut_by_the_default_call_limit(tmp_path: Path) -> None:
    with ScriptedServer(varied) as server:
        result = asyncio.run(run(_config(tmp_path, server, 2000,
                                         curation={"judge": {"enabled": "off"}})))
    gen = result.manifest["generation"]["legal-nda-clauses"]
    assert result.outcome().name == "complete", result.outcome().message
    assert gen["kept"] == 2000 and gen["stop"] == "target_met"
    assert gen["calls"] > 200  # the old fixed limit would have stopped here
    assert gen["calls"] <= gen["call_limit"]


def test_the_call_limit_follows_the_target_in_the_estimate(tmp_path: Path) -> None:
    code, out = cli("estimate", NDA_SEED, "--pairs", "2000", "--base-url",
                    "http://127.0.0.1:9/v1", "--model", "gpt-4o-mini")
    assert code == 0, out
    assert "attempt limit" in out and "1,200 calls per seed" in out, out


def test_a_saturated_seed_is_diversified_when_allowed(tmp_path: Path) -> None:
    with ScriptedServer(saturating) as server:
        result = asyncio.run(run(_config(tmp_path, server, 20)))
        prompts = [_user(r) for r in server.requests]
    gen = result.manifest["generation"]["legal-nda-clauses"]
    assert gen["saturated_in"] == [0] and gen["diversified"] is True
    assert gen["by_round"][0]["duplicate_share"] >= 0.8
    assert set(gen["by_strategy"]) >= {"plain", "topics", "personas", "evolve"}
    assert any("narrower subtopics" in p for p in prompts)  # the switch really asked
    assert gen["stop"] == "target_met" and gen["kept"] == 20


def test_a_saturated_seed_stops_and_says_so(prefect_harness, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("llm: {max_retries: 0}\ngeneration: {on_saturation: stop}\n")
    with ScriptedServer(saturating) as server:
        code, out = cli("run", NDA_SEED, "--pairs", "20", "--out", tmp_path / "run",
                        "--base-url", server.base_url, "--model", "test-model",
                        "--config", config)
        prompts = [_user(r) for r in server.requests]
    assert code == 8, out
    assert "(saturated; duplicates per round" in out and "on_saturation" in out, out
    assert "max_rounds" not in out and "stronger model" not in out
    assert not any("narrower subtopics" in p for p in prompts)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    gen = manifest["generation"]["legal-nda-clauses"]
    assert gen["stop"] == "saturated" and gen["rounds"] == 1 and gen["diversified"] is False


def chained(body: dict[str, Any], n: int) -> Reply:
    """Instructions that differ from one base in three words: distinct at the dedup
    threshold (90), but chained into one group at the split's (80), which no split can cut
    without leaking."""
    if judged := _judge(body):
        return judged
    user = _user(body)
    m = _N.search(user)
    if not m:
        return Reply(ANSWER)
    rng = random.Random(user + str(n))
    base = ("Draft a confidentiality clause for a software vendor agreement that covers the "
            "transfer of customer data to a subcontractor in another country with notice")
    words = base.split()
    items = []
    for _ in range(int(m.group(1))):
        w = list(words)
        for i in rng.sample(range(len(w)), 3):
            w[i] = rng.choice(WORDS)
        items.append(" ".join(w) + ".")
    return _numbered(items)


def test_an_impossible_split_share_is_explained(prefect_harness, tmp_path: Path) -> None:
    with ScriptedServer(chained) as server:
        code, out = cli("run", NDA_SEED, "--pairs", "30", "--out", tmp_path / "run",
                        "--base-url", server.base_url, "--model", "test-model",
                        "--allow-short")
    assert code == 0, out
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    shares = manifest["split"]["shares"]
    assert shares["met"] is False
    miss = shares["misses"][0]
    assert miss["split"] == "validation" and miss["realised_share"] < 0.1
    assert miss["largest_groups"][0]["share"] > 0.8
    assert "split:" in out and "largest group of near-duplicate instructions" in out, out
    assert "split shares not met" in out  # the table of largest groups
    report = (tmp_path / "run" / "report.md").read_text()
    assert "could not be met" in report and "largest group" in report
    assert manifest["split"]["leakage"]["passed"] is True  # never bought with a leak
