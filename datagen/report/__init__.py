"""The run report, `report.html`: what a team looks at before it trusts a corpus.

    sections.py  the summary: funnel, seeds and strategies, lengths, languages and diversity,
                 models by role, preference pairs and the judge check, cost and the OpenAI
                 pre-flight, the split check, human review
    data.py      the record viewer's index and text chunks
    assets/      the page's stylesheet and the viewer's script (inlined)

`write_report` builds the page from a run folder's records and manifest: `run` and `curate`
write it into every generation, and `datagen report RUN_DIR` rewrites it. Plots are inline
SVG; the viewer pages, filters, searches and sorts every record in the browser and lets a
reviewer mark records keep or drop and download the verdicts (`datagen curate --verdicts`).
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.files import write_text
from datagen.markup import html_text, script_json
from datagen.report import data, sections

FILE = "report.html"
FILES = "report_files"  # text chunks of a run too big to inline

VIEWER = """
<section id="viewer"><h2>Records</h2>
<div class="controls">
  <select id="f-seed"></select><select id="f-strategy"></select><select id="f-split"></select>
  <select id="f-reason"></select><select id="f-language"></select>
  <input id="q" type="search" placeholder="search the full text, or an id">
  <label>sort <select id="sort"></select></label>
  <select id="dir"><option value="desc">high first</option><option value="asc">low first</option>
  </select>
</div>
<div class="controls"><span id="count"></span><span id="status"></span>
  <span style="flex:1"></span><button id="prev">&larr;</button><span id="page"></span>
  <button id="next">&rarr;</button><button id="download">Download verdicts (0)</button></div>
<table id="records"><thead><tr><th>id</th><th>seed</th><th>strategy</th><th>split</th>
<th>verdict</th><th>lang</th><th>score</th><th class="snippet">instruction</th><th>review</th>
</tr></thead><tbody id="rows"></tbody></table>
</section>
<aside id="detail" hidden><button id="close" style="float:right">Close</button>
<div id="detail-body"></div></aside>
"""


def _asset(name: str) -> str:
    return resources.files("datagen.report").joinpath("assets", name).read_text(encoding="utf-8")


def render(manifest: dict[str, Any], records: pd.DataFrame, labels: pd.Series,
           tokens: dict[str, list[int]], encoding: str, *,
           files_dir: Path | None = None, sources: dict[str, str] | None = None) -> str:
    """The page. Text chunks past `data.INLINE_BYTES` go to `files_dir` (`report_files/`)."""
    texts_of = records[["instruction", "response"]]  # what `sections.lengths` reads
    splits = {name: texts_of.loc[labels.index[labels == name]]
              for name in ("train", "validation", "test") if (labels == name).any()}
    shown = data.viewed(records)
    index, chunks = data.build(shown, labels, sources)
    dumped = [script_json(c) for c in chunks]
    inline = sum(len(c) for c in dumped) <= data.INLINE_BYTES or files_dir is None
    if inline:
        if files_dir is not None and files_dir.exists():
            shutil.rmtree(files_dir)  # an earlier, bigger generation's chunks
        texts = "".join(f'<script type="application/json" id="chunk-{j}">{c}</script>'
                        for j, c in enumerate(dumped))
    else:
        if files_dir.exists():
            shutil.rmtree(files_dir)
        files_dir.mkdir(parents=True)
        for j, c in enumerate(dumped):
            write_text(files_dir / f"chunk-{j:05d}.js", f"datagenChunk({j},{c});\n")
        texts = ""
    meta = {"run_id": manifest["run_id"], "files": FILES, "inline": inline}
    models = sections.models(manifest)
    body = [
        sections.header(manifest),
        "<nav><div><a href='#funnel'>Funnel</a><a href='#seeds'>Seeds</a>"
        "<a href='#lengths'>Lengths</a><a href='#languages'>Languages</a>"
        + ("<a href='#sources'>Sources</a>" if manifest.get("sources") else "")
        + ("<a href='#models'>Models</a>" if models else "")
        + "<a href='#cost'>Cost</a><a href='#split'>Split</a><a href='#human'>Review</a>"
        "<a href='#viewer'>Records</a></div></nav>",
        sections.funnel(manifest), sections.seeds(manifest, records),
        sections.lengths(splits, tokens, encoding), sections.languages(manifest, records),
        sections.sources(manifest), sections.shapes(manifest),
        models, sections.cost(manifest), sections.split_check(manifest), sections.human(manifest),
        VIEWER.replace("<h2>Records</h2>",
                       "<h2>Records</h2>" + sample_note(len(shown), len(records)), 1),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"  # no favicon request: served, it would 404
        f"<title>datagen report: {html_text(manifest['name'])}</title>"
        f"<style>{_asset('report.css')}</style></head><body>"
        + "".join(body)
        + f'<script type="application/json" id="report-meta">{script_json(meta)}</script>'
        + f'<script type="application/json" id="index">{script_json(index)}</script>'
        + texts + f"<script>{_asset('viewer.js')}</script></body></html>")


def sample_note(shown: int, total: int) -> str:
    """What the viewer holds, when it is not every record."""
    if shown == total:
        return ""
    return (f"<p class='note'>The record viewer below holds a fixed sample of {shown:,} of the "
            f"run's {total:,} records (chosen by id); every record, with its verdict and "
            "split, is in records.parquet, and the figures above count them all.</p>")


def write_report(root: Path, manifest: dict[str, Any], records: pd.DataFrame,
                 labels: pd.Series, tokens: dict[str, list[int]], encoding: str, *,
                 sources: dict[str, str] | None = None) -> Path:
    """Write `root/report.html` (and `root/report_files/` for a run too big to inline);
    `sources` (grounded seeds' chunk and row texts by id) are shown beside their pairs."""
    files_dir = root / FILES
    page = render(manifest, records, labels, tokens, encoding, files_dir=files_dir,
                  sources=sources)
    path = root / FILE
    write_text(path, page)
    return path
