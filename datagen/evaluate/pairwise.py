"""The pairwise judge of `datagen eval`: each pair of candidates judged on every validation
instruction in both orders (no verdict ever filled in), the pair's win rate over the scored
comparisons with its position bias, and the error when a score cannot be computed."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from datagen.errors import ScoreFailed
from datagen.evaluate import candidates as cands
from datagen.evaluate import scores
from datagen.evaluate.agreement import position_bias
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import Endpoint
from datagen.llm.wire import LLMCallError
from datagen.progress import StageProgress
from datagen.prompts import render
from datagen.secrets import redact_url


async def judge_pairs(client: LLMClient, items: list[cands.Item],
                      answers: dict[tuple[str, str], str | None],
                      pairs: list[tuple[str, str]]
                      ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Each pair judged on every item in both orders: the pair's results (`pair_result`) and
    every comparison's two verdicts (X shown first, then Y shown first), as stored in
    `eval/verdicts.jsonl`. No verdict is ever filled in."""
    params = {"temperature": 0, "max_tokens": 4}

    async def ask(item: cands.Item, a: str | None, b: str | None) -> tuple[str | None, str]:
        prompt = render("pairwise_judge.v1", instruction=item.instruction,
                        answer_a=a or "(no answer)", answer_b=b or "(no answer)")
        try:
            done = await client.chat([{"role": "user", "content": prompt}], params=params)
        except LLMCallError as exc:
            return None, exc.reason.split(":", 1)[0]
        said = scores.verdict(done.text)
        return said, "" if said else "said_neither"

    out: dict[str, dict[str, Any]] = {}
    stored: list[dict[str, Any]] = []
    for x, y in pairs:
        with StageProgress(f"judge {x} vs {y}", len(items), stats=client.status) as tick:
            async def compare(item: cands.Item, x: str = x, y: str = y) -> dict[str, Any]:
                ax, ay = answers[(item.id, x)], answers[(item.id, y)]
                (first, why1), (second, why2) = await asyncio.gather(ask(item, ax, ay),
                                                                     ask(item, ay, ax))
                tick(1)
                return {"id": item.id, "pair": f"{x}_vs_{y}", "x_first": first,
                        "y_first": second, "unscored": why1 or why2 or None}

            got = list(await asyncio.gather(*(compare(i) for i in items)))
        stored.extend(got)
        out[f"{x}_vs_{y}"] = pair_result(got)
    return out, stored


def pair_result(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """A pair's result from its comparisons' two verdicts each (`x_first`: "A"/"B"/None with X
    shown first; `y_first`: the same with Y first; `unscored`: why not, if not): X's win rate
    with a 95% bootstrap CI over the comparisons the judge scored (`scored` of `asked`, and
    why the others were not), and the judge's position bias (`agreement.position_bias`)."""
    got = [(scores.swap_score(v["x_first"], v["y_first"]), v.get("unscored") or "said_neither")
           for v in verdicts]
    values = [s for s, _ in got if s is not None]
    low, high = scores.bootstrap_ci(values)
    return {
        "win_rate": sum(values) / len(values) if values else None,
        "ci95": [low, high] if values else None, "n": len(values),
        "scored": len(values), "asked": len(verdicts),
        "unscored": dict(Counter(why for s, why in got if s is None).most_common()),
        "position_bias": position_bias([(v["x_first"], v["y_first"]) for v in verdicts])}


def judge_note(judged: dict[str, dict[str, Any]]) -> str:
    """One line per pair the judge did not score whole: how many it scored, and why not
    the rest (the win rate shown is over the scored ones only)."""
    lines = []
    for pair, r in judged.items():
        if r["scored"] < r["asked"]:
            why = ", ".join(f"{k} x{v}" for k, v in r["unscored"].items())
            lines.append(f"judge {pair.replace('_vs_', ' vs ')}: scored {r['scored']} of "
                         f"{r['asked']} comparisons ({why}); the win rate is over those "
                         f"{r['scored']} only")
    return "\n".join(lines)


def check_scored(table: list[dict[str, Any]], judged: dict[str, dict[str, Any]],
                 judge: Endpoint | None, items: int) -> None:
    """ScoreFailed when a candidate answered nothing or the judge scored no comparison of a
    pair: such a score cannot be computed, and a default (0.5, 0.0) would read as a result."""
    for c in table:
        if items and c["answered"] == 0:
            why = ", ".join(f"{k} x{v}" for k, v in c.get("errors", {}).items())
            raise ScoreFailed(
                f"eval: candidate ({c['candidate']}) {c['name']} answered none of the {items} "
                f"validation instructions on {c['model']} ({c['endpoint']}; {why}), so it has "
                "no score", hint="check that endpoint (`datagen doctor`), then rerun `datagen "
                "eval`: answers already received come from the run's cache")
    for pair, r in judged.items():
        if r["scored"] == 0:
            why = ", ".join(f"{k} x{v}" for k, v in r["unscored"].items()) or "no comparison"
            where = (f"{judge.model} at {redact_url(judge.base_url)}" if judge is not None
                     else "?")
            raise ScoreFailed(
                f"eval: the judge ({where}) scored none of the "
                f"{r['asked']} comparisons {pair.replace('_vs_', ' vs ')} ({why}), so there is "
                "no win rate", hint="check the judge endpoint and model (--judge-base-url, "
                "--judge-model; a judge must answer A or B), then rerun `datagen eval`: the "
                "candidates' answers come from the cache")
