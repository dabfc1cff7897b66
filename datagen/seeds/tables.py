"""Reading a seed's table (CSV, Parquet, JSON Lines) and filling a seed's placeholders from a
row: "a customer asks about {product_name} ({category}, {price})".

The placeholders of the task and the example instructions are checked against the table's
columns when the seed is loaded, so a typo fails before any call is paid for.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.errors import SeedError
from datagen.seeds.limits import check_file

SUFFIXES = (".csv", ".parquet", ".jsonl")


def read_table(path: Path, *, max_bytes: int) -> pd.DataFrame:
    """The table's rows as strings (missing values are empty strings)."""
    suffix = check_file(path, SUFFIXES, "tables", max_bytes, "sample the table down")
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_json(path, lines=True, dtype=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise SeedError(f"{path}: not UTF-8 text", hint="save the table as UTF-8 and run "
                        "again") from None
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise SeedError(f"{path}: not a readable {suffix[1:]} table ({str(exc)[:200]})",
                        hint="check that the file is well formed (one header row for CSV, "
                             "one JSON object per line for JSONL)") from None
    if df.empty or not len(df.columns):
        raise SeedError(f"{path}: the table has no rows",
                        hint="give the table at least one row under its header")
    df.columns = [str(c) for c in df.columns]
    return df.astype(object).where(df.notna(), "").astype(str)


def placeholders(text: str, where: str, path: Path) -> set[str]:
    """The `{name}` placeholders of one seed text."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError as exc:
        raise SeedError(f"{path}: field `{where}`: {exc} in {text[:80]!r}",
                        hint="write placeholders as {column}, and literal braces as {{ }}"
                        ) from None


def check_columns(table: pd.DataFrame, texts: dict[str, str], path: Path,
                  table_path: Path) -> None:
    """Every placeholder of the seed's texts must be a column of the table."""
    columns = set(table.columns)
    for where, text in texts.items():
        missing = sorted(placeholders(text, where, path) - columns)
        if missing:
            raise SeedError(
                f"{path}: field `{where}` uses {', '.join('{' + m + '}' for m in missing)}, "
                f"which {table_path} has no column for (its columns: "
                f"{', '.join(sorted(columns)[:20])})",
                hint="rename the placeholder to one of the table's columns, or add the column")


def fill(text: str, row: dict[str, Any]) -> str:
    """`text` with its placeholders filled from the row."""
    return text.format_map(row) if "{" in text else text


def row_text(row: dict[str, str]) -> str:
    """A row as the reference a response is written from: one `column: value` a line."""
    return "\n".join(f"{k}: {v}" for k, v in row.items() if str(v).strip())
