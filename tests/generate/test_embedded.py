"""Every strategy, combined in one tiny run on the embedded model (real llama.cpp, real flow).
The model is weak: structure is checked, never content."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from datagen.config import RunConfig
from tests.conftest import NDA_SEED
from tests.runs import flow_summary

pytestmark = pytest.mark.embedded

STRATEGIES = {"plain": {}, "bootstrap": {}, "topics": {"depth": 1, "degree": 2},
              "personas": {"generate": 2}, "evolve": {"rounds": 1}}


def test_each_strategy_completes_on_the_embedded_model(prefect_harness, embedded,
                                                       tmp_path: Path) -> None:
    seed = yaml.safe_load(NDA_SEED.read_text())
    seed.update(strategies=STRATEGIES)  # multi-turn is checked on the scripted server
    path = tmp_path / "nda.yaml"
    path.write_text(yaml.safe_dump(seed))
    out = tmp_path / "run"
    config = RunConfig.model_validate({
        "seeds": [str(path)], "out": str(out), "pairs": 2, "seed": 3,
        "llm": {"base_url": embedded.base_url, "max_concurrency": 2},
        "generation": {"instructions_per_call": 2, "expand_max_tokens": 80,
                       "respond_max_tokens": 32, "max_rounds": 1},
        # the tiny model cannot judge, and 2 pairs are not for OpenAI
        "curation": {"judge": {"enabled": "off"}}, "export": {"target_models": []},
    })
    assert flow_summary(config)["outcome"] in ("complete", "short", "empty")
    manifest = json.loads((out / "manifest.json").read_text())
    gen = manifest["generation"]["legal-nda-clauses"]
    assert set(gen["by_strategy"]) == set(STRATEGIES)
    assert all(s["generated"] >= 1 for s in gen["by_strategy"].values())
    assert gen["stop"] in ("target_met", "stalled", "parse_failed", "saturated", "max_rounds")
    assert gen["kept"] + gen["shortfall"] == 2
    div = manifest["diversity"]["per_seed"]["legal-nda-clauses"]
    assert div["topic_coverage"]["leaves"] >= 1
    assert set(div) >= {"distinct_1", "distinct_2", "distinct_3", "pairwise_similarity",
                        "near_dup_drop_share", "first_words"}
    tree = json.loads((out / "topics" / "legal-nda-clauses.json").read_text())
    assert tree["leaves"]
    assert json.loads((out / "personas" / "legal-nda-clauses.json").read_text())["personas"]
    records = pd.read_parquet(out / "records.parquet")
    metas = [json.loads(m) for m in records["metadata"]]
    evolved = [m for m in metas if m.get("strategy") == "evolve"]
    assert evolved and all(m["parent_id"] and m["operator"] for m in evolved)
