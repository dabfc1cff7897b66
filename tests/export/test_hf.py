"""The exports of a run, for real: OpenAI JSONL, Alpaca/ShareGPT, and the HF folder read back
with `datasets.load_dataset` (offline) and its card with `DatasetCard.load`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard

from datagen.config import RunConfig
from datagen.export.card import funnel, per_seed
from datagen.export.folder import export_run, raise_on_format_errors
from datagen.export.split import leakage_check, realised_ratios, split
from datagen.reasons import DropReason
from datagen.run.folder import RunFolder

PRIVATE_URL = "http://gpu-box.internal:8000/v1"
SEEDS = [{"id": "nda", "domain": "legal", "language": "en", "task": "Draft NDA clauses."},
         {"id": "lease", "domain": "legal", "language": "en", "task": "Explain lease terms."}]


def run_export(tmp_path: Path, records: pd.DataFrame, seeds: list[dict[str, Any]] = SEEDS,
               manifest_extra: dict[str, Any] | None = None,
               **export: Any) -> tuple[RunFolder, dict]:
    cfg = RunConfig.model_validate({"out": str(tmp_path), "export": export,
                                    "llm": {"base_url": PRIVATE_URL}})
    labels = split(records, 0.2, 0.1, seed=0)
    manifest = {
        "name": "datagen-test", "run_id": "abc123",
        "endpoint": {"kind": "local", "model": "smol"},
        "counts": funnel(records), "per_seed": per_seed(records, labels, {"nda": 30}),
        "split": {"leakage": leakage_check(records, labels),
                  "ratios": realised_ratios(records, labels)},
        "llm": {"requests": 7, "cache_hits": 2, "prompt_tokens": 100, "completion_tokens": 50},
        **(manifest_extra or {}),
    }
    folder = RunFolder(tmp_path).ensure()
    return folder, export_run(folder.root, records, labels, manifest, cfg, seeds)


@pytest.fixture
def records(make_records) -> pd.DataFrame:
    df = pd.concat([make_records(24, seed_id="nda", turns=True), make_records(12, seed_id="lease")],
                   ignore_index=True)
    df.loc[df.index[-2:], "keep"] = False
    df.loc[df.index[-2:], "drop_reason"] = str(DropReason.REFUSAL)
    df["detected_language"] = "en"
    return df


def test_hf_folder_loads_offline_and_card_round_trips(tmp_path: Path, records) -> None:
    folder, manifest = run_export(tmp_path, records, weight="last")
    ds = load_dataset(str(folder.hf), cache_dir=str(tmp_path / "cache"))
    assert set(ds) == {"train", "validation", "test"}
    assert sum(len(ds[s]) for s in ds) == 34
    assert {"messages", "instruction", "response", "seed_id", "domain", "language"} <= set(
        ds["train"].column_names)
    multi = [r for s in ds for r in ds[s] if r["id"] == "nda000"][0]["messages"]
    assert [m["role"] for m in multi] == ["system", "user", "assistant", "user", "assistant"]
    assert [m["weight"] for m in multi if m["role"] == "assistant"] == [0, 1]

    card = DatasetCard.load(folder.hf / "README.md")
    assert card.data.license == "other" and card.data.language == ["en"]
    assert card.data.task_categories == ["text-generation"]
    assert card.data.size_categories == ["n<1K"] and "legal" in card.data.tags
    files = {c["split"]: c["path"] for c in card.data.configs[0]["data_files"]}
    assert files == {s: f"data/{s}-*.parquet" for s in ("train", "validation", "test")}
    for section in ("## Seeds", "## Funnel", "## Per seed", "## Languages", "## Token lengths",
                    "## Examples: validation", "load_dataset(", "dropped: refusal"):
        assert section in card.text, section
    for png in ("token_lengths", "seed_yield", "languages"):
        path = folder.hf / "plots" / f"{png}.png"
        assert path.read_bytes()[:4] == b"\x89PNG" and f"(plots/{png}.png)" in card.text
    assert card.text.count("  - user:") == 9  # 3 example rows per split
    assert (folder.root / "report.md").read_text().count("](hf/plots/") == 3
    assert manifest["validate"]["train"]["passed"]


def test_no_private_url_or_key_in_published_files(tmp_path: Path, records, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    folder, _ = run_export(tmp_path, records)
    for path in folder.hf.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"gpu-box.internal" not in data and b"sk-test-secret" not in data, path


def test_openai_jsonl_has_no_null_keys_and_optional_system(tmp_path: Path, records) -> None:
    folder, manifest = run_export(tmp_path, records, system_message=False)
    rows = [json.loads(line) for name in ("train", "validation", "test")
            for line in (folder.openai / f"{name}.jsonl").read_text().splitlines()]
    assert len(rows) == 34
    assert all(set(r) == {"messages"} for r in rows)
    msgs = [m for r in rows for m in r["messages"]]
    assert all(None not in m.values() and m["role"] != "system" for m in msgs)
    assert not any("weight" in m for m in msgs)  # weight="none" and turns carry none
    assert all(r["passed"] for r in manifest["validate"].values())
    raise_on_format_errors(manifest)


def test_alpaca_and_sharegpt_on_request(tmp_path: Path, records) -> None:
    folder, manifest = run_export(tmp_path, records, formats=["alpaca", "sharegpt"])
    alpaca = [json.loads(x) for s in ("train", "validation", "test")
              for x in (folder.root / "alpaca" / f"{s}.jsonl").read_text().splitlines()]
    share = [json.loads(x) for s in ("train", "validation", "test")
             for x in (folder.root / "sharegpt" / f"{s}.jsonl").read_text().splitlines()]
    assert len(alpaca) == len(share) == 34
    multi = [a for a in alpaca if a["instruction"] == "Is it binding?"][0]
    assert multi["output"] == "Yes, as a contract." and multi["input"] == ""
    assert multi["history"] == [["What is an NDA?", "A non-disclosure agreement."]]
    assert multi["system"] == "You are a lawyer."
    assert all(set(a) >= {"instruction", "input", "output"} for a in alpaca)
    roles = {tuple(t["from"] for t in s["conversations"]) for s in share}
    assert ("system", "human", "gpt") in roles
    assert ("system", "human", "gpt", "human", "gpt") in roles
    assert "alpaca/train.jsonl" in manifest["exports"]


def test_two_run_folders_do_not_share_a_datasets_cache_entry(tmp_path: Path, make_records) -> None:
    """`datasets` keys a local folder's cache by the card, not the files: without the card's
    `dataset_info`, the second folder would load the first one's rows."""
    cache = str(tmp_path / "cache")
    seen = []
    for seed_id in ("first", "second"):
        folder, _ = run_export(tmp_path / seed_id, make_records(12, seed_id=seed_id))
        ds = load_dataset(str(folder.hf), cache_dir=cache)
        seen.append({r["seed_id"] for s in ds for r in ds[s]})
    assert seen == [{"first"}, {"second"}]


def test_the_card_and_report_md_render_model_and_seed_text_as_text(tmp_path: Path,
                                                                   records) -> None:
    """A `<script>` or `<img onerror>` in an answer, an instruction or a seed field, rendered
    by a CommonMark renderer (raw HTML allowed, as on the Hub): text, never markup."""
    from markdown_it import MarkdownIt

    hostile = ('<script>alert(1)</script> <img src=x onerror=alert(1)> <!-- ``` `x` | '
               '[a](javascript:alert(1))')
    records["instruction"] = records["instruction"] + " " + hostile
    records["response"] = records["response"] + "\n" + hostile
    folder, _ = run_export(tmp_path, records, [
        {**s, "task": f"{s['task']} {hostile}", "domain": f"legal {hostile}"} for s in SEEDS])
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    card = DatasetCard.load(folder.hf / "README.md")
    for text in (card.text, (folder.root / "report.md").read_text()):
        page = md.render(text)
        assert "<script" not in page and "<!--" not in page and 'href="javascript' not in page
        assert not re.search(r"<img(?! src=\"(hf/)?plots/)", page)
        assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # seeds and examples
    assert card.data.tags[2].startswith("legal-script-alert")  # a tag, shown as it is
    assert all(re.fullmatch(r"[\w-]+", t) for t in card.data.tags)
