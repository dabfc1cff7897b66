"""A run config from a flow run's parameters, one layer over the last: config file (paths
relative to it), inline config, overrides merged key by key, then top-level values."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagen.config import from_parameters, load_config
from datagen.errors import ConfigError
from tests.conftest import REPO


def _file(tmp_path: Path) -> Path:
    folder = tmp_path / "jobs"
    folder.mkdir()
    path = folder / "nightly.yaml"
    path.write_text(f"seeds: [{REPO / 'seeds/legal/nda_clauses.yaml'}]\nout: runs/nightly\n"
                    "append_to: ../datasets/legal\npairs: 50\n"
                    "llm: {model: m1, max_concurrency: 4}\n"
                    "curation: {references: {eval_sets: [evals/legal.jsonl]}}\n")
    return path


def test_paths_in_a_config_file_are_relative_to_it(tmp_path: Path) -> None:
    path = _file(tmp_path)
    for cfg in (load_config(path), from_parameters(config_file=str(path))):
        assert cfg.out == str(tmp_path / "jobs" / "runs" / "nightly")
        assert cfg.append_to == str(tmp_path / "datasets" / "legal")
        assert cfg.curation.references.eval_sets == [str(tmp_path / "jobs/evals/legal.jsonl")]


def test_each_layer_changes_only_what_it_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = from_parameters(config_file=str(_file(tmp_path)), pairs=3,
                          overrides={"llm": {"model": "m2"}})
    assert cfg.pairs == 3 and cfg.llm.model == "m2" and cfg.llm.max_concurrency == 4
    assert cfg.append_to == str(tmp_path / "datasets" / "legal")
    cfg = from_parameters({"seeds": ["a.yaml"], "pairs": 5}, out="elsewhere")
    assert cfg.pairs == 5 and cfg.seeds == ["a.yaml"]
    assert cfg.out == str(tmp_path / "elsewhere")  # top-level: against the working directory


def test_a_bad_override_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        from_parameters(config_file=str(_file(tmp_path)), overrides={"llm": {"modle": "x"}})
    assert "nightly.yaml with the flow parameters" in str(err.value)
    assert "llm.modle" in str(err.value)
