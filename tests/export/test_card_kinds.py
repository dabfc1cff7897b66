"""The dataset card states the data kinds of a run (tool calls, several user turns, output
schemas) from the manifest's `shapes` and the seeds, escaped as text; a run without them has
no such section."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from huggingface_hub import DatasetCard
from markdown_it import MarkdownIt

from datagen.checks.conformance import shape_counts
from tests.export.conftest import small_records
from tests.export.test_hf import run_export

HOSTILE = "<script>alert(1)</script>|`x`"
TOOLS = [{"type": "function", "function": {"name": "get_order", "parameters": {
    "type": "object", "properties": {"order_id": {"type": "string"}}}}}]
SCHEMA = {"type": "object", "required": ["customer", HOSTILE],
          "properties": {"customer": {"type": "string"}, HOSTILE: {"type": "number"},
                         "items": {"type": "array"}}}
SEEDS = [{"id": "shop", "domain": "retail", "language": "en", "task": "Orders.", "tools": TOOLS},
         {"id": "orders", "domain": "retail", "language": "en", "task": "Extract.",
          "output_schema": SCHEMA},
         {"id": "tutor", "domain": "school", "language": "en", "task": "Teach.", "turns": 3}]


def _tool_meta(i: int) -> dict:
    call = {"id": f"call_{i}", "type": "function",
            "function": {"name": "get_order", "arguments": json.dumps({"order_id": f"A{i}"})}}
    return {"tools": TOOLS, "calls": [f'get_order({{"order_id": "A{i}"}})'] * (1 + i % 2),
            "turns": [{"role": "user", "content": f"Where is order A{i}?"},
                      {"role": "assistant", "content": None, "tool_calls": [call]},
                      {"role": "tool", "tool_call_id": f"call_{i}", "content": "shipped"},
                      {"role": "assistant", "content": "It has shipped."}]}


def _kinds_records() -> pd.DataFrame:
    shop, orders, tutor = (small_records(n, seed_id=s) for n, s in
                           ((6, "shop"), (5, "orders"), (4, "tutor")))
    shop["metadata"] = [json.dumps(_tool_meta(i) if i < 4 else {"tools": TOOLS, "calls": []})
                        for i in range(6)]
    orders["response"] = [json.dumps({"customer": f"c{i}", HOSTILE: i}) for i in range(5)]
    turns = [{"role": r, "content": f"{r} {k}"} for k in range(3) for r in ("user", "assistant")]
    tutor["metadata"] = [json.dumps({"turns": turns}) for _ in range(4)]
    df = pd.concat([shop, orders, tutor], ignore_index=True)
    df["detected_language"] = "en"
    return df


def test_the_card_states_tool_calls_turns_and_output_schemas(tmp_path: Path) -> None:
    records = _kinds_records()
    shapes = shape_counts(records)
    assert shapes["kept_calling_tools"] == 4 and shapes["kept_by_turns"] == {"1": 4, "3": 4}
    folder, _ = run_export(tmp_path, records, SEEDS, manifest_extra={"shapes": shapes})
    card = DatasetCard.load(folder.hf / "README.md").text
    for text in (card, (folder.root / "report.md").read_text()):
        kinds = text.split("## Data kinds", 1)[1].split("\n## ", 1)[0]
        assert "**Tool calling**: 4 of the 15 kept records are conversations" in kinds
        assert "| get_order | 6 |" in kinds  # 1 + 2 + 1 + 2 calls
        # the tool conversations (one user turn each) are not counted as multi-turn
        assert "**Multi-turn**: 4 of the 15 kept records" in kinds and "| 3 | 4 |" in kinds
        assert "| 1 |" not in kinds
        assert "**Structured output**: 5 of the 15 kept records" in kinds
        page = MarkdownIt("commonmark").enable(["table"]).render(kinds)
        assert "<script" not in page
        cells = re.findall(r"<td>(.*?)</td>", page)
        field = "&lt;script&gt;alert(1)&lt;/script&gt;|`x`"  # the `|` stays in its cell
        at = cells.index("orders")
        assert cells[at:at + 4] == ["orders", "5", f"customer, {field}, items",
                                    f"customer, {field}"]


def test_a_run_without_these_kinds_has_no_such_section(tmp_path: Path) -> None:
    records = small_records(10, seed_id="nda", turns=True)  # a two-turn record, but no shapes
    records["detected_language"] = "en"
    folder, _ = run_export(tmp_path, records)
    assert "Data kinds" not in (folder.hf / "README.md").read_text()
    # a tools seed whose kept records never called a tool states none either
    records["metadata"] = json.dumps({"tools": TOOLS, "calls": []})
    shapes = shape_counts(records)
    assert shapes["kept_calling_tools"] == 0
    folder, _ = run_export(tmp_path / "b", records, manifest_extra={"shapes": shapes})
    assert "Data kinds" not in (folder.hf / "README.md").read_text()
