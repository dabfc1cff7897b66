"""The push step of the flow. The Hub cannot be reached from the tests: the upload itself is
tested against a substitute of `HfApi` in tests/export/test_push.py; here the real flow runs
up to the push and must fail there with the clear no-token error, the export kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import huggingface_hub.constants
import pytest

from datagen.errors import ExportError
from flows.generate_dataset import generate_dataset


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
