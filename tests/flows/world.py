"""A deterministic scripted LLM for flow tests: real HTTP through `ScriptedServer`, with
answers derived from a hash of the request, so the same request always gets the same answer
and two runs (threads or Dask, first run or resume) make the same dataset.

Instructions are drawn from a fixed pool, so successive nightly runs ask for some pairs that are
already published (exactly, or as a near paraphrase): the dedup against the published dataset
has something to find. A judge is answered with a verdict that passes, as a working judge
endpoint would: the runs' pairs are judged, not kept unjudged.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from tests.scripted_server import Reply

WORDS = (
    "agreement party vendor supplier customer employee contractor licence software data "
    "privacy breach notice term renewal termination payment invoice liability warranty "
    "indemnity dispute court arbitration jurisdiction consent disclosure record audit policy "
    "security access retention deletion transfer partner subsidiary affiliate merger project "
    "consultant advisor investor board meeting schedule deadline approval budget report "
    "document source code trade secret patent trademark design prototype product service "
    "market region country office team manager director employer tenant landlord lender "
    "borrower guarantor insurer broker agent reseller distributor franchise client patient "
    "student teacher school hospital bank fund account portfolio loan interest deposit"
).split()
POOL_SIZE = 60
_N = re.compile(r"Write (\d+) new requests")


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def instruction(i: int, variant: bool = False) -> str:
    """Pool item `i`; its variant is a near paraphrase (same words, one more)."""
    rng = random.Random(f"pool:{i}")
    text = f"Draft a clause for the {_words(rng, 10)}"
    return f"{text} today." if variant else f"{text}."


def verdict(user: str) -> str:
    """A judge's verdict that passes: the judge scores every pair it is asked about."""
    criteria = ["correctness", "instruction_following", "domain_fit"]
    if '"faithfulness": n' in user:  # a grounded pair, judged against its source too
        criteria.append("faithfulness")
    return json.dumps({**{c: 8 for c in criteria}, "rationale": "Scripted verdict."})


def scored_verdict(user: str) -> str:
    """A judge's graded verdict on the answer shown in `user`: scores derived from the answer's
    text, so different answers get different scores and the same answer the same ones."""
    answer = user.split("\nAnswer:\n", 1)[-1]
    rng = random.Random(f"judge:{answer}")
    score = rng.randint(3, 10)
    return json.dumps({"correctness": score, "instruction_following": min(10, score + 1),
                       "domain_fit": 10, "rationale": "Scripted verdict."})


def handler(body: dict[str, Any], n: int, delay_s: float = 0.0) -> Reply:
    user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    if "strict reviewer of training data" in body["messages"][0]["content"]:
        return Reply(verdict(user), delay_s=delay_s)
    rng = random.Random(user + repr(body.get("temperature")))
    m = _N.search(user)
    if m:  # an expansion call: a numbered list from the pool
        items = [instruction(rng.randrange(POOL_SIZE), variant=rng.random() < 0.3)
                 for _ in range(int(m.group(1)))]
        return Reply("\n".join(f"{k}. {t}" for k, t in enumerate(items, 1)), delay_s=delay_s)
    answer = (f"Here is the clause you asked for. The {_words(rng, 12)} shall remain "
              f"confidential, and the {_words(rng, 12)} agree to notify each other in writing.")
    return Reply(answer, delay_s=delay_s)


def judging_handler(body: dict[str, Any], n: int, delay_s: float = 0.0) -> Reply:
    """`handler`, with judge calls answered by a graded verdict (`scored_verdict`: different
    answers get different scores) instead of one that passes every pair."""
    user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    if "\nAnswer:\n" in user and "strict reviewer" in body["messages"][0]["content"]:
        return Reply(scored_verdict(user), delay_s=delay_s)
    return handler(body, n, delay_s)
