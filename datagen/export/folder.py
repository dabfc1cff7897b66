"""Every export of a run, in one place: OpenAI JSONL (checked by the pre-flight validator right
after it is written), optional Alpaca/ShareGPT files, the HF folder with its plots and card,
the readable run report (`report.md`) and the HTML report with its record viewer
(`datagen.report`). The pipeline calls `export_run` and then `raise_on_format_errors`
once the manifest is saved, so a failing check still leaves its report in the manifest.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.config import RunConfig
from datagen.errors import ExportError
from datagen.export import plots, preference
from datagen.export.card import card_body
from datagen.export.hf import write_hf
from datagen.export.openai import chat_rows, write_chat_jsonl, write_format
from datagen.export.preference import form_pairs
from datagen.export.split import SPLITS
from datagen.export.validate import token_lengths, validate_file
from datagen.export.validate_report import markdown
from datagen.files import write_text
from datagen.llm.tokens import encoding_name
from datagen.records import kept
from datagen.report import write_report

PLOTS = {"token_lengths": "token_lengths.png", "seed_yield": "seed_yield.png",
         "languages": "languages.png"}


def tag(text: str) -> str:
    """A seed's domain as a Hub tag: lower-case words joined by `-` (a domain is free text
    from a seed file; the card's YAML header shows tags as they are)."""
    return "-".join(re.findall(r"[^\W_]+", text.lower()))[:60]


def split_frames(records: pd.DataFrame, labels: pd.Series) -> dict[str, pd.DataFrame]:
    """Records per split; `test` only when the split has one."""
    frames = {name: records.loc[labels.index[labels == name]] for name in SPLITS}
    return {k: v for k, v in frames.items() if k != "test" or not v.empty}


def split_tokens(splits: dict[str, pd.DataFrame], cfg: RunConfig) -> tuple[dict[str, list[int]],
                                                                            str]:
    """Tokens per exported example of each split, with the first target model's encoding."""
    model = cfg.export.target_models[0] if cfg.export.target_models else "gpt-4o-mini"
    lengths = {name: token_lengths(chat_rows(df, system_message=cfg.export.system_message,
                                             weight=cfg.export.weight), model)
               for name, df in splits.items()}
    return lengths, encoding_name(model)


def _plot_all(records: pd.DataFrame, tokens: tuple[dict[str, list[int]], str],
              folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    plots.save_png(plots.token_histogram(*tokens), folder / PLOTS["token_lengths"])
    plots.save_png(plots.seed_yield(records), folder / PLOTS["seed_yield"])
    langs = kept(records[["keep", "detected_language", "language"]])
    plots.save_png(plots.languages(langs), folder / PLOTS["languages"])


@contextmanager
def timed(manifest: dict[str, Any], part: str) -> Iterator[None]:
    """Seconds spent on one part of the export, in the manifest's `timings_s` (`export_PART`):
    at a million records each part is a stage a user waits for."""
    started = time.perf_counter()
    yield
    manifest.setdefault("timings_s", {})[f"export_{part}"] = round(
        time.perf_counter() - started, 3)


def export_run(root: Path, records: pd.DataFrame, labels: pd.Series,
               manifest: dict[str, Any], cfg: RunConfig,
               seeds: list[dict[str, Any]], sources: dict[str, str] | None = None
               ) -> dict[str, Any]:
    """Write all exports under `root` (a generation being staged); add `validate` (pre-flight
    report per split) and `exports` (files) to `manifest`, and return it."""
    ex = cfg.export
    splits = split_frames(records, labels)
    with timed(manifest, "tokens"):
        tokens = split_tokens(splits, cfg)
    reports, files = {}, []
    for name, df in splits.items():
        path = root / "openai" / f"{name}.jsonl"
        with timed(manifest, f"openai_{name}"):
            write_chat_jsonl(df, path, system_message=ex.system_message, weight=ex.weight)
        with timed(manifest, f"validate_{name}"):
            reports[name] = validate_file(path, ex.target_models, ex.prices)
        files.append(path)
        for fmt in ex.formats:
            out = root / fmt / f"{name}.jsonl"
            write_format(df, out, fmt, system_message=ex.system_message)
            files.append(out)
    pref_rows = None
    if cfg.preference is not None:  # preference pairs beside the SFT pairs
        pairs = form_pairs(records, cfg.preference.margin, labels=labels,
                           system_message=ex.system_message)
        per = preference.by_split(pairs)
        for path in preference.write_openai(per, root / "openai"):
            reports[path.stem] = validate_file(path, ex.target_models, ex.prices)
            files.append(path)
        pref_rows = {name: [preference.trl_row(p) for p in rows] for name, rows in per.items()}
        manifest["preference"] = preference.counts(pairs, sum(len(df) for df in splits.values()))
    manifest["validate"] = reports
    preflight = markdown(reports["train"]) if "train" in reports else None
    names = {k: f"plots/{v}" for k, v in PLOTS.items()}
    languages = sorted({str(s["language"]).split("-")[0] for s in seeds}) or ["en"]
    domains = sorted({tag(str(s["domain"])) for s in seeds} - {""})
    with timed(manifest, "hf"):
        write_hf(splits, root / "hf",
                 card_body=card_body(manifest, splits, seeds, plots=names, preflight=preflight),
                 card_meta={"language": languages, "license": ex.license,
                            "pretty_name": manifest["name"],
                            "tags": ["synthetic", "datagen", *domains]},
                 system_message=ex.system_message, weight=ex.weight,
                 assets=lambda tmp: _plot_all(records, tokens, tmp / "plots"), preference=pref_rows)
    files.append(root / "hf")
    manifest["exports"] = [str(Path(f).relative_to(root)) for f in files]
    report = card_body(manifest, splits, seeds, plots={k: f"hf/{v}" for k, v in names.items()},
                       preflight="\n\n".join(markdown(r) for r in reports.values()),
                       title=f"Run {manifest.get('run_id', '')}: {manifest['name']}")
    write_text(root / "report.md", report + "\n")
    with timed(manifest, "report"):
        write_report(root, manifest, records, labels, *tokens, sources=sources)
    return manifest


def raise_on_format_errors(manifest: dict[str, Any]) -> None:
    """An ExportError naming the files and error classes, when any pre-flight check failed."""
    bad = {name: r["format_errors"] for name, r in manifest.get("validate", {}).items()
           if not r["passed"]}
    if bad:
        parts = []
        for name, errors in bad.items():
            classes = ", ".join(f"{c} x{v['count']}" for c, v in errors.items())
            parts.append(f"{name}.jsonl: {classes}")
        detail = "; ".join(parts)
        raise ExportError(f"OpenAI format errors: {detail}",
                          hint="see `validate` in the manifest, or run `datagen validate FILE`")
