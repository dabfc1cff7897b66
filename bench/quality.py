"""Curation quality on the hand-labelled dev set of real pairs (`bench/data/devset.jsonl`).

    python bench/quality.py                       # judge off: tuning and test parts, each
                                                  # with the per-check table and totals
    python bench/quality.py --misses              # and the tuning part's misses, by id
    python bench/quality.py --sweep               # the threshold sweeps the defaults came from
    python bench/quality.py --base-url URL --model M   # also with the LLM judge on

The dev set is split once into a tuning part and a test part (`part`, documented in
`bench/data/LABELS.md`): rules and thresholds are chosen on the tuning part, and the test part
says whether they hold on pairs they were not chosen on. So `--misses` lists the tuning part's
misses only: the test part is read in aggregate (its per-check table), never row by row.
Every dev-set row is curated with the default config (no surplus cut, judge off unless an
endpoint is given), as one corpus, so rows that several models answered form real duplicate
clusters; each part is then measured on its own rows. Printed, as Markdown, per part:

- per check: how many rows labelled keep it drops (false positives) and how many rows
  labelled drop it catches;
- totals: the share of keeps that are kept (a keep dropped as the duplicate of a kept, good
  copy counts as kept: one good answer per instruction is the point of dedup), and the share
  of drops caught, overall and for the drops a heuristic can see (refusals, truncation,
  repetition, wrong language, garbled or empty answers, chat leaks, prompt debris) apart from
  those only a judge can see (a wrong fact, an answer to another question, unsafe advice, a
  statement where a request should be);
- best of cluster: in duplicate clusters holding at least one good answer, how often the
  member kept is a good one;
- with a judge: the same tables, and the judge's agreement with the labels.

Nothing is asserted: this measures; bench/RESULTS.md quotes the table.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datagen.config import CurationConfig  # noqa: E402
from datagen.curate import References, curate  # noqa: E402
from datagen.records import new_records  # noqa: E402

DATA = Path(__file__).parent / "data" / "devset.jsonl"
VISIBLE = {"refusal", "truncated", "repetition", "no_answer", "garbled", "wrong_language", "echo",
           "chat_leak", "placeholder", "prompt_debris"}
JUDGE_ONLY = {"incorrect", "off_task", "unsafe", "bad_instruction"}
DUP_REASONS = {"exact_duplicate", "near_duplicate", "semantic_duplicate"}
TEST_SOURCES = {"LianjiaTech/BELLE", "lm-sys/FastChat"}  # added for the test part only
TEST_SHARE = 4  # one group in this many of the other rows is in the test part


def part(row: dict[str, Any]) -> str:
    """`tune` or `test`, fixed by the row alone: a row labelled for the test part (`part`),
    every row of the sources added for the test part, and one group in `TEST_SHARE` of the
    others by a hash of its duplicate cluster (of its id when it has none), so a cluster is
    never split between the parts."""
    if row.get("part") in ("tune", "test"):
        return str(row["part"])
    if row["source_repo"] in TEST_SOURCES:
        return "test"
    key = str(row.get("cluster") or row["id"])
    return "test" if hashlib.sha256(key.encode()).digest()[0] % TEST_SHARE == 0 else "tune"


PARTS = (("tune", "tuning part"), ("test", "test part"))


def load(path: Path = DATA) -> pd.DataFrame:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return pd.DataFrame([{**r, "part": part(r)} for r in rows])


def as_records(dev: pd.DataFrame) -> pd.DataFrame:
    """Dev rows as datagen records; the target language is the instruction's."""
    rows = []
    for r in dev.itertuples():
        rows.append({"id": r.id, "run_id": "dev", "seed_id": r.stratum, "domain": "general",
                     "language": r.language, "instruction": r.instruction,
                     "response": r.response, "keep": True,
                     "finish_reason": getattr(r, "finish_reason", None) or None,
                     "metadata": {"answer": "label"} if r.is_classification is True else {}})
    return new_records(rows)


def curated(dev: pd.DataFrame, cfg: CurationConfig | None = None,
            records: pd.DataFrame | None = None) -> pd.DataFrame:
    out = curate(as_records(dev) if records is None else records, cfg or CurationConfig(),
                 refs=References(), targets=None)
    return dev.assign(kept=out["keep"].astype(bool).to_numpy(),
                      drop=out["drop_reason"].astype(object).to_numpy(),
                      lost_to=out["lost_to"].astype(object).to_numpy(),
                      scores=out["scores"].astype(object).to_numpy())


def outcome(res: pd.DataFrame, which: str | None = None) -> dict[str, Any]:
    """The measures over the rows of one part (`tune`, `test`), or all rows (None); the
    rows were curated together, as one corpus."""
    good = dict(zip(res["id"], res["label"] == "keep", strict=True))
    kept_of = dict(zip(res["id"], res["kept"], strict=True))
    # a duplicate that lost to a kept, good copy is represented in the dataset
    represented = [bool(k) or (d in DUP_REASONS and good.get(lost, False)
                               and bool(kept_of.get(lost, False)))
                   for k, d, lost in zip(res["kept"], res["drop"], res["lost_to"], strict=True)]
    res = res.assign(represented=represented)
    if which is not None:
        res = res[res["part"] == which]
    keeps, drops = res[res["label"] == "keep"], res[res["label"] == "drop"]
    visible = drops[drops["reason"].isin(VISIBLE)]
    judge = drops[drops["reason"].isin(JUDGE_ONLY)]
    per_check: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in res[~res["kept"]].itertuples():
        fp = r.label == "keep" and not r.represented
        per_check[str(r.drop)][0 if fp else 1] += int(fp or r.label == "drop")
    clusters = [part for c, part in res[res["cluster"] != ""].groupby("cluster")
                if (part["label"] == "keep").any()]
    best = [bool(((part["kept"]) & (part["label"] == "keep")).any()
                 and not ((part["kept"]) & (part["label"] == "drop")).any()) for part in clusters]
    return {
        "rows": len(res), "keeps": len(keeps), "drops": len(drops),
        "keeps_kept": keeps["represented"].mean(),
        "drops_caught": (~drops["kept"]).mean(),
        "visible_caught": (~visible["kept"]).mean() if len(visible) else float("nan"),
        "visible": len(visible), "judge_only": len(judge),
        "judge_only_caught": (~judge["kept"]).mean() if len(judge) else float("nan"),
        "per_check": dict(per_check), "clusters": len(clusters),
        "best_of_cluster": sum(best) / len(best) if best else float("nan"),
        "false_positives": keeps[~keeps["represented"]][["id", "drop", "instruction",
                                                          "response"]],
        "missed": drops[drops["kept"]][["id", "reason", "instruction", "response"]],
    }


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def report(o: dict[str, Any], title: str, show_misses: bool = False) -> str:
    rows = [[reason, fp, caught] for reason, (fp, caught) in
            sorted(o["per_check"].items(), key=lambda kv: -sum(kv[1]))]
    out = [f"## {title}", "",
           f"{o['rows']} real pairs: {o['keeps']} labelled keep, {o['drops']} labelled drop "
           f"({o['visible']} visibly bad, {o['judge_only']} that only a judge can see).", "",
           table(["check (drop reason)", "keeps it drops", "drops it catches"], rows), "",
           table(["measure", "value"], [
               ["keeps kept", f"{o['keeps_kept']:.3f}"],
               ["drops caught (all)", f"{o['drops_caught']:.3f}"],
               ["visibly bad drops caught", f"{o['visible_caught']:.3f}"],
               ["judge-only drops caught", f"{o['judge_only_caught']:.3f}"],
               [f"best of cluster ({o['clusters']} clusters with a good answer)",
                f"{o['best_of_cluster']:.3f}"],
           ])]
    if show_misses:
        for name, part in (("keeps dropped", o["false_positives"]),
                           ("visibly bad drops kept", o["missed"][o["missed"]["reason"].isin(
                               VISIBLE)])):
            out += ["", f"### {name}", ""]
            for r in part.itertuples():
                why = r.drop if name == "keeps dropped" else r.reason
                out.append(f"- {r.id} [{why}] {str(r.instruction)[:90]!r} -> "
                           f"{str(r.response)[:90]!r}")
    return "\n".join(out)


SWEEPS: dict[str, tuple[str, str, list[Any]]] = {
    "length.min_long_response_words": ("length", "min_long_response_words", [1, 5, 10, 20, 40]),
    "length.min_response_words": ("length", "min_response_words", [1, 2, 3, 5]),
    "length.min_instruction_words": ("length", "min_instruction_words", [1, 2, 3, 4]),
    "length.max_response_words": ("length", "max_response_words", [500, 1000, 1500, 3000]),
    "repetition.min_words": ("repetition", "min_words", [20, 50, 100, 200]),
    "repetition.max_repeated_8gram_share": ("repetition", "max_repeated_8gram_share",
                                            [0.15, 0.3, 0.45, 0.6]),
    "repetition.max_duplicate_item_share": ("repetition", "max_duplicate_item_share",
                                            [0.1, 0.2, 0.3, 0.5]),
    "language.threshold": ("language", "threshold", [0.5, 0.7, 0.9]),
    "dedup.near_threshold": ("dedup", "near_threshold", [80, 85, 90, 95]),
}


def sweep(dev: pd.DataFrame) -> str:
    """For each threshold, keeps kept / drops caught at a few values (the default marked),
    on the tuning part only: the test part is not for choosing."""
    out = ["## Threshold sweeps (judge off, tuning part)", ""]
    records = as_records(dev)
    for name, (section, key, values) in SWEEPS.items():
        default = getattr(getattr(CurationConfig(), section), key)
        rows = []
        for v in values:
            cfg = CurationConfig.model_validate({section: {key: v}})
            o = outcome(curated(dev, cfg, records), "tune")
            rows.append([f"**{v}**" if v == default else v, f"{o['keeps_kept']:.3f}",
                         f"{o['visible_caught']:.3f}", f"{o['drops_caught']:.3f}"])
        out += [f"### {name}", "", table([key, "keeps kept", "visibly bad caught",
                                          "all drops caught"], rows), ""]
    return "\n".join(out)


async def judged(dev: pd.DataFrame, base_url: str, model: str) -> pd.DataFrame:
    """The dev records with judge scores from a real endpoint (cached in bench/.cache)."""
    from datagen.checks.judge import JudgeConfig
    from datagen.config import LLMConfig
    from datagen.llm.cache import ResponseCache
    from datagen.llm.client import LLMClient
    from datagen.llm.endpoint import resolve
    from datagen.llm.judge import judge_records, response_format

    llm = LLMConfig(base_url=base_url, model=model)
    endpoint = resolve(llm, base_url)
    cache = ResponseCache(Path(__file__).parent / ".cache" / "judge.sqlite")
    client = LLMClient.for_run(endpoint, cache, llm)
    try:
        return await judge_records(as_records(dev), client, JudgeConfig(enabled="on"),
                                   response_fmt=response_format("auto", endpoint.kind))
    finally:
        await client.aclose()


def agreement(res: pd.DataFrame, threshold: float) -> str:
    rows = Counter()
    for label, raw in zip(res["label"], res["scores"], strict=True):
        score = json.loads(raw or "{}").get("judge")
        verdict = "unscored" if score is None else "keep" if score >= threshold else "drop"
        rows[(label, verdict)] += 1
    agree = rows[("keep", "keep")] + rows[("drop", "drop")]
    scored = sum(v for (lab, ver), v in rows.items() if ver != "unscored")
    body = table(["label \\ judge", "keep", "drop", "unscored"],
                 [[lab, rows[(lab, "keep")], rows[(lab, "drop")], rows[(lab, "unscored")]]
                  for lab in ("keep", "drop")])
    return f"## Judge agreement (threshold {threshold})\n\n{body}\n\nagreement on scored " \
           f"rows: {agree / scored:.3f}" if scored else body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true", help="threshold sweeps")
    ap.add_argument("--misses", action="store_true",
                    help="list every miss of the tuning part (the test part is not for tuning)")
    ap.add_argument("--base-url", help="an OpenAI-compatible endpoint for the judge")
    ap.add_argument("--model", help="the judge model")
    ap.add_argument("--semantic", action="store_true",
                    help="also judge off with curation.semantic on (the semantic extra)")
    args = ap.parse_args()
    dev = load()
    res = curated(dev)
    for which, name in PARTS:
        print(report(outcome(res, which), f"Judge off, {name}",
                     show_misses=args.misses and which == "tune"))
        print()
    if args.semantic:
        on = curated(dev, CurationConfig.model_validate({"semantic": {"enabled": True}}))
        for which, name in PARTS:
            print(report(outcome(on, which), f"Judge off, semantic dedup on, {name}",
                         show_misses=args.misses and which == "tune"))
            print()
    if args.sweep:
        print()
        print(sweep(dev))
    if args.base_url:
        records = asyncio.run(judged(dev, args.base_url, args.model))
        cfg = CurationConfig()
        res = curated(dev, cfg, records)
        print()
        for which, name in PARTS:
            print(report(outcome(res, which), f"Judge on ({args.model}), {name}",
                         show_misses=args.misses and which == "tune"))
            print()
        print()
        print(agreement(res, cfg.judge.threshold))
    else:
        print("\n_Judge on: not measured (no endpoint given: --base-url URL --model M)._")


if __name__ == "__main__":
    main()
