"""A flow run publishes artifacts whose numbers are the manifest's numbers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows import run_options
from flows.artifacts import _slug
from flows.generate_dataset import generate_dataset


async def _artifacts(flow_run_id: str) -> dict[str, object]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a for a in found}


def test_artifacts_carry_the_funnel_and_per_seed_yield(prefect_harness, make_config, world):
    config = make_config(pairs=13)  # 10+ training examples: a file OpenAI takes, priced
    result = asyncio.run(generate_dataset(config))
    manifest = json.loads((Path(config.out) / "manifest.json").read_text())
    arts = asyncio.run(_artifacts(result["flow_run_id"]))
    assert sorted(arts) == sorted(result["artifacts"])
    key = _slug(run_options.artifact_key(config))
    assert key == "nda-clauses-run"  # the seed set and the target: not shared by other jobs
    arts = {k.removesuffix(f"-{key}"): a for k, a in arts.items()}
    funnel = arts["funnel"].data
    c = manifest["counts"]
    assert f"| curate: generated records | {c['generated']} |" in funnel
    assert f"| **curate: kept** | **{c['kept']}** |" in funnel
    assert f"| split: train | {c['train']} |" in funnel
    assert "## Splits" in funnel and "| legal-nda-clauses |" in funnel.split("## Splits")[1]
    for reason, n in c["by_reason"].items():
        assert f"| curate: dropped {reason} | {n} |" in funnel
    assert c["by_reason"], "the scripted world makes duplicates: the funnel must show drops"
    s = manifest["per_seed"]["legal-nda-clauses"]
    yield_row = (f"| legal-nda-clauses | 13 | {s['generated']} | {s['kept']} | "
                 f"{100 * s['kept'] / s['generated']:.1f}% | {s['shortfall']} | "
                 f"{manifest['generation']['legal-nda-clauses']['stop']} |")
    assert yield_row in arts["seed-yield"].data
    assert s["kept"] == 13
    validate = arts["openai-validate"].data
    assert f"`train.jsonl`: {c['train']} valid examples; format errors: none" in validate
    for model, m in manifest["validate"]["train"]["models"].items():
        assert f"| {model} | {m['epochs']} | {m['billed_tokens']:,} |" in validate
        assert f"${m['cost_usd']:.4f} |" in validate
    assert manifest["validate"]["train"]["models"], "a fine-tuning cost estimate is expected"
    run = arts["run-folder"].data  # the path as text; no file:// link the UI cannot open
    assert f"run folder: `{Path(config.out).absolute()}`" in run and "file://" not in run
    assert "report (funnel, plots, split check, cost, record viewer): `" in run
    cost = arts["cost"].data
    llm = manifest["llm"]
    for stage, u in llm["by_stage"].items():
        assert f"| {stage} | {u['requests']} | {u['cache_hits']} | {u['failures']} | " \
               f"{u['prompt_tokens']} | {u['completion_tokens']} | ${u['cost_usd']:.4f} |" in cost
    assert {"expand", "respond"} <= set(llm["by_stage"])
    assert f"| **all** | {llm['requests']} |" in cost


def test_artifacts_link_where_the_config_says_folders_are_served(prefect_harness, make_config,
                                                                world, tmp_path):
    config = make_config(orchestration={"links": {"root": str(tmp_path),
                                                  "url": "https://files.example.com/dg"}},
                         export={"target_models": []})  # 8 pairs: not for OpenAI
    result = asyncio.run(generate_dataset(config))
    arts = asyncio.run(_artifacts(result["flow_run_id"]))
    run = next(a.data for k, a in arts.items() if k.startswith("run-folder-"))
    rel = Path(config.out).relative_to(tmp_path).as_posix()
    assert f"([open](https://files.example.com/dg/{rel}))" in run
    assert f"([open](https://files.example.com/dg/{rel}/report.html))" in run
