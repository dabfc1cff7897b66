"""A Hugging Face dataset folder: Parquet per split under `data/` and a README.md card whose
YAML `configs` let `datasets.load_dataset(folder)` find the splits offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, DatasetCardData

from datagen.export.openai import messages
from datagen.runfolder import atomic_dir

COLUMNS = ("id", "messages", "instruction", "response", "seed_id", "domain", "language")

_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
SCHEMA = pa.schema([
    ("id", pa.string()), ("messages", pa.list_(_MESSAGE)), ("instruction", pa.string()),
    ("response", pa.string()), ("seed_id", pa.string()), ("domain", pa.string()),
    ("language", pa.string()),
])


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def table(records: pd.DataFrame, *, system_message: bool = True) -> pa.Table:
    rows = {c: [] for c in COLUMNS}
    for _, r in records.iterrows():
        rows["messages"].append(messages(r, system_message=system_message))
        for c in COLUMNS:
            if c != "messages":
                rows[c].append(None if pd.isna(r[c]) else str(r[c]))
    return pa.Table.from_pydict(rows, schema=SCHEMA)


def write_hf(
    splits: dict[str, pd.DataFrame], folder: str | Path, *, card_body: str,
    card_meta: dict[str, Any], system_message: bool = True,
) -> dict[str, int]:
    """Write the folder atomically; return the row count per split written."""
    counts = {}
    with atomic_dir(folder) as tmp:
        (tmp / "data").mkdir()
        configs = []
        for name, df in splits.items():
            if df.empty:
                continue
            pq.write_table(table(df, system_message=system_message),
                           tmp / "data" / f"{name}-00000-of-00001.parquet")
            configs.append({"split": name, "path": f"data/{name}-*.parquet"})
            counts[name] = len(df)
        total = sum(counts.values())
        data = DatasetCardData(
            configs=[{"config_name": "default", "data_files": configs}],
            size_categories=[size_category(total)],
            task_categories=["text-generation"],
            **card_meta,
        )
        card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{card_body}\n")
        (tmp / "README.md").write_text(str(card), encoding="utf-8")
    return counts
