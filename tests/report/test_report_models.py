"""The report's models section: the models by role with their calls, tokens and cost, the
self-judged notice, the preference pairs and the latest judge-check, from a real run against
the scripted loopback server (one model answers and judges: self-judged), a reviewer's verdicts
through `datagen judge-check`, then `datagen report`. A screenshot of the section lands in
`test-artifacts/` (DATAGEN_TEST_ARTIFACTS)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli import cli as _cli
from tests.conftest import NDA_SEED
from tests.report.conftest import ARTIFACTS, Page
from tests.scripted_server import ScriptedServer
from tests.test_judge_check import _records, _reviewer, _write, judging


def cli(*args: object) -> tuple[int, str]:
    """`datagen ARGS` on a thread of its own (Playwright's sync API holds this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_cli, *args).result()


@pytest.fixture(scope="module")
def run_dir(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "run"
    with ScriptedServer(judging, models=("test-model",)) as server:
        code, text = cli("run", NDA_SEED, "--pairs", 16, "--out", out, "--allow-short",
                         "--preference", "--base-url", server.base_url, "--model",
                         "test-model")
    assert code == 0, text
    return out


def _page(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def test_the_report_shows_models_by_role_self_judging_and_preference_pairs(
        run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["self_judged"] and manifest["preference"]["pairs"] >= 0
    html = _page(run_dir)
    section = html.split("<section id='models'>", 1)[1].split("</section>", 1)[0]
    for role, m in manifest["models"].items():
        calls = f"{m['requests']:,}"
        assert f"<td>{role}</td>" in section and f">{calls}</td>" in section
        assert f"${m['cost_usd']:.4f}" in section
    assert "Self-judged" in section and "--judge-base-url" in section
    assert f"Preference pairs: {manifest['preference']['pairs']} " in section
    assert "datagen judge-check RUN_DIR" in section  # no check yet: how to run one


def test_the_report_shows_the_latest_judge_check(run_dir: Path, tmp_path: Path,
                                                 page: Page) -> None:
    verdicts = _write(tmp_path / "v.jsonl", _reviewer(_records(run_dir)))
    code, out = cli("judge-check", run_dir, "--verdicts", verdicts, "--json")
    assert code == 0, out
    result = json.loads((run_dir / "judge_check.json").read_text())
    code, out = cli("report", run_dir)
    assert code == 0, out
    section = _page(run_dir).split("<section id='models'>", 1)[1].split("</section>", 1)[0]
    agreement, kappa = result["agreement"], result["kappa"]
    lo, hi = agreement["ci95"]
    assert "<h3>Judge check</h3>" in section
    assert f"<td class=num>{result['n']}</td>" in section
    assert f"{agreement['value']:.2f} [{lo:.2f}, {hi:.2f}]" in section
    assert f"{kappa['value']:.2f} [{kappa['ci95'][0]:.2f}, {kappa['ci95'][1]:.2f}]" in section
    assert "datagen judge-check RUN_DIR" not in section
    page.open(run_dir / "report.html")
    page.page.locator("#models").scroll_into_view_if_needed()
    assert page.page.locator("#models h3").inner_text() == "Judge check"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.page.locator("#models").screenshot(path=str(ARTIFACTS / "report-models.png"))
    assert not page.errors, page.errors
