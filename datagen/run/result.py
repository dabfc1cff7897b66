"""How a run ended, as a value: what it made, and which outcome that is.

`RunResult.outcome()` names one outcome, the first that applies:

    budget      the budget cap stopped generation; what was kept is exported       exit 4
    llm_failed  more than `llm.max_failed_share` of the LLM calls failed for good  exit 6
    empty       no pair was kept (unless allowed)                                  exit 7
    short       a seed ended short of its target (unless allowed)                  exit 8
    judge_failed  the judge was on and scored none of the pairs it was asked to    exit 11
                score (every reply failed or held no valid verdict): its threshold
                was applied to nothing, so the pairs are exported unjudged
    too_few     openai/train.jsonl is a file OpenAI refuses (fewer than its 10     exit 5
                examples), as `datagen validate` says of it (an appending run: the
                dataset's training split), unless allowed (`allow_short`) or
                `export.target_models` is empty (the data is not for OpenAI)
    complete    every seed met its target                                          exit 0

Each comes with a message and a hint naming the real cause. `datagen.cli.main` turns it
into the exit code, and the Prefect flow into its final state (Failed with `RunIncomplete`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datagen.errors import DatagenError
from datagen.reasons import DropReason

EXIT_CODES = {"complete": 0, "budget": 4, "too_few": 5, "llm_failed": 6, "empty": 7,
              "short": 8, "judge_failed": 11}


@dataclass
class Outcome:
    name: str
    message: str
    hint: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.name]

    @property
    def ok(self) -> bool:
        return self.name == "complete"


def llm_errors(records: pd.DataFrame) -> dict[str, int]:
    """Calls that failed for good, by their error ("http_500", "timeout", ...)."""
    failed = records[records["drop_reason"] == str(DropReason.LLM_ERROR)]
    reasons = []
    for meta in failed["metadata"]:
        try:
            error = json.loads(meta).get("error", "unknown")
        except (TypeError, ValueError):
            error = "unknown"
        reasons.append(str(error).split(":", 1)[0])
    for raw in records["scores"].dropna():
        if '"judge_error"' in raw:
            reasons.append("judge_" + str(json.loads(raw)["judge_error"]).split(":", 1)[0])
    return dict(Counter(reasons).most_common())


def judge_counts(records: pd.DataFrame) -> dict[str, int]:
    """Pairs the judge scored, and pairs it was asked about and could not score (a failed
    call or a reply without a valid verdict), from the records' stored scores."""
    from datagen.records import has_score

    scored = has_score(records, "judge")
    unscored = has_score(records, "judge_error") & ~scored
    return {"scored": int(scored.sum()), "unscored": int(unscored.sum())}


def error_samples(records: pd.DataFrame, n: int = 1) -> list[str]:
    failed = records[records["drop_reason"] == str(DropReason.LLM_ERROR)]
    out = []
    for meta in failed["metadata"].head(n):
        try:
            out.append(str(json.loads(meta).get("error", ""))[:200])
        except (TypeError, ValueError):
            continue
    return out


class RunIncomplete(DatagenError):
    """A run that ended with another outcome than `complete`: what the Prefect flow fails
    with, carrying the run's summary (its exit code is the outcome's)."""

    def __init__(self, outcome: Outcome, summary: dict[str, Any] | None = None) -> None:
        super().__init__(outcome.message, hint=outcome.hint)
        self.outcome = outcome
        self.summary = summary or {}
        self.exit_code = outcome.exit_code

    def __reduce__(self):  # across processes the outcome travels, the summary does not
        return (RunIncomplete, (self.outcome,))


@dataclass
class RunResult:
    """Everything a caller needs to know about a finished run."""

    out: str
    run_id: str
    manifest: dict[str, Any]
    budget_refused: int = 0
    budget_cap: float | None = None
    errors: dict[str, int] = field(default_factory=dict)
    error_sample: list[str] = field(default_factory=list)
    published: dict[str, Any] | None = None
    hub_url: str | None = None
    judge: dict[str, int] = field(default_factory=dict)  # `judge_counts` of the records

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest["counts"]

    @property
    def per_seed(self) -> dict[str, Any]:
        return self.manifest["per_seed"]

    @property
    def generation(self) -> str:
        return str(self.manifest.get("generation_id", ""))

    @property
    def shortfall(self) -> dict[str, int]:
        return {sid: s["shortfall"] for sid, s in self.per_seed.items() if s["shortfall"]}

    @property
    def calls(self) -> int:
        llm = self.manifest.get("llm", {})
        return int(llm.get("requests", 0) + llm.get("failures", 0) + llm.get("cache_hits", 0))

    @property
    def failed_share(self) -> float:
        failed = int(self.manifest.get("llm", {}).get("failures", 0))
        return failed / self.calls if self.calls else 0.0

    @property
    def judge_unscored(self) -> tuple[int, str]:
        """Pairs the judge was asked to score and could not, and why ("not JSON x3")."""
        n = int(self.judge.get("unscored", 0))
        why = ", ".join(f"{k.removeprefix('judge_')} x{v}" for k, v in self.errors.items()
                        if k.startswith("judge_"))
        return n, why or "no reason recorded"

    def outcome(self, *, max_failed_share: float = 0.2, allow_empty: bool = False,
                allow_short: bool = False) -> Outcome:
        gen = self.manifest.get("generation") or {}
        if self.budget_refused:
            return Outcome(
                "budget",
                f"stopped before passing llm.max_cost_usd = ${self.budget_cap or 0:.4f}: "
                f"{self.budget_refused} calls were not made; what was kept is exported",
                "raise llm.max_cost_usd (or --max-cost-usd) and rerun the same command: "
                "every answer so far is in the run folder's cache and is not paid for again")
        failures = int(self.manifest.get("llm", {}).get("failures", 0))
        if failures and self.failed_share > max_failed_share:
            top = ", ".join(f"{k} x{v}" for k, v in self.errors.items()) or "see the records"
            sample = f" (e.g. {self.error_sample[0]})" if self.error_sample else ""
            return Outcome(
                "llm_failed",
                f"{failures} of {self.calls} LLM calls failed ({self.failed_share:.0%}, more "
                f"than llm.max_failed_share {max_failed_share:.0%}): {top}{sample}",
                "check the endpoint (`datagen doctor`) and its logs; rerun the same command "
                "once it answers: completed calls are cached")
        if self.counts["kept"] == 0 and not allow_empty:
            return Outcome("empty", "no pair was kept", _why_short(gen) or
                           "see `datagen rejected " + self.out + "`; pass --allow-empty "
                           "to accept an empty run")
        if self.shortfall and not allow_short:
            parts = [f"{sid} {s['kept']}/{s['target']} ({_stop(gen.get(sid, {}))}"
                     f"{_saturation(gen.get(sid, {}))}{_seen(gen.get(sid, {}))})"
                     for sid, s in self.per_seed.items() if s["shortfall"]]
            return Outcome("short", "short of target: " + ", ".join(parts),
                           (_why_short(gen) or "") + " Pass --allow-short to accept a partial "
                           "dataset (exit 0).")
        unscored, why = self.judge_unscored
        if unscored and not self.judge.get("scored"):
            return Outcome(
                "judge_failed", f"the judge scored none of the {unscored} pairs it was asked to "
                f"score ({why}): no pair passed its threshold, and the pairs are exported "
                "unjudged", "check the judge's endpoint and model (`datagen doctor`; a judge "
                "must reply with the JSON verdict, see curation.judge), then rerun the same "
                "command: every answer is cached; or set curation.judge.enabled: off to run "
                "without a judge")
        refused = openai_refuses(self.manifest, self.published)
        if refused and not allow_short and not (allow_empty and self.counts["kept"] == 0):
            where = (f"{self.out}/openai/train.jsonl" if not self.published
                     else "the appended dataset's training split")
            return Outcome(
                "too_few", f"{where}: {refused}, so OpenAI would refuse it for fine-tuning "
                "(`datagen validate` exits 5 on such a file)",
                "ask for more pairs (--pairs, or the seeds' `pairs`; split.validation takes its "
                "share of them) and rerun the same command (answers so far come from the "
                "cache); pass --allow-short to accept a small dataset (exit 0), or set "
                "export.target_models: [] in the run config when the data is not for OpenAI")
        note = (f" (the judge could not score {unscored} of the pairs it was asked to: {why}; "
                "they passed no threshold)" if unscored else "")
        return Outcome("complete", f"kept {self.counts['kept']} pairs{note}")


def openai_refuses(manifest: dict[str, Any], published: dict[str, Any] | None = None
                   ) -> str | None:
    """Why OpenAI would refuse the run's training file as a whole (empty, or under its
    minimum of examples), from the export's pre-flight report; None when it would not, or
    when no OpenAI model is a target (`export.target_models: []`: no pre-flight pricing).
    An appending run is judged by the dataset it grows, not by one night's slice."""
    from datagen.export.validate import MIN_EXAMPLES

    report = (manifest.get("validate") or {}).get("train") or {}
    if not report.get("models"):
        return None
    if published is not None:
        n = int((published.get("counts") or {}).get("train", 0))
        return (f"{n} training examples, OpenAI needs at least {MIN_EXAMPLES}"
                if n < MIN_EXAMPLES else None)
    errors = report.get("file_errors") or {}
    return "; ".join(str(v) for v in errors.values()) or None


def _stop(seed_gen: dict[str, Any]) -> str:
    return str(seed_gen.get("stop", "?"))


_HINTS = {
    "stalled": "the seed's last rounds kept nothing new: `datagen rejected` shows why",
    "copies": "most of the seed's last instructions were copies: widen it with more examples "
              "and topics, or switch on topics, personas and evolve",
    "parse_failed": "most of the seed's last calls returned nothing parseable: the model "
                    "cannot follow the list format; try llm.structured: json_schema or a "
                    "stronger model",
    "attempt_limit": "the seed reached its attempt limit (generation.max_calls_per_seed): "
                     "raise it, or set it to auto so that it follows the target and the yield",
    "max_rounds": "the run used all generation.max_rounds: raise it",
    "saturated": "the seed is saturated (most new instructions were duplicates): widen it "
                 "with more examples and topics, or switch on topics, personas and evolve "
                 "(generation.on_saturation: diversify does so by itself)",
}
# what a drop reason means, for "all <this>" in a stop's message
_COPIES_OF = {"seed_overlap": "duplicates of the seed's examples",
              "exact_duplicate": "exact duplicates of other instructions",
              "near_duplicate": "near duplicates of other instructions",
              "published_duplicate": "duplicates of published pairs",
              "not_novel": "not new (too close to their parents)"}


def _saturation(seed_gen: dict[str, Any]) -> str:
    """"; duplicates per round 41% 83% 91%" for a saturated seed."""
    if seed_gen.get("stop") != "saturated":
        return ""
    shares = " ".join(f"{r['duplicate_share']:.0%}" for r in seed_gen.get("by_round", []))
    return f"; duplicates per round {shares}" if shares else ""


def _idle(seed_gen: dict[str, Any]) -> list[dict[str, Any]]:
    """The seed's rounds since it last kept an instruction, the latest first."""
    from datagen.generate.work import idle_rounds

    return idle_rounds(seed_gen.get("by_round") or [])


def _seen(seed_gen: dict[str, Any]) -> str:
    """What the rounds that kept nothing saw, for a seed that stopped after them: "; 3 new
    instructions in the last round, all duplicates of the seed's examples"."""
    if _stop(seed_gen) in ("target_met", "saturated"):
        return ""
    idle = _idle(seed_gen)
    made = sum(r["made"] for r in idle)
    if not idle or not made:
        return ""
    where = "the last round" if len(idle) == 1 else f"the last {len(idle)} rounds"
    dropped: Counter[str] = Counter()
    for r in idle:
        dropped.update(r.get("dropped") or {})
    if len(dropped) == 1 and sum(dropped.values()) == made:
        (reason,) = dropped
        what = "all " + _COPIES_OF.get(reason, f"dropped as {reason}")
    else:
        what = "none kept" + (": " + ", ".join(f"{k} x{v}" for k, v in dropped.most_common())
                              if dropped else "")
    noun = "instruction" if made == 1 else "instructions"
    return f"; {made} new {noun} in {where}, {what}"


def _why_short(gen: dict[str, Any]) -> str:
    """The hint for each cause that left a seed short; a stall over instructions that were
    mostly copies adds how to widen the seed (it is not called saturated: a stall may rest
    on fewer instructions than a saturation share needs)."""
    stops = set()
    for g in gen.values():
        if not g.get("shortfall"):
            continue
        stops.add(_stop(g))
        idle = _idle(g)
        made = sum(r["made"] for r in idle)
        if _stop(g) == "stalled" and made and sum(r["duplicates"] for r in idle) >= made / 2:
            stops.add("copies")
    return "; ".join(_HINTS[s] for s in sorted(stops) if s in _HINTS)
