"""Dedup against seed examples, reference datasets and eval sets (decontamination)."""

from __future__ import annotations

import json
from pathlib import Path

from datagen.config import CurationConfig
from datagen.dedup import reference_matches
from datagen.filters.references import load_texts
from tests.curation.helpers import GOOD_RESPONSE, reasons, records, run

INS = ("Explain how an indemnity clause works in a supplier contract.",
       "Draft a termination clause that allows either party to exit with ninety days notice.",
       "What does a governing law clause decide in an international services agreement?")
EVAL_Q = ("A supplier agreement says the buyer may terminate for convenience on ninety days "
          "written notice; explain what the supplier can still claim after termination.")


def test_seed_examples_are_not_regenerated() -> None:
    df = run(records(*({"instruction": i} for i in INS)),
             seed_examples=["explain how an INDEMNITY clause works in a supplier contract"])
    assert reasons(df) == ["seed_overlap", None, None]


def test_reference_sets_from_jsonl_csv_and_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "old.jsonl").write_text(
        json.dumps({"messages": [{"role": "user", "content": INS[1]},
                                 {"role": "assistant", "content": "..."}]}) + "\nnot json\n")
    (tmp_path / "old.csv").write_text("prompt,output\n\"" + INS[2].replace("?", "") + "\",x\n")
    cfg = CurationConfig(reference_sets=[str(tmp_path / "old.jsonl"), str(tmp_path / "old.csv")])
    df = run(records(*({"instruction": i} for i in INS)), cfg)
    assert reasons(df) == [None, "reference_duplicate", "reference_duplicate"]
    # an earlier run folder: its kept records count, its dropped ones do not
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    old = run(records({"instruction": INS[0]}, {"instruction": INS[1], "response": "Too short."}))
    old.to_parquet(run_dir / "records.parquet")
    assert load_texts([str(run_dir)]) == [INS[0]]
    df = run(records(*({"instruction": i} for i in INS)),
             CurationConfig(reference_sets=[str(run_dir)]))
    assert reasons(df) == ["reference_duplicate", None, None]


def test_eval_sets_are_decontaminated_by_ngrams_and_fuzzy_match(tmp_path: Path) -> None:
    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "legal.jsonl").write_text(json.dumps({"question": EVAL_Q, "answer": "..."}) + "\n")
    (evals / "short.txt").write_text(INS[0].upper() + "\n")
    leak = ("Read this: the buyer may terminate for convenience on ninety days written notice. "
            "Explain the supplier's position.")
    cfg = CurationConfig(eval_sets=[str(evals)])
    df = run(records(
        {"instruction": INS[0]},  # fuzzy / exact match with an eval line
        {"instruction": leak},  # shares an 8-gram with the eval question
        {"instruction": INS[1], "response": GOOD_RESPONSE + " In short: the buyer may "
         "terminate for convenience on ninety days written notice."},  # leak in the answer
        {"instruction": INS[2]},
    ), cfg)
    assert reasons(df) == ["eval_contamination"] * 3 + [None]
    assert reasons(run(records({"instruction": leak}),
                       CurationConfig(eval_sets=[str(evals)], decontamination_ngram=13))) == [None]


def test_reference_matches_scale_path_agrees_with_cdist() -> None:
    refs = [f"explain clause number {i} of the master services agreement in detail"
            for i in range(300)]
    texts = [r + " please" for r in refs[:50]] + \
            [f"a completely different text about topic {i} and payment" for i in range(50)]
    small = reference_matches(texts, refs, 90.0)
    big = reference_matches(texts, refs, 90.0, allpairs_max=10)
    assert small[:50].all() and not small[50:].any()
    assert (small == big).all()
