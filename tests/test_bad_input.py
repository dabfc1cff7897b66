"""Bad input gets a message naming the file, the field and the fix, the exit code from the
manual's table (docs/reference/exit-codes.md), and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.scripted_server import Reply, ScriptedServer


def no_traceback(code: int, out: str, want: int, *said: str) -> None:
    assert code == want, out
    assert "Traceback" not in out
    for s in said:
        assert s in out, out


@pytest.mark.parametrize(("flags", "said"), [
    (["--pairs", "0"], "flag --pairs"),
    (["--pairs", "-5"], "flag --pairs"),
    (["--max-cost-usd", "-1"], "flag --max-cost-usd"),
    (["--max-cost-usd", "0"], "flag --max-cost-usd"),
    (["--max-cost-usd", "nan"], "flag --max-cost-usd"),
    (["--base-url", "http://127.0.0.1:99999/v1"], "flag --base-url"),
    (["--base-url", "http://[::1/v1"], "flag --base-url"),
    (["--base-url", "ftp://example.com/v1"], "flag --base-url"),
])
def test_bad_flags(flags: list[str], said: str, tmp_path: Path) -> None:
    no_traceback(*cli("run", NDA_SEED, "--out", tmp_path / "run", *flags), 2, said)


def test_bad_config_files(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("pairs: 3 # café\n".encode("latin-1"))
    no_traceback(*cli("run", NDA_SEED, "--config", latin), 2, "not UTF-8")
    no_traceback(*cli("run", NDA_SEED, "--config", tmp_path), 2, "is a folder")
    listed = tmp_path / "list.yaml"
    listed.write_text("- pairs: 3\n")
    no_traceback(*cli("run", NDA_SEED, "--config", listed), 2, "one mapping")
    typo = tmp_path / "typo.yaml"
    typo.write_text("curation:\n  lenght: {}\n")
    no_traceback(*cli("run", NDA_SEED, "--config", typo), 2, "curation.lenght")


@pytest.mark.parametrize(("lines", "said"), [
    (["5"], ":1: a task is a JSON object"),
    (['{"instruction": 5, "instances": []}'], ":1: field `instruction`"),
    (['{"instruction": "Do it.", "instances": "none"}'], ":1: field `instances`"),
    (['{"instruction": "Do it.", "instances": [{"input": 3, "output": "x"}]}'],
     "instances[].input"),
])
def test_bad_seed_tasks(lines: list[str], said: str, tmp_path: Path) -> None:
    path = tmp_path / "seed_tasks.jsonl"
    path.write_text("\n".join(lines) + "\n")
    no_traceback(*cli("seeds", "import", path), 2, said)


def test_seed_tasks_in_another_encoding(tmp_path: Path) -> None:
    path = tmp_path / "seed_tasks.jsonl"
    path.write_bytes(b'{"instruction": "ok", "instances": []}\n{"instruction": "caf\xe9"}\n')
    no_traceback(*cli("seeds", "import", path), 2, ":2: not UTF-8")


def test_seeds_import_does_not_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "seed_tasks.jsonl"
    path.write_text('{"id": "t1", "instruction": "Name a colour.", '
                    '"instances": [{"input": "", "output": "Blue"}]}\n')
    target = tmp_path / "seed_tasks.yaml"
    target.write_text("mine: true\n")
    no_traceback(*cli("seeds", "import", path), 2, "exists already", "--force")
    assert target.read_text() == "mine: true\n"
    assert cli("seeds", "import", path, "--force")[0] == 0
    assert "instruction: Name a colour." in target.read_text()


def _finished(tmp_path: Path) -> Path:
    from tests.run.test_recurate import finished_run

    return finished_run(tmp_path / "run")


@pytest.mark.parametrize(("part", "said"), [
    ("records.parquet", "corrupt records"),
    ("manifest.json", "corrupt manifest"),
    ("config.json", "corrupt run config"),
])
def test_corrupt_run_folder_files(part: str, said: str, tmp_path: Path) -> None:
    run_dir = _finished(tmp_path)
    (run_dir / part).resolve().write_bytes(b"\x00garbage{")
    code, out = cli("curate", run_dir)
    if part == "config.json":  # not recognisable as a run folder any more
        no_traceback(code, out, 2, "not a datagen run folder")
    else:
        no_traceback(code, out, 1, said)


def test_corrupt_cache(world, tmp_path: Path) -> None:
    run_dir = _finished(tmp_path)
    (run_dir / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    code, out = cli("run", NDA_SEED, "--out", run_dir, "--base-url", world.base_url,
                    "--model", "test-model")
    no_traceback(code, out, 1, "cache.sqlite", "unreadable")


def test_rejected_on_a_folder_without_records(tmp_path: Path) -> None:
    no_traceback(*cli("rejected", tmp_path), 1, "missing records")


@pytest.mark.parametrize("status", [400, 500])
def test_doctor_against_an_endpoint_that_errs(status: int) -> None:
    with ScriptedServer(lambda body, n: Reply("nope", status=status)) as server:
        code, out = cli("doctor", "--base-url", server.base_url, "--model", "test-model")
    no_traceback(code, out, 3, f"http_{status}")


def test_append_to_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    no_traceback(*cli("run", NDA_SEED, "--out", tmp_path / "run", "--append-to", other), 2,
                 "not a dataset folder")


def test_schedule_with_a_bad_cron(tmp_path: Path) -> None:
    config = tmp_path / "nightly.yaml"
    config.write_text(f"seeds: [{NDA_SEED}]\n")
    no_traceback(*cli("schedule", config, "--cron", "every night"), 2, "not a valid cron")


def test_model_text_is_printed_as_written_not_as_markup(tmp_path: Path) -> None:
    from tests.curate.helpers import records, run

    df = run(records({"instruction": "Draw a diagram [/bold] of [insert date] parties."}))
    df.to_parquet(tmp_path / "records.parquet")
    code, out = cli("rejected", tmp_path)
    no_traceback(code, out, 0, "[/bold]", "[insert date]")
    draft = tmp_path / "[draft]"
    draft.mkdir()
    (draft / "nda.yaml").write_text(NDA_SEED.read_text())
    code, out = cli("seeds", "validate", draft / "nda.yaml")
    no_traceback(code, out, 0, "legal-nda-clauses")
    code, out = cli("seeds", "validate", draft / "missing.yaml")
    no_traceback(code, out, 2, "[draft]")


def test_unreadable_eval_set(world, tmp_path: Path) -> None:
    bad = tmp_path / "evals.parquet"
    bad.write_bytes(b"not parquet")
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"curation": {"references": {"eval_sets": [str(bad)]}}}))
    code, out = cli("run", NDA_SEED, "--out", tmp_path / "run", "--config", config,
                    "--base-url", world.base_url, "--model", "test-model", "--pairs", "2")
    no_traceback(code, out, 2, "evals.parquet")


def test_sqlite_error_names_the_cache(tmp_path: Path) -> None:
    from datagen.errors import DatagenError
    from datagen.llm.cache import ResponseCache

    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(DatagenError, match="cache is unreadable"):
        ResponseCache(path)
