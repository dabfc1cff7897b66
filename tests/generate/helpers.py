"""Helpers of the generation tests: a small seed, a client on a scripted server, golden files."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Any

from datagen.checks import strategy
from datagen.config import CurationConfig
from datagen.curate import curate
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import Endpoint
from datagen.seeds import SeedTask
from tests.scripted_server import Reply, ScriptedServer

GOLDEN = Path(__file__).parent / "golden"
WORDS = ("contract", "vendor", "employee", "startup", "supplier", "investor", "licence",
         "merger", "audit", "patent", "software", "hospital", "bank", "retailer", "agency",
         "pharmacy", "airline", "studio", "farm", "museum", "school", "charity", "broker",
         "insurer", "mine", "port", "hotel", "garage", "bakery", "clinic", "lab", "court")


def tiny_seed(**extra: Any) -> SeedTask:
    data: dict[str, Any] = {
        "id": "tiny-nda", "domain": "legal", "description": "Drafting NDA clauses.",
        "system": "You are a legal assistant.",
        "task": "Ask a legal assistant to draft one NDA clause.",
        "examples": ["Draft an NDA clause regarding data privacy.",
                     "Write an NDA clause on the return of confidential materials.",
                     {"instruction": "Summarise this clause in plain words.",
                      "input": "The Recipient shall hold all Confidential Information in trust."}],
        "pairs": 3,
    }
    data.update(extra)
    return SeedTask.model_validate(data)


def client_for(server: ScriptedServer) -> LLMClient:
    endpoint = Endpoint(base_url=server.base_url, model="test-model", kind="local",
                        identity="local:test")
    return LLMClient(endpoint, None, max_concurrency=1, max_retries=0)


def distinct_items(n: int, start: int) -> str:
    """A numbered list of `n` instructions that differ from each other and from any other
    call's (a counter spelled out in unrelated words), so dedup keeps them all."""
    lines = []
    for i in range(n):
        rng = random.Random(start + i)
        words = " ".join(rng.sample(WORDS, 6))
        lines.append(f"{i + 1}. Draft a clause for a {words} deal, case {start + i}.")
    return "\n".join(lines)


def by_prompt(body: dict[str, Any], n: int) -> Reply:
    """Answers by what is asked: subtopics, personas, lists of requests, one rewritten request,
    a follow-up, or a clause (a response)."""
    user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    if "narrower subtopics" in user:
        return Reply("1. Mutual obligations\n2. Unilateral obligations")
    if "different people who would ask" in user:
        return Reply("1. A startup founder sharing a pitch deck\n2. An in-house counsel at a bank")
    if "Write a new version of it" in user:
        word = WORDS[n % len(WORDS)]
        return Reply(f"Draft clause {n} with a strict two-year term for {word} data, "
                     f"in under {n + 100} words.")
    if "numbered list" in user:
        return Reply(distinct_items(5, n * 10))
    if "Write the user's next message" in user:
        return Reply(f"Could you shorten it to {n} sentences?")
    return Reply("The Recipient shall keep the Confidential Information secret and use it "
                 "only for the agreed purpose, for three years after disclosure.")


def prompts_of(server: ScriptedServer) -> list[dict[str, Any]]:
    """What was sent, minus what varies between machines (ports, nothing else today)."""
    return [{"messages": r["messages"],
             **{k: r[k] for k in sorted(r) if k not in ("messages", "model", "stream")}}
            for r in server.requests]


def check_golden(name: str, data: Any) -> None:
    """Compare with `golden/<name>.json`; `UPDATE_GOLDEN=1` rewrites it (review the diff)."""
    path = GOLDEN / f"{name}.json"
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
        if os.environ.get("UPDATE_GOLDEN") != "1":
            raise AssertionError(f"wrote missing golden file {path}; rerun")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"prompts differ from {path.name} (UPDATE_GOLDEN=1 to accept)"


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def apply_verdicts(df: Any) -> Any:
    """The strategies' recorded verdicts applied, through the curation runner alone."""
    return curate(df, CurationConfig(), checks=(strategy.CHECK,))
