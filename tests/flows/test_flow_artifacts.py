"""A flow run publishes artifacts whose numbers are the manifest's numbers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.generate_dataset import generate_dataset


async def _artifacts(flow_run_id: str) -> dict[str, object]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a for a in found}


def test_artifacts_carry_the_funnel_and_per_seed_yield(prefect_harness, make_config, world):
    config = make_config()
    result = asyncio.run(generate_dataset(config))
    manifest = json.loads((Path(config.out) / "manifest.json").read_text())
    arts = asyncio.run(_artifacts(result["flow_run_id"]))
    assert sorted(arts) == sorted(result["artifacts"])
    funnel = arts["funnel-legal-nda-clauses"].data
    c = manifest["counts"]
    assert f"| curate: generated records | {c['generated']} |" in funnel
    assert f"| **curate: kept** | **{c['kept']}** |" in funnel
    assert f"| split: train | {c['train']} |" in funnel
    assert "## Splits" in funnel and "| legal-nda-clauses |" in funnel.split("## Splits")[1]
    for reason, n in c["by_reason"].items():
        assert f"| curate: dropped {reason} | {n} |" in funnel
    assert c["by_reason"], "the scripted world makes duplicates: the funnel must show drops"
    s = manifest["per_seed"]["legal-nda-clauses"]
    yield_row = (f"| legal-nda-clauses | 8 | {s['generated']} | {s['kept']} | "
                 f"{100 * s['kept'] / s['generated']:.1f}% | {s['shortfall']} | "
                 f"{manifest['generation']['legal-nda-clauses']['stop']} |")
    assert yield_row in arts["seed-yield-legal-nda-clauses"].data
    assert s["kept"] == 8
    validate = arts["openai-validate-legal-nda-clauses"].data
    assert f"`train.jsonl`: {c['train']} valid examples; format errors: none" in validate
    for model, m in manifest["validate"]["train"]["models"].items():
        assert f"| {model} | {m['epochs']} | {m['billed_tokens']:,} |" in validate
        assert f"${m['cost_usd']:.4f} |" in validate
    assert manifest["validate"]["train"]["models"], "a fine-tuning cost estimate is expected"
    assert f"({Path(config.out).resolve().as_uri()})" in arts["run-folder-legal-nda-clauses"].data
