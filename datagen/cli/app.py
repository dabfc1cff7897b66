"""The Typer app, the exit code of an interruption, and the run config from a command's
file and flags (every command that runs or plans builds it here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from datagen.config import RunConfig, check_utf8, read_config_file, resolve_paths, validated
from datagen.errors import ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Seed tasks in, a clean fine-tuning corpus out.")
seeds_app = typer.Typer(no_args_is_help=True, help="Work with seed files.")
app.add_typer(seeds_app, name="seeds")
INTERRUPTED = 130


def prefect_env() -> None:
    """Prefect settings every command that starts a flow needs (before Prefect loads)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if os.environ.get("PREFECT_API_URL") == "":
        del os.environ["PREFECT_API_URL"]  # empty breaks the ephemeral server
    check_prefect_env()


def check_prefect_env() -> None:
    """What Prefect would end in a traceback for, said in one line before it loads: a
    PREFECT_API_URL that is no http(s) URL or does not answer, a PREFECT_LOGGING_LEVEL that is
    no level."""
    import logging
    import socket
    from urllib.parse import urlsplit

    level = os.environ.get("PREFECT_LOGGING_LEVEL")
    if level is not None and not (level.isdigit() or isinstance(
            logging.getLevelName(level.upper()), int)):
        raise ConfigError(f"PREFECT_LOGGING_LEVEL={level[:40]!r} is no logging level",
                          hint="use DEBUG, INFO, WARNING, ERROR or CRITICAL, or unset it")
    url = os.environ.get("PREFECT_API_URL")
    if url is None:
        return
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is no number
        host, port = None, None
    if parts.scheme not in ("http", "https") or not host or port is None:
        raise ConfigError("PREFECT_API_URL is no http(s) URL of a Prefect server",
                          hint="set it to the server's API, e.g. http://127.0.0.1:4200/api, or "
                               "unset it to run on a temporary server")
    where = f"{parts.scheme}://{host}:{port}"  # no user, password or path: they may be secret
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        raise ConfigError(f"the Prefect API at {where} (PREFECT_API_URL) does not answer: "
                          f"{exc.strerror or exc.__class__.__name__}",
                          hint="start the server (`prefect server start`), or unset "
                               "PREFECT_API_URL to run on a temporary server") from None


def build_config(seeds: list[Path] | None = None, config: Path | None = None,
                 **flags: Any) -> RunConfig:
    """The run config: the file's keys, then the flags given. A base URL with a password or
    a key in it is kept in this process's environment; the config gets the redacted URL."""
    from datagen.secrets import stash

    data = resolve_paths(read_config_file(config), config.resolve().parent) if config else {}
    if seeds:
        data["seeds"] = [str(s) for s in seeds]
    llm = dict(data.get("llm") or {})
    for key in ("model", "base_url", "max_cost_usd", "batch"):
        value = flags.pop(key, None)
        if value is not None:
            llm[key] = stash(value) if key == "base_url" else value
    if llm:
        data["llm"] = llm
    judge_flags(data, flags.pop("judge_base_url", None), flags.pop("judge_model", None))
    for key, value in flags.items():
        if value is not None:
            data[key] = str(value) if isinstance(value, Path) else value
    return validated(data, str(config) if config else "command line")


def judge_flags(data: dict[str, Any], base_url: str | None, model: str | None) -> None:
    """`--judge-base-url` / `--judge-model`: the judge role calls the model `judge` of
    `models:` (declared here when the config has none). A judge on the same endpoint as the
    answers, another model, needs only `--judge-model`; the key variable is `llm:`'s unless
    the config's `models.judge` names another."""
    from datagen.secrets import stash

    if base_url is None and model is None:
        return
    llm = data.get("llm") or {}
    models = dict(data.get("models") or {})
    judge = dict(models.get("judge") or {})
    if not judge:
        judge = {k: llm[k] for k in ("base_url", "api_key_env") if k in llm}
    if base_url is not None:
        judge["base_url"] = stash(base_url)
        judge.pop("model", None)  # another endpoint: its model is --judge-model or its first
    if model is not None:
        judge["model"] = model
    models["judge"] = judge
    data["models"] = models
    data["roles"] = {**(data.get("roles") or {}), "judge": "judge"}


def check_seeds(paths: list[str]) -> list[Any]:
    """The seeds, loaded, with their files' names (a folder's too) checked to be UTF-8: the
    names travel in JSON to Prefect and into the run folder's config.json."""
    from datagen.seeds import load_seeds, seed_files

    for path in seed_files(list(paths)):
        check_utf8(str(path), "seed file")
    return load_seeds(list(paths))
