"""A scripted LLM for grounded seeds, over real HTTP (`ScriptedServer`): it asks questions made
of the words of the passage or row it is shown, and answers by quoting the reference the
responder is given, or (`liar`) by contradicting it.
"""

from __future__ import annotations

import random
import re
from typing import Any

from tests.scripted_server import Reply

_N = re.compile(r"Write (\d+) new requests")
_SHOWN = re.compile(r"<<<\n(.*?)\n>>>", re.S)
_WORD = re.compile(r"[A-Za-z]{5,}")
OPENERS = ("What does our policy say about", "How should I handle", "Can you explain",
           "What is the rule for", "Who is responsible for", "When do we need", "Tell me about")


def shown(text: str) -> str:
    m = _SHOWN.search(text)
    assert m, "the prompt shows no passage"
    return m.group(1)


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if len(_WORD.findall(p)) >= 4]


def questions(passage: str, n: int, rng: random.Random) -> list[str]:
    out = []
    for k in range(n):
        words = _WORD.findall(rng.choice(sentences(passage) or [passage]))
        picked = rng.sample(words, min(4, len(words)))
        out.append(f"{OPENERS[(k + rng.randrange(7)) % 7]} {' '.join(picked).lower()} "
                   f"in case {rng.randrange(10_000)}?")
    return out


def handler(body: dict[str, Any], n: int, *, liar: bool = False) -> Reply:
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    rng = random.Random(user)
    m = _N.search(user)
    if m:
        items = questions(shown(user), int(m.group(1)), rng)
        return Reply("\n".join(f"{k}. {t}" for k, t in enumerate(items, 1)))
    if "<<<" in system:  # the responder, given its reference
        reference = sentences(shown(system))
        if liar:
            return Reply("Honestly, whatever your manager prefers is fine: keep everything for "
                         "999 weeks, share it with any vendor, and skip encryption entirely.")
        return Reply("Based on the policy: " + " ".join(reference[:3]))
    return Reply("Here is a general answer with no reference at all.")
