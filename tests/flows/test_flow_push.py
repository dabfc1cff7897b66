"""The push step of the flow, against the loopback Hub stand-in (tests/hub_server.py) that the
real `huggingface_hub` client talks to: two nights appended to one dataset leave the Hub with
the whole dataset, not the last night. Without a token the flow fails there with the clear
no-token error, the export kept."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import huggingface_hub.constants
import pyarrow.parquet as pq
import pytest

from datagen.errors import ExportError
from datagen.export.append import Published
from flows.generate_dataset import generate_dataset
from tests.hub_server import serving

TOKEN = "hf_" + "flowTokenThatMustNotLeak" + "0123456789"  # fake; built so scanners skip it


def test_push_step_without_token_fails_clearly_after_export(
    prefect_harness, make_config, world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    config = make_config(pairs=4, export={"push_to": "acme/nda-clauses"})
    with pytest.raises(ExportError, match="no Hugging Face token found") as info:
        asyncio.run(generate_dataset(config))
    assert "hf auth login" in str(info.value)
    out = Path(config.out)
    assert (out / "hf" / "README.md").is_file()  # the export happened before the push
    assert (out / "manifest.json").is_file()


def test_push_to_must_be_a_repo_id(make_config) -> None:
    with pytest.raises(ValueError, match="push_to"):
        make_config(export={"push_to": "not a repo id"})


def test_a_push_to_the_hub_refuses_fails_before_any_call(make_config, world,
                                                         tmp_path: Path) -> None:
    """`export.push_to` passes the config's pattern but not the Hub's rules: refused before
    the first paid call, by the CLI (exit 2, before Prefect starts) and by the library."""
    from datagen.errors import ConfigError
    from datagen.run import run
    from tests.cli import cli

    config = make_config(export={"push_to": "acme/..git"})
    with pytest.raises(ConfigError, match="export.push_to 'acme/..git'"):
        asyncio.run(run(config))
    path = tmp_path / "run.yaml"
    path.write_text(json.dumps(config.model_dump(mode="json")))
    code, out = cli("run", "--config", path)
    assert code == 2 and "Traceback" not in out and "the Hub refuses it" in out, out
    assert world.requests == []


def test_two_nights_appended_and_pushed_leave_the_whole_dataset_on_the_hub(
    prefect_harness, make_config, world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    dataset = tmp_path / "dataset"
    with serving(monkeypatch) as hub:
        hub_ids: list[list[str]] = []
        for night in ("night1", "night2"):
            # night 1's dataset is under OpenAI's 10 training examples: accepted, and pushed
            config = make_config(out=str(tmp_path / night), append_to=str(dataset),
                                 export={"push_to": "acme/nda-pool"}, allow_short=True)
            summary = asyncio.run(generate_dataset(config))
            files = hub.repo("acme/nda-pool").files
            table = pq.read_table(io.BytesIO(files["data/train-00000-of-00001.parquet"]))
            ids = table.column("id").to_pylist()
            if "data/validation-00000-of-00001.parquet" in files:
                ids += pq.read_table(io.BytesIO(files["data/validation-00000-of-00001.parquet"])
                                     ).column("id").to_pylist()
            hub_ids.append(ids)
        assert summary["result"].hub_url == f"{hub.endpoint}/datasets/acme/nda-pool"
    published = Published(dataset)
    assert len(hub_ids[0]) == 8
    assert len(hub_ids[1]) == 16 == published.manifest()["counts"]["total"]
    assert sorted(hub_ids[1]) == sorted(published.records()["id"])
    card = files["README.md"].decode()
    assert all(e["run_id"] in card for e in published.manifest()["lineage"])  # the lineage
    assert ".generation" not in files
    assert [p["repo_id"] for p in published.manifest()["pushes"]] == ["acme/nda-pool"] * 2
    assert TOKEN not in (dataset / "manifest.json").read_text()
