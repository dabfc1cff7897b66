"""`curation.skip` names are checked when the config is read: a misspelt name would skip
nothing, silently (`skip: [no-code]` ran the `no_code` check)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from datagen.config import CurationConfig, load_config
from datagen.config.files import from_parameters
from datagen.errors import ConfigError
from tests.cli import cli


def write_config(tmp_path: Path, skip: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(f"curation:\n  skip: {skip}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("skip", "said"), [
    ("[no-code]", "'no-code' is no check: did you mean 'no_code'?"),
    ("[Repetiton]", "did you mean 'repetition'?"),
    ("[near_duplicate]", "'near_duplicate' is a drop reason, not a check: skip 'dedup'"),
    ("[too_short]", "skip 'instruction_length' or 'response_length'"),
    ("[xyzzy]", "'xyzzy' is no check (checks: human, bad_input,"),
])
def test_an_unknown_name_fails_when_the_config_is_read(tmp_path: Path, skip: str,
                                                       said: str) -> None:
    path = write_config(tmp_path, skip)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in caught.value.message and "key `curation.skip`" in caught.value.message
    assert said in caught.value.message
    with pytest.raises(ValidationError, match="curation.skip|skip"):
        CurationConfig.model_validate({"skip": [skip.strip("[]")]})
    with pytest.raises(ConfigError, match="curation.skip"):  # a flow run's parameters too
        from_parameters(overrides={"curation": {"skip": [skip.strip("[]")]}})


def test_real_names_pass() -> None:
    assert CurationConfig(skip=["no_code", "dedup", "judge"]).skip == ["no_code", "dedup",
                                                                        "judge"]


def test_datagen_curate_refuses_it_before_touching_the_run(make_config, tmp_path: Path
                                                           ) -> None:
    from datagen.run import run

    cfg = make_config(pairs=3, export={"target_models": []})
    asyncio.run(run(cfg))
    manifest = (Path(cfg.out) / "manifest.json").read_text()
    code, out = cli("curate", cfg.out, "--config", write_config(tmp_path, "[no-code]"))
    assert code == 2, out
    assert "curation.skip" in out and "did you mean 'no_code'?" in out
    assert "Traceback" not in out
    assert (Path(cfg.out) / "manifest.json").read_text() == manifest  # no new generation
