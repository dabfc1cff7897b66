"""Errors at the edge, through the real `datagen` command: a damaged run folder, names that
are not UTF-8, an endpoint that refuses the key and a busy run folder under Prefect, `--json`
for every outcome, counts past any sane size, a full disk. Each ends in one error line that
names the file, key or resource and the fix, a non-zero exit and no traceback; what can be
checked before Prefect starts is checked before it starts."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datagen.files import locked
from tests.cli import cli
from tests.conftest import NDA_SEED, REPO
from tests.scripted_server import Reply, ScriptedServer


def datagen(*args: Any, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`datagen ARGS...` in a child process (an argument may be bytes: a raw file name)."""
    argv = [sys.executable, "-m", "datagen.cli",
            *(a if isinstance(a, bytes) else str(a) for a in args)]
    done = subprocess.run(argv, cwd=REPO, env=env or child_env(), capture_output=True,
                          timeout=timeout)
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8", "backslashreplace"),
        done.stderr.decode("utf-8", "backslashreplace"))


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATAGEN_PROGRESS", "PREFECT_LOGGING_LEVEL")}
    return {**env, "NO_COLOR": "1", "COLUMNS": "250", **extra}


def one_error(code: int, out: str, want: int, *said: str) -> None:
    """Exit `want`, no traceback, exactly one `error:` line, and each of `said` in it."""
    assert code == want, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out[-3000:]
    for s in said:
        assert s in out, out[-3000:]


def json_only(stdout: str, want: int) -> dict[str, Any]:
    """stdout is one JSON object and nothing else; it tells the exit code."""
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    data = json.loads(lines[0])
    assert data["exit_code"] == want and data["ok"] is False, data
    return data


# -- a damaged run folder: one validating reader for config.json -----------------------------

@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.run.test_recurate import finished_run

    return finished_run(tmp_path_factory.mktemp("finished") / "run")


@pytest.fixture
def run_copy(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "run", symlinks=True))


DAMAGE = {
    "config missing": (lambda d: d.pop("config"), "key `config` is missing"),
    "config a list": (lambda d: d.update(config=[1]), "key `config` is a list"),
    "seed_tasks garbage": (lambda d: d.update(seed_tasks="garbage"),
                           "key `seed_tasks` is a str"),
    "a seed not a mapping": (lambda d: d.update(seed_tasks=[5]), "key `seed_tasks[0]`"),
    "a seed field wrong": (lambda d: d["seed_tasks"][0].update(examples="none"),
                           "key `seed_tasks[0]`: field `examples`"),
    "a config key wrong": (lambda d: d["config"].update(pairs="many"), "key `pairs`"),
}


@pytest.mark.parametrize("command", ["curate", "report"])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_config_json_is_named_with_its_key(damage: str, command: str,
                                                     run_copy: Path) -> None:
    path = run_copy / "config.json"
    data = json.loads(path.read_text())
    change, said = DAMAGE[damage]
    change(data)
    path.write_text(json.dumps(data))
    code, out = cli(command, run_copy)
    one_error(code, out, 2, "config.json", said, "fix:")


@pytest.mark.parametrize(("damage", "said"), [
    ({}, "key `run_id` is missing"),
    ({"counts": [1]}, "key `counts` is a list"),
    ({"counts": {"kept": 1}}, "key `counts.generated` is missing"),
])
def test_a_damaged_manifest_is_named_with_its_key(damage: dict[str, Any], said: str,
                                                  run_copy: Path) -> None:
    path = (run_copy / "manifest.json").resolve()
    data = json.loads(path.read_text())
    data = {**data, **damage} if damage else {}
    path.write_text(json.dumps(data))
    one_error(*cli("report", run_copy), 2, "manifest.json", said, "datagen curate")


def test_damaged_sources_are_named_with_their_line(run_copy: Path) -> None:
    (run_copy / "sources.jsonl").write_text('{"seed_id": "s", "kind": "chunk"}\n')
    one_error(*cli("report", run_copy), 2, "sources.jsonl:1")


# -- names that are not UTF-8 ---------------------------------------------------------------

def test_a_seed_path_that_is_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/\xff\xfe.yaml"
    Path(os.fsdecode(raw)).write_bytes(NDA_SEED.read_bytes())
    with ScriptedServer() as server:
        done = datagen("run", raw, "--out", tmp_path / "run", "--base-url", server.base_url,
                       "--model", "test-model", "--pairs", "2", timeout=180)
        assert not server.requests
    one_error(done.returncode, done.stdout + done.stderr, 2, "not UTF-8", "\\xff\\xfe.yaml")
    assert not (tmp_path / "run").exists()


def test_a_seed_folder_holding_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9.yaml")).write_bytes(NDA_SEED.read_bytes())
    with ScriptedServer() as server:
        code, out = cli("run", folder, "--out", tmp_path / "run", "--base-url",
                        server.base_url, "--model", "test-model")
    one_error(code, out, 2, "seed file", "caf\\xe9.yaml", "not UTF-8")


def test_a_source_file_named_in_bytes_that_are_not_utf8(prefect_harness: None,
                                                        tmp_path: Path) -> None:
    import yaml

    from tests.flows.world import handler

    seed = yaml.safe_load((NDA_SEED.parent / "privacy_policy_qa.yaml").read_text())
    seed["sources"] = {"documents": ["docs/*.txt"]}
    (tmp_path / "seed.yaml").write_text(yaml.safe_dump(seed))
    (tmp_path / "docs").mkdir()
    Path(os.fsdecode(os.fsencode(tmp_path) + b"/docs/\xff.txt")).write_text(
        "Personal data is kept for 30 days.\n\nIt is encrypted at rest.\n")
    with ScriptedServer(handler) as server:
        code, out = cli("run", tmp_path / "seed.yaml", "--out", tmp_path / "run", "--pairs", 2,
                        "--base-url", server.base_url, "--model", "test-model", "--quiet")
        assert not server.requests
    one_error(code, out, 2, "source file docs/\\xff.txt", "not UTF-8")


def test_a_config_value_that_is_not_utf8_names_its_key(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text('out: "runs/\\udcff"\n')  # YAML's escape makes the lone surrogate
    code, out = cli("estimate", NDA_SEED, "--config", config)
    one_error(code, out, 2, "key `out` (flag --out)", "not UTF-8")


# -- Prefect: expected errors without its tracebacks, and checks before it starts ------------

def _refuses_the_key(body: dict[str, Any], n: int) -> Reply:
    return Reply("bad key", status=401)


def test_an_endpoint_refusing_the_key_is_one_line_without_prefect_tracebacks(
        api_url: str, tmp_path: Path) -> None:
    with ScriptedServer(_refuses_the_key) as server:
        done = datagen("run", NDA_SEED, "--out", tmp_path / "run", "--pairs", "2",
                       "--base-url", server.base_url, "--model", "test-model", "--quiet",
                       "--json", env=child_env(PREFECT_API_URL=api_url))
    assert done.returncode == 3, done.stderr[-3000:]
    data = json_only(done.stdout, 3)  # the JSON object on stdout
    assert "answered 401" in data["error"] and data["hint"]
    # on stderr: nothing but the one error and its fix
    assert [line.split(":")[0] for line in done.stderr.splitlines() if line.strip()] \
        == ["error", "  fix"], done.stderr
    assert "answered 401" in done.stderr


class Kept(logging.Handler):
    """Every record a logger hands its handlers (after its filters)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_prefect_logs_datagen_errors_without_a_traceback(prefect_harness: None,
                                                         tmp_path: Path) -> None:
    """The flow and task runs' logs (the terminal without --quiet, and the UI) keep the
    error's line and drop the traceback."""
    from datagen.config import RunConfig
    from datagen.errors import EndpointError
    from flows.generate_dataset import run_here

    kept = Kept()
    loggers = [logging.getLogger(name) for name in ("prefect.flow_runs", "prefect.task_runs")]
    for logger in loggers:
        logger.addHandler(kept)
    try:
        with ScriptedServer(_refuses_the_key) as server:
            config = RunConfig.model_validate({
                "seeds": [str(NDA_SEED)], "out": str(tmp_path / "run"), "pairs": 2,
                "llm": {"base_url": server.base_url, "model": "test-model"}})
            state = run_here(config)
    finally:
        for logger in loggers:
            logger.removeHandler(kept)
    assert isinstance(state.result(raise_on_failure=False), EndpointError)
    said = [r.getMessage() for r in kept.records]
    assert any("answered 401" in m for m in said), said
    assert all(r.exc_info is None and not r.exc_text for r in kept.records), said


def test_a_busy_run_folder_is_refused_before_prefect_starts(run_copy: Path,
                                                            tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    env = child_env(PREFECT_HOME=str(home))
    env.pop("PREFECT_API_URL", None)
    with ScriptedServer() as server, locked(run_copy, "run"):
        done = datagen("run", NDA_SEED, "--out", run_copy, "--pairs", "2", "--base-url",
                       server.base_url, "--model", "test-model", "--quiet", "--json",
                       env=env)
        assert not server.requests
    one_error(done.returncode, done.stdout + done.stderr, 9, f"pid {os.getpid()}")
    assert "in use by" in json_only(done.stdout, 9)["error"]
    assert not home.exists()  # no temporary Prefect server was started


def test_a_busy_append_target_is_refused_before_any_work(run_copy: Path,
                                                         tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    with ScriptedServer() as server, locked(dataset, "run (publish)"):
        code, out = cli("run", NDA_SEED, "--out", tmp_path / "new", "--append-to", dataset,
                        "--base-url", server.base_url, "--model", "test-model")
        assert not server.requests
    one_error(code, out, 9, str(dataset), "in use by")


@pytest.mark.parametrize("where", ["same", "inside"])
def test_append_to_the_run_folder_itself_is_refused_before_any_work(
        where: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    target = out if where == "same" else out / "published"
    with ScriptedServer() as server:
        code, text = cli("run", NDA_SEED, "--out", out, "--append-to", target,
                         "--base-url", server.base_url, "--model", "test-model")
        assert not server.requests
    one_error(code, text, 2, "--append-to", "keep them apart")


def test_schedule_checks_its_seeds_before_serving(tmp_path: Path) -> None:
    config = tmp_path / "nightly.yaml"
    config.write_text("seeds: [missing.yaml]\n")
    done = datagen("schedule", config, "--cron", "0 2 * * *", timeout=60)
    one_error(done.returncode, done.stdout + done.stderr, 2, "missing.yaml",
              "no such seed file")


# -- --json: one object for every outcome ---------------------------------------------------

@pytest.mark.parametrize(("flags", "said"), [
    (["--pairs", "0"], "flag --pairs"),
    (["--pairz", "2"], "No such option"),
    (["--base-url", "ftp://example.com/v1"], "flag --base-url"),
])
def test_json_prints_one_object_for_bad_input(flags: list[str], said: str,
                                              tmp_path: Path) -> None:
    done = datagen("run", NDA_SEED, "--out", tmp_path / "run", "--json", *flags)
    assert done.returncode == 2, done.stderr
    assert said in json_only(done.stdout, 2)["error"]
    assert "Traceback" not in done.stderr


def test_json_prints_one_object_for_an_endpoint_without_the_model(tmp_path: Path) -> None:
    with ScriptedServer(models=("other-model",)) as server:
        done = datagen("run", NDA_SEED, "--out", tmp_path / "run", "--json", "--base-url",
                       server.base_url, "--model", "test-model")
    data = json_only(done.stdout, 3)
    assert "not served" in data["error"] and "other-model" in data["hint"]


# -- counts past any sane size --------------------------------------------------------------

@pytest.mark.parametrize("command", ["estimate", "run"])
def test_pairs_past_the_bound_is_a_flag_error_not_a_hang(command: str,
                                                         tmp_path: Path) -> None:
    extra = ["--out", tmp_path / "run"] if command == "run" else []
    with ScriptedServer() as server:
        done = datagen(command, NDA_SEED, "--pairs", "999999999999", *extra, "--base-url",
                       server.base_url, "--model", "test-model", timeout=60)
        assert not server.requests
    one_error(done.returncode, done.stdout + done.stderr, 2, "flag --pairs", "1000000")


def test_a_large_estimate_samples_its_prompts_and_stays_close() -> None:
    from datagen.config import RunConfig
    from datagen.generate import expand_calls_needed, expand_request, structured_mode
    from datagen.llm.estimate import PROMPT_SAMPLE, forecast
    from datagen.llm.tokens import count_chat_tokens
    from datagen.seeds import load_seed

    cfg = RunConfig.model_validate({"seeds": [str(NDA_SEED)], "pairs": 2000, "llm": {
        "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini"}})
    calls = expand_calls_needed(2000, cfg.generation)
    assert calls > PROMPT_SAMPLE  # sampled, not counted one by one
    seed, mode = load_seed(NDA_SEED), structured_mode(cfg.llm, "openai")
    exact = sum(count_chat_tokens(expand_request(seed, cfg.generation, mode, i, cfg.seed)[0],
                                  "gpt-4o-mini") for i in range(calls))
    expand = forecast(cfg).lines[0]
    assert expand.requests == calls
    assert abs(expand.prompt_tokens - exact) / exact < 0.01


# -- paths the machine refuses ---------------------------------------------------------------

@pytest.mark.parametrize("command", ["report", "rejected", "estimate", "run"])
def test_a_path_too_long_is_one_line(command: str, tmp_path: Path) -> None:
    long = tmp_path / ("a" * 300)
    args = [NDA_SEED, "--out", long, "--base-url", "http://127.0.0.1:9/v1", "--model", "m"] \
        if command == "run" else [long]
    code, out = cli(command, *args)
    one_error(code, out, 2, "File name too long", "shorter path")


# -- a full disk ----------------------------------------------------------------------------

def _private_tmpfs_works() -> bool:
    """A tmpfs of our own needs a mount namespace: root, or unprivileged user namespaces."""
    try:
        return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k "
                               "tmpfs /mnt || mount -t tmpfs -o size=64k tmpfs /tmp"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not _private_tmpfs_works():
        pytest.skip("no mount namespace here (unshare -rm): cannot make a small disk")
    mount = tmp_path / "disk"
    mount.mkdir()
    yield mount


def test_a_full_disk_names_itself_and_loses_nothing(run_copy: Path, small_disk: Path) -> None:
    # room for the copy (tmpfs counts whole 4 KiB pages) and half of a new generation
    files = [p for p in run_copy.rglob("*") if p.is_file() and not p.is_symlink()]
    pages = sum(-(-p.stat().st_size // 4096) for p in files) + len(list(run_copy.rglob("*")))
    generation = sum(p.stat().st_size for p in (run_copy / "current").resolve().rglob("*")
                     if p.is_file())
    size_kb = pages * 4 + generation // 2048
    script = (f'mount -t tmpfs -o size={size_kb}k tmpfs "$1" && cp -a "$2" "$1/run" && '
              f'"$3" -m datagen.cli curate "$1/run"; code=$?; '
              f'"$3" -c "import pandas, sys; print(len(pandas.read_parquet(sys.argv[1])))" '
              f'"$1/run/records.parquet"; exit $code')
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(small_disk),
                           str(run_copy), sys.executable], cwd=REPO, env=child_env(),
                          capture_output=True, text=True, timeout=120)
    one_error(done.returncode, done.stdout + done.stderr, 1, "no space left on the disk",
              "free space")
    kept = int(done.stdout.strip().splitlines()[-1])  # the previous generation, whole
    assert kept == len(pd.read_parquet(run_copy / "records.parquet"))


# -- YAML that stands for more than it says ----------------------------------------------------

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


@pytest.mark.parametrize(("text", "said"), [
    (LAUGHS, "aliases"),                       # 9**9 values from 300 bytes
    ("seeds: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper"),  # the parser's recursion
])
def test_a_config_that_expands_without_bound_is_one_line(tmp_path: Path, text: str,
                                                         said: str) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(text)
    code, out = cli("estimate", NDA_SEED, "--config", config)
    one_error(code, out, 2, str(config), said)


def test_a_seed_that_expands_without_bound_is_one_line(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(NDA_SEED.read_text() + "\n" + LAUGHS.replace("a:", "zz:", 1))
    code, out = cli("seeds", "validate", seed)
    one_error(code, out, 2, str(seed), "aliases")


def test_a_nul_byte_in_a_config_value_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text('out: "a\\0b"\n')
    code, out = cli("estimate", NDA_SEED, "--config", config)
    one_error(code, out, 2, str(config), "`out`", "NUL")


@pytest.mark.parametrize(("env", "said"), [
    ({"PREFECT_API_URL": "http://127.0.0.1:9/api"}, "does not answer"),   # a closed port
    ({"PREFECT_API_URL": "not a url"}, "no http(s) URL"),
    ({"PREFECT_LOGGING_LEVEL": "BOGUS"}, "no logging level"),
])
def test_a_broken_prefect_setting_is_one_line(tmp_path: Path, env: dict[str, str],
                                              said: str) -> None:
    with ScriptedServer() as server:
        done = datagen("run", NDA_SEED, "--out", tmp_path / "run", "--base-url",
                       server.base_url, "--model", "test-model", env=child_env(**env))
        assert not server.requests
    one_error(done.returncode, done.stdout + done.stderr, 2, said)
    assert "Traceback" not in done.stderr


def test_schedule_list_with_the_prefect_api_down_is_one_line() -> None:
    done = datagen("schedule", "--list", env=child_env(PREFECT_API_URL="http://127.0.0.1:9/api"))
    one_error(done.returncode, done.stdout + done.stderr, 2, "PREFECT_API_URL")
