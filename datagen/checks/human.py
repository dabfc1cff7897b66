"""Human verdicts: a reviewer's keep or drop, the first check and the last word.

A verdicts file is JSON Lines, one record per line: `{"id": ..., "verdict": "keep" | "drop",
"note": ...}`, as the report's viewer downloads it. `datagen curate RUN_DIR --verdicts FILE`
checks it against the run's records, merges it into the run folder's `verdicts.jsonl` (a
later verdict on an id replaces an earlier one) and re-curates. `drop` drops the record
(`human_drop`); `keep` keeps it whatever the other checks say (no later check sees it).
Both are written into the record's `scores` (`human`, `human_note`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.checks.check import Check, Context, Verdicts
from datagen.errors import ConfigError
from datagen.files import write_text
from datagen.reasons import DropReason
from datagen.records import json_cell

VERDICTS = ("keep", "drop")


def read_verdicts(path: str | Path, records: pd.DataFrame | None = None
                  ) -> dict[str, dict[str, str]]:
    """id -> {"verdict", "note"} from a verdicts file; errors name the line and the fix.
    With the run's `records`, every id must be one of them, and a keep needs an answer (a
    record dropped before the respond stage has no response to export)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a verdicts file: not UTF-8 text",
                          hint="pass the verdicts.jsonl the report's viewer downloaded") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the verdicts file ({exc.__class__.__name__})",
                          hint="pass the verdicts.jsonl the report's viewer downloaded") from None
    out: dict[str, dict[str, str]] = {}
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{no}: not JSON ({exc.msg})",
                              hint='one object per line: {"id": "...", "verdict": "keep"}') \
                from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise ConfigError(f"{path}:{no}: no string `id`",
                              hint='one object per line: {"id": "...", "verdict": "keep"}')
        if row.get("verdict") not in VERDICTS:
            raise ConfigError(f"{path}:{no}: verdict {row.get('verdict')!r} for {row['id']}",
                              hint="a verdict is keep or drop")
        out[row["id"]] = {"verdict": row["verdict"], "note": str(row.get("note") or "")}
    if records is not None:
        ids = records["id"].astype(str)
        unknown = sorted(set(out) - set(ids))
        if unknown:
            raise ConfigError(f"{path}: {len(unknown)} ids are not records of this run "
                              f"(e.g. {', '.join(unknown[:3])})",
                              hint="review the report of this run folder, not another one's")
        response = records["response"].astype("string").str.strip().fillna("")
        unanswered = {i: r for i, r, a in zip(ids, records["drop_reason"], response,
                                              strict=True) if not a}
        bad = sorted(i for i, v in out.items() if v["verdict"] == "keep" and i in unanswered)
        if bad:
            raise ConfigError(
                f"{path}: {len(bad)} records marked keep were never answered (e.g. {bad[0]}, "
                f"dropped as {unanswered[bad[0]]} before the respond stage)",
                hint="a kept record needs a response: remove those lines, or loosen the check "
                     "in the run config and rerun `datagen run` to answer them")
    return out


def write_verdicts(path: Path, verdicts: dict[str, dict[str, str]]) -> None:
    write_text(path, "".join(json.dumps({"id": k, **v}, ensure_ascii=False) + "\n"
                             for k, v in sorted(verdicts.items())))


def _human(ctx: Context) -> Verdicts:
    verdicts = ctx.refs.verdicts
    ids = ctx.frame["id"].astype(str)
    marks = ids.map(lambda i: verdicts.get(i, {}).get("verdict"))
    notes = ids.map(lambda i: verdicts.get(i, {}).get("note") or None)
    drop = marks == "drop"
    out = Verdicts.where(drop, DropReason.HUMAN_DROP)
    out.protect = marks == "keep"
    out.scores = {"human": marks.where(marks.notna(), None).astype(object),
                  "human_note": notes.astype(object)}
    return out


CHECK = Check(
    name="human", stage="human", order=100,
    reasons=(DropReason.HUMAN_DROP,), inputs=("id",), section=None,
    level="instruction", run=_human, active=lambda ctx: bool(ctx.refs.verdicts),
)


def counts(records: pd.DataFrame) -> dict[str, int]:
    """Records a human kept or dropped, from their scores."""
    marks = [json_cell(s).get("human") for s in records["scores"].tolist()]
    return {"keep": sum(m == "keep" for m in marks), "drop": sum(m == "drop" for m in marks)}
