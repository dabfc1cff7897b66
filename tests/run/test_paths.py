"""One orchestrator, two fan-outs: the library path (no Prefect) and the Prefect flow write the
same dataset, byte for byte, against the same scripted endpoint."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from datagen.run import run
from tests.runs import flow_summary


def test_library_and_prefect_paths_write_the_same_train_jsonl(prefect_harness, make_config,
                                                              tmp_path: Path) -> None:
    plain = make_config(out=str(tmp_path / "plain"), export={"target_models": []})
    flowed = make_config(out=str(tmp_path / "flow"), export={"target_models": []})
    result = asyncio.run(run(plain))  # no Prefect at all
    assert result.outcome().name == "complete" and result.counts["kept"] == 8
    summary = flow_summary(flowed)
    assert summary["outcome"] == "complete"
    for name in ("train.jsonl", "validation.jsonl"):
        assert (tmp_path / "plain" / "openai" / name).read_bytes() == \
            (tmp_path / "flow" / "openai" / name).read_bytes()
    a = json.loads((tmp_path / "plain" / "manifest.json").read_text())
    b = json.loads((tmp_path / "flow" / "manifest.json").read_text())
    assert a["counts"] == b["counts"] and a["run_id"] == b["run_id"]
    assert a["generation_id"] == b["generation_id"] == "00001"
