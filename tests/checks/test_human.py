"""Human verdicts: a reviewer's keep or drop is the first check and the last word, and a
verdicts file that cannot be applied says which line and how to fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagen.checks.human import counts, read_verdicts
from datagen.curate import References
from datagen.errors import ConfigError
from tests.curate.helpers import reasons, records, run

SHORT = "Yes."  # a response the length check drops
TASKS = ("Explain what a mutual confidentiality clause requires from both parties.",
         "Draft a clause limiting how a reseller may use the supplier's price lists.",
         "Summarise when a receiving party may disclose information to a court.",
         "List the remedies a disclosing party can seek after a breach of the NDA.")


def _refs(**verdicts: str) -> References:
    return References(verdicts={i: {"verdict": v, "note": f"{v} {i}"}
                                for i, v in verdicts.items()})


def test_drop_drops_and_keep_outranks_every_later_check() -> None:
    df = records(*({"instruction": t} for t in TASKS))
    df.loc[2, "response"] = SHORT
    out = run(df, refs=_refs(r0="drop", r2="keep"))
    assert reasons(out) == ["human_drop", None, None, None]
    scores = [json.loads(s) for s in out["scores"]]
    assert scores[0]["human"] == "drop" and scores[0]["human_note"] == "drop r0"
    assert scores[2]["human"] == "keep"
    assert "human" not in scores[1]
    assert counts(out) == {"keep": 1, "drop": 1}
    assert reasons(run(df))[2] is not None  # without the verdict the short answer goes


def test_a_kept_duplicate_stays_and_its_twin_is_judged_against_it() -> None:
    df = records({}, {})  # two identical pairs: one is an exact duplicate
    assert sorted(map(str, reasons(run(df)))) == ["None", "exact_duplicate"]
    out = run(df, refs=_refs(r1="keep"))
    assert reasons(out)[1] is None


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "verdicts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("lines", "message", "hint"), [
    (['{"id": "r0", "verdict": "keep"}', "{not json"], ":2: not JSON", "one object per line"),
    (['{"verdict": "keep"}'], ":1: no string `id`", "one object per line"),
    (['{"id": "r0", "verdict": "maybe"}'], "verdict 'maybe' for r0", "keep or drop"),
    (['{"id": "zz", "verdict": "drop"}'], "1 ids are not records of this run", "this run"),
    (['{"id": "r1", "verdict": "keep"}'], "never answered (e.g. r1, dropped as near_duplicate",
     "needs a response"),
])
def test_a_bad_verdicts_file_names_the_line_and_the_fix(tmp_path: Path, lines: list[str],
                                                        message: str, hint: str) -> None:
    df = records({}, {"response": None, "keep": False, "drop_reason": "near_duplicate"})
    with pytest.raises(ConfigError) as err:
        read_verdicts(_write(tmp_path, *lines), df)
    assert message in str(err.value) and str(tmp_path) in str(err.value)
    assert hint in err.value.hint


def test_the_later_verdict_on_an_id_wins_and_notes_survive(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"id": "r0", "verdict": "keep"}', "",
                  '{"id": "r0", "verdict": "drop", "note": "wrong law", "at": "2026-12-01"}')
    assert read_verdicts(path, records({})) == {"r0": {"verdict": "drop", "note": "wrong law"}}
