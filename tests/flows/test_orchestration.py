"""Stage cache keys and run names, without starting a flow."""

from __future__ import annotations

import pickle
from datetime import date

import pandas as pd
from prefect.cache_policies import CompoundCachePolicy

from datagen.config import RunConfig
from datagen.llm.endpoint import Endpoint
from datagen.records import new_records
from flows.caching import STAGE_CACHE, ContentInputs
from flows.run_options import run_name


def _key(**inputs: object) -> str | None:
    return STAGE_CACHE.policies[0].compute_key(None, inputs, {})  # type: ignore[attr-defined]


def test_content_inputs_survive_in_the_compound_policy():
    # A compound policy silently swaps any `Inputs` subclass for a plain `Inputs`.
    assert isinstance(STAGE_CACHE, CompoundCachePolicy)
    assert any(isinstance(p, ContentInputs) for p in STAGE_CACHE.policies)


def test_frame_key_is_its_content_and_an_endpoint_is_its_identity():
    df = new_records([{"id": "a", "instruction": "Draft a clause.", "seed_id": "s"}])
    loaded = pickle.loads(pickle.dumps(df))
    here = Endpoint(base_url="http://127.0.0.1:1/v1", model="m", kind="embedded",
                    identity="embedded:x", api_key="sk-secret-one")
    moved = Endpoint(base_url="http://127.0.0.1:2/v1", model="m", kind="embedded",
                     identity="embedded:x", api_key="sk-secret-two")
    assert _key(records=df, endpoint=here) == _key(records=loaded, endpoint=moved)
    other = Endpoint(base_url="http://127.0.0.1:1/v1", model="other", kind="embedded",
                     identity="embedded:x")
    assert _key(records=df, endpoint=here) != _key(records=df, endpoint=other)
    changed = df.copy()
    changed.loc[0, "instruction"] = "Draft another clause."
    assert _key(records=df) != _key(records=changed)
    assert _key(records=df) != _key(records=df.astype({"keep": "object"}))
    assert _key(labels=pd.Series(["train"], dtype="string")) != _key(
        labels=pd.Series(["validation"], dtype="string"))


def test_run_name_is_seed_set_target_and_date():
    cfg = RunConfig(seeds=["seeds/legal/nda_clauses.yaml", "seeds/finance"],
                    append_to="datasets/legal")
    day = date(2026, 1, 2)
    assert run_name({"config": cfg}, day) == "nda_clauses+finance -> legal 2026-01-02"
    assert run_name({"config": cfg.model_dump()}, day).startswith("nda_clauses+")
    # the top-level parameters an operator overrides name the run too
    assert run_name({"config": cfg, "append_to": "datasets/weekly"}, day) == (
        "nda_clauses+finance -> weekly 2026-01-02")
    assert run_name({"seeds": ["seeds/legal/nda_clauses.yaml"], "out": "outputs/n"}, day) == (
        "nda_clauses -> n 2026-01-02")
    assert run_name({"overrides": {"pairs": "many"}}, day) == "datagen 2026-01-02"
