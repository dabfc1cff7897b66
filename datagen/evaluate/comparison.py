"""`datagen eval RUN_DIR`: every candidate answers the validation instructions through the
same `LLMClient` (the run folder's cache, its budget, its prices), then the answers are scored
and the comparison is written.

    eval/answers.jsonl   one line per instruction and candidate: the answer, tokens, latency
    eval/verdicts.jsonl  one line per instruction and judged pair: the judge's verdict with
                         each candidate shown first (the pair's position bias comes from these)
    eval/summary.json    the table (also the manifest's `eval` section and report.md's)

Where the candidates run:
- a run fine-tuned on OpenAI: (a) and (b) on the base model it was trained from, (c) on the
  fine-tuned model, all on the fine-tuning endpoint;
- otherwise the embedded model answers (a) and (b), and (c) is the embedded model with the
  local adapter, converted to a llama.cpp LoRA (`datagen.finetune.adapter_gguf`) and loaded
  by a second embedded server (llama.cpp's server reads `LORA_PATH` from its environment).

Latency is measured on calls that reached the endpoint; a rerun answers from the cache and
keeps the latencies measured the first time (from `eval/answers.jsonl`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagen.config import LLMConfig
from datagen.console import console, esc
from datagen.errors import ConfigError, EndpointError
from datagen.evaluate import candidates as cands
from datagen.evaluate import scores
from datagen.evaluate.pairwise import check_scored, judge_note, judge_pairs
from datagen.evaluate.table import bias_cells, markdown, rows_table, write_report_section
from datagen.files import write_json, write_jsonl
from datagen.finetune.source import TrainingData
from datagen.llm import embedded
from datagen.llm.cache import ResponseCache
from datagen.llm.client import LLMClient
from datagen.llm.endpoint import Endpoint
from datagen.llm.pricing import price_for
from datagen.llm.wire import LLMCallError
from datagen.progress import StageProgress


@dataclass
class EvalRequest:
    finetuned: str = "auto"  # auto | openai | lora | none
    max_tokens: int = 256
    shots: int = 2
    limit: int | None = None
    judge: Endpoint | None = None
    openai_endpoint: Endpoint | None = None  # where an OpenAI fine-tuned model is served
    base: Endpoint | None = None  # an embedded server already running, for (a) and (b)


def which_finetuned(data: TrainingData, wanted: str) -> str:
    done = data.manifest.get("finetune", {})
    has_lora = (data.root / "lora" / "adapter_config.json").is_file()
    has_openai = done.get("openai", {}).get("status") == "succeeded"
    if wanted == "auto":
        return "lora" if has_lora else "openai" if has_openai else "none"
    if wanted == "lora" and not has_lora:
        raise ConfigError(f"{data.root / 'lora'}: no local adapter",
                          hint="train one with `datagen finetune RUN_DIR --local`")
    if wanted == "openai" and not has_openai:
        raise ConfigError("the run has no succeeded OpenAI fine-tuning job",
                          hint="run `datagen finetune RUN_DIR` first")
    return wanted


@contextlib.contextmanager
def adapter_endpoint(data: TrainingData) -> Iterator[Endpoint]:
    """The embedded model with the run's LoRA adapter, served by llama.cpp on loopback."""
    from datagen.finetune.adapter_gguf import write_gguf_adapter
    from datagen.finetune.lora import check_adapter

    adapter = data.root / "lora"
    check_adapter(adapter, None)
    gguf = write_gguf_adapter(adapter, embedded.model_path(), data.root / "lora.gguf")
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()[:16]
    saved = os.environ.get("LORA_PATH")
    os.environ["LORA_PATH"] = str(gguf)  # read by llama.cpp's server settings
    try:
        server = embedded.EmbeddedServer().start()
    finally:
        if saved is None:
            os.environ.pop("LORA_PATH", None)
        else:
            os.environ["LORA_PATH"] = saved
    try:
        if "llama_adapter_lora_init" not in server.log_tail(10**6):
            raise EndpointError("the embedded server did not load the LoRA adapter",
                                hint="check llama-cpp-python[server]==0.3.36 is installed")
        yield Endpoint(base_url=server.base_url, model=embedded.MODEL_ALIAS, kind="embedded",
                       identity=f"{embedded.model_identity()}+lora:{digest}")
    finally:
        server.stop()


@contextlib.contextmanager
def base_endpoint(llm: LLMConfig, finetuned: str) -> Iterator[Endpoint]:
    """(a) and (b) run where (c) will be compared: the adapter's base is the embedded model;
    with no fine-tuned model yet, the run's own endpoint."""
    if finetuned != "lora":
        from datagen.llm.endpoint import open_endpoint

        with open_endpoint(llm) as endpoint:
            yield endpoint
        return
    with embedded.embedded_server() as server:
        yield Endpoint(base_url=server.base_url, model=embedded.MODEL_ALIAS, kind="embedded",
                       identity=embedded.model_identity())


def _client(endpoint: Endpoint, cache: ResponseCache, llm: LLMConfig) -> LLMClient:
    return LLMClient(endpoint, cache, max_concurrency=llm.max_concurrency,
                     timeout_s=llm.timeout_s, max_retries=llm.max_retries,
                     price=price_for(endpoint.model, endpoint.kind, llm.prices),
                     max_cost_usd=llm.max_cost_usd)


async def answer(client: LLMClient, cand: cands.Candidate, items: list[cands.Item],
                 params: dict[str, Any], seen: dict[str, float]) -> list[dict[str, Any]]:
    """Each item's answer by one candidate; a failed call is a row without text."""

    async def one(item: cands.Item) -> dict[str, Any]:
        messages = cand.messages(item)
        started = time.perf_counter()
        row: dict[str, Any] = {"id": item.id, "candidate": cand.key,
                               "key": client.key(messages, params)}
        try:
            done = await client.chat(messages, params=params)
        except LLMCallError as exc:
            row.update(text=None, error=exc.reason, prompt_tokens=0, completion_tokens=0,
                       latency_s=None, cached=False)
            tick(1)
            return row
        latency = seen.get(row["key"]) if done.cached else time.perf_counter() - started
        row.update(text=done.text, prompt_tokens=done.prompt_tokens,
                   completion_tokens=done.completion_tokens, latency_s=latency,
                   cached=done.cached, rouge_l=scores.rouge_l(done.text, item.reference))
        tick(1)
        return row

    with StageProgress(f"eval {cand.name}", len(items), stats=client.status) as tick:
        return list(await asyncio.gather(*(one(i) for i in items)))


def summarise(cand: cands.Candidate, endpoint: Endpoint, rows: list[dict[str, Any]],
              cost_usd: float) -> dict[str, Any]:
    ok = [r for r in rows if r.get("text") is not None]
    timed = [r["latency_s"] for r in ok if r.get("latency_s") is not None]
    rouge = [r["rouge_l"] for r in ok]
    low, high = scores.bootstrap_ci(rouge)
    return {
        "candidate": cand.key, "name": cand.name, "approach": cand.approach,
        "model": endpoint.model, "endpoint": endpoint.kind,
        "examples_needed": cand.examples_needed, "training": cand.training,
        "answered": len(ok), "failed": len(rows) - len(ok),
        "errors": dict(Counter(str(r.get("error")).split(":", 1)[0] for r in rows
                               if r.get("text") is None).most_common()),
        "rouge_l": sum(rouge) / len(rouge) if rouge else None, "rouge_l_ci95": [low, high],
        "answer_words": (sum(len(scores.words(r["text"])) for r in ok) / len(ok)) if ok else None,
        "prompt_tokens": sum(r["prompt_tokens"] for r in ok),
        "completion_tokens": sum(r["completion_tokens"] for r in ok),
        "latency_s": sum(timed) / len(timed) if timed else None,
        "cost_usd": round(cost_usd, 6),
    }


def previous_latencies(path: Path) -> dict[str, float]:
    import json

    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("latency_s") is not None:
            out[row["key"]] = float(row["latency_s"])
    return out


def evaluate(data: TrainingData, req: EvalRequest) -> dict[str, Any]:
    """Run the comparison and write it (eval/, the manifest, report.md)."""
    items = cands.validation_items(data, req.limit)
    finetuned = which_finetuned(data, req.finetuned)
    done = data.manifest.get("finetune", {})
    n_train = int(data.manifest.get("counts", {}).get("train", 0))
    few_shot = cands.prompted(cands.seed_tasks(data), req.shots,
                              cands.train_pairs(data, req.shots))
    shots = [cands.Candidate("a", "base", "prompting", cands.plain, "none"),
             cands.Candidate("b", "prompted", "prompting", few_shot,
                             f"persona + {req.shots} examples per call")]
    trained = cands.as_trained(data.config.export.system_message)
    params = {"temperature": 0, "max_tokens": req.max_tokens}
    seen = previous_latencies(data.folder.root / "eval" / "answers.jsonl")
    cache = ResponseCache(data.folder.cache)
    llm = data.config.llm
    rows: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []

    def run_on(endpoint: Endpoint, group: list[cands.Candidate]) -> None:
        async def go() -> None:
            for cand in group:
                client = _client(endpoint, cache, llm)
                try:
                    got = await answer(client, cand, items, params, seen)
                finally:
                    await client.aclose()
                rows.extend(got)
                table.append(summarise(cand, endpoint, got, client.usage.cost_usd))
        asyncio.run(go())

    try:
        if finetuned == "openai":
            job = done["openai"]
            if req.openai_endpoint is None:
                raise ConfigError("no endpoint for the fine-tuned model",
                                  hint="pass --base-url of the fine-tuning API")
            base = _with_model(req.openai_endpoint, job["model"])
            run_on(base, shots)
            c = cands.Candidate("c", "fine-tuned", "fine-tuning (OpenAI)", trained,
                                f"{n_train} training pairs",
                                {"cost_usd": job.get("cost_usd"),
                                 "trained_tokens": job.get("trained_tokens")})
            run_on(_with_model(req.openai_endpoint, job["fine_tuned_model"]), [c])
            dpo = done.get("openai_dpo") or {}
            if dpo.get("status") == "succeeded" and dpo.get("fine_tuned_model"):
                pairs_n = int((data.manifest.get("preference") or {}).get("train", 0))
                d = cands.Candidate("d", "DPO", "preference tuning (OpenAI DPO)", trained,
                                    f"{pairs_n} preference pairs",
                                    {"cost_usd": dpo.get("cost_usd"),
                                     "trained_tokens": dpo.get("trained_tokens")})
                run_on(_with_model(req.openai_endpoint, dpo["fine_tuned_model"]), [d])
        else:
            if req.base is not None:
                run_on(req.base, shots)
            else:
                with base_endpoint(llm, finetuned) as base:
                    run_on(base, shots)
            if finetuned == "lora":
                lora = done.get("lora", {})
                c = cands.Candidate("c", "adapter", "adapter (LoRA)", trained,
                                    f"{n_train} training pairs",
                                    {"cost_usd": 0.0, "seconds": lora.get("seconds"),
                                     "eval_loss_base": lora.get("eval_loss_base"),
                                     "eval_loss": lora.get("eval_loss")})
                with adapter_endpoint(data) as endpoint:
                    run_on(endpoint, [c])
        folder = data.folder.root / "eval"
        write_jsonl(folder / "answers.jsonl", rows)  # paid for: kept whatever follows
        check_scored(table, {}, None, len(items))  # before paying a judge
        judged: dict[str, dict[str, Any]] = {}
        if req.judge is not None:
            answers = {(r["id"], r["candidate"]): r.get("text") for r in rows}
            keys = [t["candidate"] for t in table]
            pairs = [p for p in (("c", "a"), ("c", "b"), ("b", "a"), ("d", "c"), ("d", "b"))
                     if p[0] in keys and p[1] in keys]

            async def go_judge() -> dict[str, dict[str, Any]]:
                client = _client(req.judge, cache, llm)  # type: ignore[arg-type]
                try:
                    judged, stored = await judge_pairs(client, items, answers, pairs)
                    write_jsonl(folder / "verdicts.jsonl", stored)  # paid for: kept
                    return judged
                finally:
                    await client.aclose()

            judged = asyncio.run(go_judge())
        else:
            (folder / "verdicts.jsonl").unlink(missing_ok=True)  # an earlier judge's
    finally:
        cache.close()
    check_scored(table, judged, req.judge, len(items))
    summary = {
        "instructions": len(items), "generation_id": data.generation,
        "finetuned": finetuned, "params": params,
        "metric": "ROUGE-L F1 (longest common word subsequence vs the validation response)",
        "candidates": table, "judge": ({"model": req.judge.model, "pairs": judged}
                                       if req.judge is not None else None),
    }
    write_json(folder / "summary.json", summary)
    note = judge_note(judged)
    text = markdown(summary) + (f"\n\n{note}" if note else "")
    (folder / "report.md").write_text(text + "\n", encoding="utf-8")
    write_report_section(data.folder.report, text)
    from datagen.files import read_json

    manifest = read_json(data.folder.manifest, what="manifest")
    manifest["eval"] = summary
    write_json(data.folder.manifest, manifest)
    console.print(rows_table(summary))
    for pair, asked, flips, first in bias_cells(summary):
        console.print(f"judge position bias {esc(pair)}: winner flips {esc(flips)}, "
                      f"first-position wins {esc(first)} ({esc(asked)} asked in both orders)")
    if note:
        console.print(f"[yellow]{esc(note)}[/]")
    if finetuned == "none":
        console.print("no fine-tuned candidate yet: `datagen finetune RUN_DIR --local` (or an "
                      "OpenAI job) adds (c)")
    console.print(f"written: {esc(folder / 'summary.json')}")
    return summary


def _with_model(endpoint: Endpoint, model: str) -> Endpoint:
    return Endpoint(base_url=endpoint.base_url, model=model, kind=endpoint.kind,
                    identity=endpoint.identity, api_key=endpoint.api_key,
                    key_found=endpoint.key_found)
