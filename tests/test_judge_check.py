"""`datagen judge-check` end to end: a real run against the scripted loopback server with the
judge on (it answers the judge's JSON verdict), a reviewer's verdicts merged through the review
round trip (`datagen curate --verdicts`), then the check on the command line; and every way
the check cannot be made is one line naming the file and the fix, exit 2."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from datagen.config import RunConfig
from datagen.evaluate.agreement import wilson
from datagen.evaluate.judge_check import Pairs, check
from datagen.run import run
from tests.cli import cli
from tests.conftest import NDA_SEED
from tests.flows.world import handler as world
from tests.run.test_recurate import finished_run
from tests.scripted_server import Reply, ScriptedServer

JUDGE_SYSTEM = "strict reviewer"


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def judging(body: dict[str, Any], n: int) -> Reply:
    """The world's expansion and answers; a judge call gets a verdict whose score (2-10)
    follows from the judged text, and one in six gets a reply that is not the verdict."""
    if JUDGE_SYSTEM not in body["messages"][0]["content"]:
        return world(body, n)
    h = _digest(body["messages"][-1]["content"])
    if h % 6 == 0:
        return Reply("I would rate this answer highly.")
    score = 2 + (h // 6) % 9
    return Reply(json.dumps({"correctness": score, "instruction_following": min(10, score + 1),
                             "domain_fit": 10, "rationale": f"scored {score}"}))


@pytest.fixture(scope="module")
def judged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run whose judge scored its answered pairs (built once, copied per test)."""
    root = tmp_path_factory.mktemp("judged") / "run"
    with ScriptedServer(judging) as server:
        cfg = RunConfig.model_validate({
            "seeds": [str(NDA_SEED)], "out": str(root), "pairs": 16, "allow_short": True,
            "llm": {"base_url": server.base_url, "model": "test-model", "max_retries": 0}})
        result = asyncio.run(run(cfg))
        judge_calls = sum(JUDGE_SYSTEM in r["messages"][0]["content"] for r in server.requests)
    assert judge_calls >= 20, result.outcome().message
    return root


@pytest.fixture
def run_dir(judged_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(judged_run, out, symlinks=True)
    return out


def _records(run_dir: Path) -> pd.DataFrame:
    df = pd.read_parquet(run_dir / "records.parquet")
    df["sc"] = [json.loads(s) if isinstance(s, str) else {} for s in df["scores"]]
    return df


def _reviewer(df: pd.DataFrame) -> dict[str, str]:
    """A reviewer stricter than the judge: drops what scored below 7, but keeps two of those
    and drops one high scorer; plus a drop on two records the judge never scored for each
    reason (never answered, unreadable judge reply)."""
    scored = df[[isinstance(s.get("judge"), int) for s in df["sc"]]]
    out = {}
    for k, (rid, sc) in enumerate(zip(scored["id"], scored["sc"], strict=True)):
        drop = sc["judge"] < 7
        out[rid] = "drop" if drop != (k in (1, 4, 9)) else "keep"
    unanswered = df[df["response"].isna()]["id"].head(2)
    errors = df[["judge_error" in s for s in df["sc"]]]["id"].head(2)
    out.update({rid: "drop" for rid in [*unanswered, *errors]})
    return out


def _write(path: Path, verdicts: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "verdict": v, "note": "checked"}) + "\n"
                            for i, v in verdicts.items()))
    return path


def test_judge_check_after_the_review_round_trip(run_dir: Path, tmp_path: Path) -> None:
    df = _records(run_dir)
    verdicts = _reviewer(df)
    unanswered = int(df.set_index("id").loc[list(verdicts), "response"].isna().sum())
    errors = sum("judge_error" in s for s in df.set_index("id").loc[list(verdicts), "sc"])
    assert unanswered and errors  # the run has both kinds of unscored records
    code, out = cli("curate", run_dir, "--verdicts", _write(tmp_path / "v.jsonl", verdicts))
    assert code == 0, out

    code, out = cli("judge-check", run_dir, "--json")  # the run folder's merged verdicts.jsonl
    assert code == 0, out
    got = json.loads(out)
    # the same numbers counted here from the records and the verdicts
    score = {r: s["judge"] for r, s in zip(df["id"], df["sc"], strict=True) if "judge" in s}
    both = [(score[r] < 6, v == "drop") for r, v in verdicts.items() if r in score]
    n, agree = len(both), sum(j == h for j, h in both)
    tp = sum(j and h for j, h in both)
    assert got["n"] == n >= 20 and got["verdicts"] == len(verdicts)
    assert got["without_score"]["unanswered"]["verdicts"] == unanswered
    assert got["without_score"]["judge_error"]["verdicts"] == errors
    assert got["threshold"] == 6.0
    assert got["agreement"]["value"] == pytest.approx(agree / n)
    assert got["agreement"]["ci95"] == pytest.approx(list(wilson(agree, n)))
    assert got["drop_precision"]["value"] == pytest.approx(tp / sum(j for j, _ in both))
    assert got["drop_recall"]["value"] == pytest.approx(tp / sum(h for _, h in both))
    kappa = got["kappa"]
    assert kappa["ci95"][0] <= kappa["value"] <= kappa["ci95"][1]
    assert "bootstrap" in kappa["method"]
    assert got["kappa_reading"] in ("fair", "moderate", "substantial", "almost perfect")
    # the reviewer drops below 7 (but for three records): 7 agrees best, and says it is optimistic
    assert got["best_threshold"]["threshold"] == 7
    assert got["best_threshold"]["agreement"]["value"] == pytest.approx((n - 3) / n)
    assert "optimistic" in got["best_threshold"]["note"]
    assert [r["threshold"] for r in got["thresholds"]] == list(range(1, 11))
    assert sum(got["score_counts"].values()) == n and got["warnings"] == []

    written = json.loads((run_dir / "judge_check.json").read_text())
    assert written["kappa"] == kappa and written["n"] == n
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["judge_check"]["agreement"] == got["agreement"]

    code, out = cli("judge-check", run_dir)
    assert code == 0, out
    for words in ("agreement", "Cohen's kappa", "precision of drops", "recall of drops",
                  f"n = {n}", "never answered", "agreement at threshold 7*", "optimistic"):
        assert words in out, (words, out)


def test_any_verdicts_file_of_the_run_can_be_checked(run_dir: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text("curation:\n  judge:\n    threshold: 8\n")
    code, out = cli("curate", run_dir, "--config", strict)  # re-curated at a new threshold
    assert code == 0, out
    df = _records(run_dir)
    verdicts = _reviewer(df)
    path = _write(tmp_path / "elsewhere.jsonl", verdicts)
    code, out = cli("judge-check", run_dir, "--verdicts", path, "--json")
    assert code == 0, out
    got = json.loads(out)
    assert got["verdicts_file"] == str(path) and got["threshold"] == 8.0
    score = {r: s["judge"] for r, s in zip(df["id"], df["sc"], strict=True) if "judge" in s}
    assert got["judge_drops"] == sum(score[r] < 8 for r in verdicts if r in score)
    assert not (run_dir / "verdicts.jsonl").exists()  # checked, not merged


def test_the_check_cannot_be_made(run_dir: Path, tmp_path: Path) -> None:
    code, out = cli("judge-check", tmp_path / "typo")
    assert code == 2 and "not a datagen run folder" in out, out
    assert not (tmp_path / "typo").exists()

    code, out = cli("judge-check", run_dir)
    assert code == 2 and "verdicts.jsonl: no reviewer verdicts in the run folder" in out, out
    assert "datagen curate RUN_DIR --verdicts" in out
    assert not (run_dir / "judge_check.json").exists()

    code, out = cli("judge-check", run_dir, "--verdicts", tmp_path / "missing.jsonl")
    assert code == 2 and "missing.jsonl: no reviewer verdicts" in out, out

    other = _write(tmp_path / "other.jsonl", {"0123456789abcdef": "drop"})
    code, out = cli("judge-check", run_dir, "--verdicts", other)
    assert code == 2 and "ids are not records of this run" in out, out

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "verdict": "drop"}\n{not json\n')
    code, out = cli("judge-check", run_dir, "--verdicts", broken)
    assert code == 2 and "broken.jsonl:2: not JSON" in out and "Traceback" not in out, out

    few = dict(list(_reviewer(_records(run_dir)).items())[:5])
    code, out = cli("judge-check", run_dir, "--verdicts", _write(tmp_path / "few.jsonl", few))
    assert code == 2 and "5 of its 5 verdicts are on records the judge scored" in out, out
    assert "at least 10" in out and "review at least 5 more" in out
    assert not (run_dir / "judge_check.json").exists()


def test_a_run_without_judge_scores_says_how_to_get_them(tmp_path: Path) -> None:
    root = finished_run(tmp_path / "run")  # the judge never ran
    ids = pd.read_parquet(root / "records.parquet")["id"].tolist()
    path = _write(tmp_path / "v.jsonl", dict.fromkeys(ids, "drop"))
    code, out = cli("judge-check", root, "--verdicts", path)
    assert code == 2 and "the run has no judge scores (curation.judge.enabled: auto" in out, out
    assert "set curation.judge.enabled: on" in out and "rerun `datagen run`" in out
    assert len([line for line in out.splitlines() if line.strip()]) == 2  # no traceback


def prose_judge(body: dict[str, Any], n: int) -> Reply:
    """The world, but a judge that answers in prose: no verdict can be read."""
    if "strict reviewer of training data" in body["messages"][0]["content"]:
        return Reply("The answer looks fine to me.")
    return world(body, n)


def test_a_run_whose_judge_never_answered_the_verdict_says_so(tmp_path: Path) -> None:
    root = tmp_path / "run"
    with ScriptedServer(prose_judge) as server:
        cfg = RunConfig.model_validate({
            "seeds": [str(NDA_SEED)], "out": str(root), "pairs": 8, "allow_short": True,
            "llm": {"base_url": server.base_url, "model": "test-model", "max_retries": 0}})
        asyncio.run(run(cfg))
    ids = pd.read_parquet(root / "records.parquet")["id"].tolist()
    path = _write(tmp_path / "v.jsonl", dict.fromkeys(ids, "drop"))
    code, out = cli("judge-check", root, "--verdicts", path)
    assert code == 2 and "the judge scored none of the run's records" in out, out
    assert "replies could not be read (judge_error, e.g. 'not JSON" in out
    assert "run with a model that does (llm.model, llm.base_url)" in out


def test_a_judge_that_scores_everything_alike_is_flagged_not_praised() -> None:
    # as seen with the embedded model judging its own answers: 1 for everything, and a
    # reviewer who drops them all: agreement 1.0, and nothing learnt about the judge
    pairs = Pairs([f"r{i}" for i in range(12)], np.ones(12), np.ones(12, dtype=bool), 12, {})
    got = check(pairs, 6.0)
    assert got["agreement"]["value"] == 1.0
    assert got["kappa"]["value"] is None and "dropped every one of the 12" in \
        got["kappa"]["undefined"]
    assert got["kappa_reading"] is None
    assert got["score_counts"] == {"1": 12}
    assert any("same score (1)" in w for w in got["warnings"])
    assert any("reviewer dropped every reviewed record" in w for w in got["warnings"])
