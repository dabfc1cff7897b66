"""Preference candidates as records: siblings of the instructions about to be answered, with
their own deterministic ids and temperatures, none of siblings nor twice on a resume; an
instruction whose own candidate won dedup counts as kept, not as a duplicate, so asking for
several answers never makes a seed look saturated."""

from __future__ import annotations

import json

import pandas as pd

from datagen.config import GenerationConfig, PreferenceConfig
from datagen.generate.candidates import add_candidates
from datagen.generate.respond import candidate_params, respond_params
from datagen.generate.work import round_stats, won_by_candidate
from datagen.records import json_cell, new_records


def parent(i: int) -> dict:
    return {"id": f"r{i}", "seed_id": "s", "system": "Be brief.", "instruction": f"Ask {i}.",
            "metadata": json.dumps({"stage": "expand", "sample": i, "round": 0})}


def test_siblings_with_their_own_ids_and_temperatures() -> None:
    records = new_records([parent(0), parent(1)])
    cfg = PreferenceConfig(candidates=3, temperature_step=0.5)
    records2, (batch,) = add_candidates(records, [records.copy()], cfg, 0.7)
    assert len(records2) == len(batch) == 6 and records2.index.is_unique
    sib = records2.iloc[2:]
    metas = [json_cell(m) for m in sib["metadata"]]
    assert [(m["candidate_of"], m["candidate"], m["temperature"]) for m in metas] == [
        ("r0", 1, 1.2), ("r0", 2, 1.7), ("r1", 1, 1.2), ("r1", 2, 1.7)]
    assert all(m["stage"] == "candidate" and "sample" not in m for m in metas)
    assert sib["instruction"].tolist() == ["Ask 0.", "Ask 0.", "Ask 1.", "Ask 1."]
    assert len(set(records2["id"])) == 6
    again, _ = add_candidates(records, [records.copy()], cfg, 0.7)
    assert again["id"].tolist() == records2["id"].tolist()  # deterministic: a rerun's ids
    # a resume: siblings already there, and siblings themselves, get none
    records3, (batch3,) = add_candidates(records2, [records2.copy()], cfg, 0.7)
    assert len(records3) == 6 and len(batch3) == 6
    params = respond_params(GenerationConfig())
    assert candidate_params(params, sib["metadata"].iloc[1]) == ({**params, "temperature": 1.7},
                                                                 2)
    assert candidate_params(params, records["metadata"].iloc[0]) == (params, 0)


def test_an_instruction_its_own_candidate_beat_is_no_duplicate() -> None:
    records = new_records([parent(0), parent(1), parent(2)])
    records, _ = add_candidates(records, [records.copy()], PreferenceConfig(candidates=2), 0.7)
    records["response"] = "an answer"
    sibling_of = {json_cell(m).get("candidate_of"): rid
                  for rid, m in zip(records["id"], records["metadata"], strict=True)}
    # r0 lost to its own candidate; r1 won; r2 lost to another instruction (a real copy)
    records.loc[0, ["keep", "drop_reason", "lost_to"]] = [False, "exact_duplicate",
                                                          sibling_of["r0"]]
    records.loc[2, ["keep", "drop_reason", "lost_to"]] = [False, "exact_duplicate", "r1"]
    records.loc[3, "keep"] = True  # r0's candidate
    records.loc[4, ["keep", "drop_reason", "lost_to"]] = [False, "exact_duplicate", "r1"]
    records.loc[5, ["keep", "drop_reason", "lost_to"]] = [False, "exact_duplicate", "r2"]
    won = won_by_candidate(records)
    assert won.tolist() == [True, False, False, False, False, False]
    metas = [json.loads(m) for m in records["metadata"]]
    (stats,) = round_stats(records, metas)
    assert (stats["made"], stats["kept"], stats["duplicates"]) == (3, 2, 1)
    assert won_by_candidate(pd.DataFrame(columns=records.columns)).empty
