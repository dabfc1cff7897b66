"""The report's sections as HTML, from the manifest (numbers) and the records (plots).

Each function returns one `<section>`; every number comes from the manifest the run wrote,
so the page and `manifest.json` cannot disagree. Text from users or models is escaped
(`datagen.markup.html_text`, the one HTML escape).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from datagen.checks.registry import stage_of
from datagen.export import plots
from datagen.markup import html_text
from datagen.records import kept


def table(header: list[str], rows: list[list[Any]], *, numeric_from: int = 1,
          cls: str = "") -> str:
    """An HTML table; columns from `numeric_from` on are right-aligned numbers."""
    head = "".join(f"<th{' class=num' if i >= numeric_from else ''}>{html_text(str(h))}</th>"
                   for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else (
                f"{value:,.4g}" if isinstance(value, float) else str(value))
            cells.append(f"<td{' class=num' if i >= numeric_from else ''}>{html_text(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")


def section(anchor: str, title: str, *parts: str) -> str:
    return f"<section id='{anchor}'><h2>{html_text(title)}</h2>" + "".join(parts) + "</section>"


def figure(fig: Any, caption: str) -> str:
    return f"<figure>{plots.svg(fig)}<figcaption>{html_text(caption)}</figcaption></figure>"


def note(text: str, cls: str = "note") -> str:
    return f"<p class='{cls}'>{html_text(text)}</p>"


def header(manifest: dict[str, Any]) -> str:
    ep, c = manifest.get("endpoint", {}), manifest["counts"]
    llm = manifest.get("llm", {})
    tiles = [("generated", c["generated"]), ("kept", c["kept"]),
             ("train", c.get("train", 0)), ("validation", c.get("validation", 0)),
             ("LLM calls", llm.get("requests", 0)), ("cost", f"${llm.get('cost_usd', 0):.4f}")]
    tile_html = "".join(f"<div class='tile'><b data-count='{html_text(k)}'>"
                        f"{html_text(f'{v:,}' if isinstance(v, int) else str(v))}</b>"
                        f"<span>{html_text(k)}</span></div>" for k, v in tiles)
    short = sum(1 for s in manifest["per_seed"].values() if s.get("shortfall"))
    status = (f"<span class='badge warn'>{short} seed(s) short of target</span>" if short
              else "<span class='badge ok'>every seed met its target</span>")
    meta = " · ".join([
        f"run {html_text(manifest['run_id'])}",
        f"generation {html_text(str(manifest.get('generation_id', '')))}",
        html_text(str(manifest.get("created", ""))),
        f"model <code>{html_text(str(ep.get('model')))}</code> ({html_text(str(ep.get('kind')))})",
        f"datagen {html_text(str(manifest.get('datagen_version', '')))}"])
    return (f"<header><h1>{html_text(manifest['name'])} {status}</h1><p class='meta'>{meta}</p>"
            f"<div class='tiles'>{tile_html}</div></header>")


def funnel(manifest: dict[str, Any]) -> str:
    c = manifest["counts"]
    stage = c.get("by_stage", {})
    steps = [["expand: instructions made", stage.get("expanded", c["generated"])],
             ["respond: answered", stage.get("responded", 0)],
             ["judge: judged", stage.get("judged", 0)],
             ["curate: kept", c["kept"]]]
    rows = [[reason, stage_of(reason), n, f"{100 * n / max(1, c['generated']):.1f}%"]
            for reason, n in c["by_reason"].items()]
    return section(
        "funnel", "Funnel",
        table(["step", "records"], steps, cls="funnel-steps"),
        table(["drop reason", "stage", "records", "share"], rows, numeric_from=2,
              cls="funnel") if rows else note("Nothing was dropped."),
        figure(plots.funnel(c["by_reason"], c["kept"]), "kept records and each drop reason"))


def seeds(manifest: dict[str, Any], records: pd.DataFrame) -> str:
    gen = manifest.get("generation") or {}
    rows = []
    for sid, s in manifest["per_seed"].items():
        g = gen.get(sid, {})
        rows.append([sid, s["target"], s["generated"], s["kept"], s["shortfall"],
                     s.get("train", 0), s.get("validation", 0), g.get("stop", "-"),
                     g.get("calls", 0), g.get("call_limit", "-")])
    strategy_rows = [[sid, name, st["generated"], st["kept"],
                      "-" if st["yield"] is None else f"{st['yield']:.1%}"]
                     for sid, g in gen.items() for name, st in g.get("by_strategy", {}).items()]
    rounds = [[sid, r["round"], r["made"], r["duplicates"], r["kept"],
               f"{r['duplicate_share']:.0%}"]
              for sid, g in gen.items() for r in g.get("by_round", [])]
    return section(
        "seeds", "Per seed and strategy",
        table(["seed", "target", "generated", "kept", "shortfall", "train", "validation",
               "stop", "calls", "call limit"], rows),
        figure(plots.seed_yield(records), "kept and dropped records per seed"),
        "<h3>Strategies</h3>",
        table(["seed", "strategy", "generated", "kept", "yield"], strategy_rows,
              numeric_from=2) if strategy_rows else "",
        "<h3>Rounds</h3>",
        table(["seed", "round", "instructions", "duplicates", "kept", "duplicate share"],
              rounds) if rounds else "")


def lengths(splits: dict[str, pd.DataFrame], tokens: dict[str, list[int]],
            encoding: str) -> str:
    from datagen.text import word_counts

    words_in = {n: word_counts(df["instruction"].fillna("")).tolist() for n, df in splits.items()}
    words_out = {n: word_counts(df["response"].fillna("")).tolist() for n, df in splits.items()}
    return section(
        "lengths", "Lengths per split",
        "<div class='grid'>",
        figure(plots.token_histogram(tokens, encoding), "tokens per exported example"),
        figure(plots.word_histogram(words_in, "instruction"), "words per instruction"),
        figure(plots.word_histogram(words_out, "response"), "words per response"),
        "</div>")


def languages(manifest: dict[str, Any], records: pd.DataFrame) -> str:
    live = kept(records[["keep", "detected_language", "language"]])
    lang = live["detected_language"].fillna(live["language"]).fillna("unknown").astype(str)
    rows = [[k or "unknown", int(v), f"{v / max(1, len(live)):.1%}"]
            for k, v in lang.value_counts().items()]
    div = (manifest.get("diversity") or {}).get("per_seed", {})
    drows = []
    for sid, d in div.items():
        cov = d.get("topic_coverage") or {}
        drows.append([sid, d.get("distinct_1"), d.get("distinct_2"), d.get("distinct_3"),
                      (d.get("pairwise_similarity") or {}).get("mean"),
                      d.get("near_dup_drop_share"),
                      (d.get("first_words") or {}).get("distinct_share"),
                      f"{cov.get('covered', '-')}/{cov.get('leaves', '-')}" if cov else "-"])
    srows = [[sid, m["judged"], m["clusters"], m["duplicate_share"], m["spread"],
              "; ".join(f"{t[:80]} ({n})" for t, n in m["crowded"]) or "-"]
             for sid, m in (manifest.get("semantic") or {}).items()]
    return section(
        "languages", "Languages and diversity",
        "<div class='grid'>",
        figure(plots.languages(live), "detected language of kept pairs"),
        "<div>" + table(["language", "pairs", "share"], rows) + "</div></div>",
        "<h3>Diversity</h3>",
        table(["seed", "distinct-1", "distinct-2", "distinct-3", "pairwise similarity",
               "near-dup share", "first words distinct", "topics covered"], drows)
        if drows else "",
        "<h3>Semantic coverage</h3>" + table(
            ["seed", "judged", "clusters", "semantic dup share", "spread",
             "most crowded (instruction, records)"], srows) if srows else "")


def cost(manifest: dict[str, Any]) -> str:
    llm = manifest.get("llm", {})
    rows = [[name, u.get("requests", 0), u.get("cache_hits", 0), u.get("failures", 0),
             u.get("prompt_tokens", 0), u.get("completion_tokens", 0),
             f"${u.get('cost_usd', 0):.4f}"]
            for name, u in (llm.get("by_stage") or {}).items()]
    rows.append(["all", llm.get("requests", 0), llm.get("cache_hits", 0),
                 llm.get("failures", 0), llm.get("prompt_tokens", 0),
                 llm.get("completion_tokens", 0), f"${llm.get('cost_usd', 0):.4f}"])
    pre = []
    for name, rep in (manifest.get("validate") or {}).items():
        dist = (rep.get("tokens") or {}).get("per_example", {})
        for model, m in rep.get("models", {}).items():
            pre.append([name, model, rep["valid"], len(rep.get("format_errors") or {}),
                        m["epochs"], m["billed_tokens"], m["over_limit"],
                        f"${m['cost_usd']:.4f}", dist.get("p95", "-")])
    return section(
        "cost", "Cost and tokens",
        table(["stage", "requests", "cached", "failed", "prompt tokens", "completion tokens",
               "cost"], rows),
        "<h3>OpenAI fine-tuning pre-flight</h3>",
        table(["split", "target model", "valid examples", "format error classes", "epochs",
               "billed tokens", "over limit", "cost", "p95 tokens"], pre, numeric_from=2)
        if pre else note("No pre-flight report."))


def sources(manifest: dict[str, Any]) -> str:
    """Grounded seeds: what each file gave, and how evenly its chunks or rows were used."""
    info = manifest.get("sources") or {}
    if not info.get("seeds"):
        return ""
    rows, notes = [], []
    for seed_id, s in info["seeds"].items():
        for file, f in s["files"].items():
            rows.append([seed_id, file, f["units"], f["asked"], f["used"], f["instructions"],
                         f["kept"], f"{f['kept'] / f['instructions']:.0%}" if f["instructions"]
                         else ""])
        spread = s["pairs_per_unit"]
        notes.append(note(
            f"{seed_id}: {s['used']} of {s['units']} {s['kind']} gave kept pairs; pairs per "
            f"{s['kind'][:-1]}: min {spread['min']}, mean {spread['mean']}, max "
            f"{spread['max']}. Train and validation share {s['shared_units']} "
            f"{s['kind']}.", "ok" if not s["shared_units"] else "warn"))
        if s.get("masked_units"):
            notes.append(note(f"{seed_id}: PII masked in {s['masked_units']} {s['kind']} "
                              "before any was sent to the endpoint."))
    head = ["seed", "file", "units", "asked about", "gave kept pairs", "instructions", "kept",
            "yield"]
    return section("sources", "Sources", table(head, rows, numeric_from=2), *notes)


def split_check(manifest: dict[str, Any]) -> str:
    info = manifest["split"]
    leak = info["leakage"]
    rows = [[seed, r.get("train", 0), r.get("validation", 0), r.get("test", 0),
             r.get("validation_share", "")] for seed, r in info.get("ratios", {}).items()]
    parts = [table(["seed", "train", "validation", "test", "validation share"], rows),
             note(f"Near-duplicate check at ratio {leak['threshold']:.0f}: "
                  f"{leak['crossing_pairs']} crossing pairs, {leak['crossing_clusters']} "
                  f"shared clusters"
                  + (f", {leak['crossing_sources']} shared source chunks or rows"
                     if "crossing_sources" in leak else "")
                  + f": {'passed' if leak['passed'] else 'FAILED'}.",
                  "ok" if leak["passed"] else "warn")]
    shares = info.get("shares") or {}
    if shares.get("misses"):
        parts.append(note(f"The shares asked could not be met: {shares['warning']}.", "warn"))
        parts.append(table(
            ["seed", "split", "asked", "realised", "largest group", "group share", "in",
             "example"],
            [[m["seed"], m["split"], m["asked_share"], m["realised_share"], g["size"],
              g["share"], g["split"], g["example"]]
             for m in shares["misses"] for g in m["largest_groups"]]))
    return section("split", "Split check", *parts)


def human(manifest: dict[str, Any]) -> str:
    h = manifest.get("human") or {}
    if not h:
        return section("human", "Human review", note(
            "No human verdicts yet: mark records in the viewer below, download the verdicts "
            "file, then run `datagen curate RUN_DIR --verdicts verdicts.jsonl`."))
    rows = [[k, v] for k, v in h.get("counts", {}).items()]
    return section("human", "Human review", table(["verdict", "records"], rows),
                   note(f"From {h.get('file', 'verdicts.jsonl')}; human verdicts come before "
                        "every other check."))


def stat(value: dict[str, Any] | None) -> str:
    """A statistic of `datagen.evaluate.agreement` as 'value [low, high]', '-' when undefined."""
    if not value or value.get("value") is None:
        return "-"
    ci = value.get("ci95")
    return f"{value['value']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def models(manifest: dict[str, Any]) -> str:
    """The models by role (tokens and cost), the self-judged notice, the preference pairs and
    the latest judge-check; empty for a run that records none of them."""
    roles = manifest.get("models") or {}
    pref = manifest.get("preference")
    check = manifest.get("judge_check")
    if not roles and not pref and not check:
        return ""
    parts = []
    if roles:
        parts.append(table(
            ["role", "model", "requests", "prompt tokens", "completion tokens", "cost"],
            [[role, f"{m.get('model', '?')} ({m.get('name', '?')})", m.get("requests", 0),
              m.get("prompt_tokens", 0), m.get("completion_tokens", 0),
              f"${m.get('cost_usd', 0.0):.4f}"] for role, m in roles.items()], numeric_from=2))
    if manifest.get("self_judged"):
        parts.append(note("Self-judged: the judge is the model that wrote the answers, and a "
                          "model favours its own answers. Name another judge with "
                          "--judge-base-url/--judge-model (or models: and roles.judge).", "warn"))
    if pref:
        parts.append(note(f"Preference pairs: {pref.get('pairs', 0)} (train "
                          f"{pref.get('train', 0)}, validation {pref.get('validation', 0)}), "
                          f"{pref.get('per_100_prompts', 0)} per 100 kept prompts, mean margin "
                          f"{pref.get('mean_margin', 0)}."))
    if check:
        best = check.get("best_threshold") or {}
        parts.append("<h3>Judge check</h3>")
        parts.append(table(
            ["reviewed", "agreement", "kappa", "drop precision", "drop recall",
             "best threshold", "its agreement"],
            [[check.get("n", 0), stat(check.get("agreement")), stat(check.get("kappa")),
              stat(check.get("drop_precision")), stat(check.get("drop_recall")),
              best.get("threshold", "-"), stat(best.get("agreement"))]], numeric_from=0))
        parts.append(note(f"From {check.get('verdicts_file', 'verdicts.jsonl')} at "
                          f"{check.get('created', '')}; intervals are 95%."))
        parts.extend(note(w, "warn") for w in check.get("warnings") or [])
    elif roles.get("judge"):
        parts.append(note("No judge check yet: review records below, then run "
                          "`datagen judge-check RUN_DIR` to measure the judge against them."))
    return section("models", "Models and judge", *parts)


def shapes(manifest: dict[str, Any]) -> str:
    """Seeds with `output_schema`, `tools` or `turns`: the drops for their shape, the schema
    fields that failed most, the calls per tool of kept records, and conversation lengths."""
    info = manifest.get("shapes")
    if not info:
        return ""
    parts = []
    if info["dropped"]:
        parts.append(table(["drop reason", "records"], [[k, v] for k, v in
                                                        info["dropped"].items()]))
    if info["schema_failures"]:
        parts.append(table(["schema field that failed", "answers"],
                           [[k, v] for k, v in info["schema_failures"].items()]))
    if info["calls_per_tool"]:
        parts.append(note(f"{info['kept_calling_tools']} kept records call a tool."))
        parts.append(table(["tool", "calls in kept records"],
                           [[k, v] for k, v in info["calls_per_tool"].items()]))
    if info["kept_by_turns"]:
        parts.append(table(["user turns (messages written by the user)", "kept conversations"],
                           [[k, v] for k, v in info["kept_by_turns"].items()]))
        if "1" in info["kept_by_turns"]:
            parts.append(note("A conversation of one user turn is a request answered through "
                              "tool calls: its calls and the tool replies are not user turns."))
    if info.get("failed_turns"):
        parts.append(table(["turn that failed: why", "conversations dropped"],
                           [[k, v] for k, v in info["failed_turns"].items()]))
    return section("shapes", "Structured answers, tool calls and turns", *parts)
