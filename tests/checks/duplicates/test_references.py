"""One reference matcher for seed examples, reference sets, eval sets (questions and answers)
and published data; each drop names what it lost to."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from datagen.curate import References
from datagen.curate.outside import load_texts
from datagen.errors import ConfigError
from datagen.similarity.pairs import ReferenceIndex
from tests.curate.helpers import GOOD_RESPONSE, cfg, reasons, records, run

INS = ("Explain how an indemnity clause works in a supplier contract.",
       "Draft a termination clause that allows either party to exit with ninety days notice.",
       "What does a governing law clause decide in an international services agreement?")
EVAL_Q = ("A supplier agreement says the buyer may terminate for convenience on ninety days "
          "written notice; explain what the supplier can still claim after termination.")
EVAL_A = ("The supplier keeps its claim to payment for goods delivered and accepted before the "
          "effective date of termination, plus the agreed wind-down costs.")


def test_seed_examples_are_not_regenerated() -> None:
    df = run(records(*({"instruction": i} for i in INS)),
             seed_examples=["explain how an INDEMNITY clause works in a supplier contract"])
    assert reasons(df) == ["seed_overlap", None, None]
    assert df["lost_to"].tolist()[0] == "example:0"


def test_reference_sets_from_jsonl_csv_and_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "old.jsonl").write_text(
        json.dumps({"messages": [{"role": "user", "content": INS[1]},
                                 {"role": "assistant", "content": "..."}]}) + "\nnot json\n")
    (tmp_path / "old.csv").write_text("prompt,output\n\"" + INS[2].replace("?", "") + "\",x\n")
    config = cfg(references={"sets": [str(tmp_path / "old.jsonl"), str(tmp_path / "old.csv")]})
    df = run(records(*({"instruction": i} for i in INS)), config)
    assert reasons(df) == [None, "reference_duplicate", "reference_duplicate"]
    assert df["lost_to"].tolist()[1:] == ["reference:0", "reference:1"]
    # an earlier run folder: its kept records count, its dropped ones do not
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    old = run(records({"instruction": INS[0]},
                      {"instruction": "Write an essay on arbitration clauses in leases.",
                       "response": "Too short."}))
    old.to_parquet(run_dir / "records.parquet")
    assert load_texts([str(run_dir)]) == [INS[0]]
    df = run(records(*({"instruction": i} for i in INS)),
             cfg(references={"sets": [str(run_dir)]}))
    assert reasons(df) == ["reference_duplicate", None, None]


def test_eval_sets_are_decontaminated_by_questions_and_answers(tmp_path: Path) -> None:
    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "legal.jsonl").write_text(json.dumps({"question": EVAL_Q, "answer": EVAL_A}) + "\n")
    (evals / "short.txt").write_text(INS[0].upper() + "\n")
    leak = ("Read this: the buyer may terminate for convenience on ninety days written notice. "
            "Explain the supplier's position.")
    answer_leak = GOOD_RESPONSE + " " + EVAL_A  # the eval's reference answer, copied
    config = cfg(references={"eval_sets": [str(evals)]})
    df = run(records(
        {"instruction": INS[0]},  # exact match with an eval line
        {"instruction": leak},  # shares an 8-gram with the eval question
        {"instruction": INS[1], "response": GOOD_RESPONSE + " In short: the buyer may "
         "terminate for convenience on ninety days written notice."},  # question in the answer
        {"instruction": INS[2], "response": answer_leak},  # the eval answer in the answer
        {"instruction": "Explain what a severability clause does in a lease."},
    ), config)
    assert reasons(df) == ["eval_contamination"] * 4 + [None]
    wider = cfg(references={"eval_sets": [str(evals)], "ngram": 13})
    assert reasons(run(records({"instruction": leak}), wider)) == [None]


def test_published_records_are_not_generated_again() -> None:
    published = pd.DataFrame({"id": ["pub-1", "pub-2"], "instruction": [INS[1], INS[2]]})
    df = run(records(*({"instruction": i} for i in INS)), refs=References(published=published))
    assert reasons(df) == [None, "published_duplicate", "published_duplicate"]
    assert df["lost_to"].tolist()[1:] == ["pub-1", "pub-2"]


def test_a_bad_reference_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ConfigError, match="broken.parquet"):
        run(records({}), cfg(references={"sets": [str(bad)]}))
    with pytest.raises(ConfigError, match="no such reference"):
        run(records({}), cfg(references={"sets": [str(tmp_path / "missing.jsonl")]}))


def test_nearest_scale_path_agrees_with_cdist() -> None:
    refs = [f"explain clause number {i} of the master services agreement in detail"
            for i in range(300)]
    texts = [r + " please" for r in refs[:50]] + \
            [f"a completely different text about topic {i} and payment" for i in range(50)]
    index = ReferenceIndex(refs)
    small = index.nearest(texts, 90.0)
    big = index.nearest(texts, 90.0, allpairs_max=10)
    assert (small[:50] >= 0).all() and (small[50:] == -1).all()
    assert small[:50].tolist() == list(range(50))  # the nearest, not just any match
    assert ((big >= 0) == (small >= 0)).all()  # LSH: the best of its verified candidates
