"""OpenAI fine-tuning jobs for a run: upload the splits, create the job once, follow it, and
record the model it made.

    finetune/openai.json     the job record: file ids, the job id, its status, events seen

The steps, each recorded before the next begins, so a crash or Ctrl-C at any point resumes
without paying twice:

1. pre-flight: the cost estimate (billed tokens x epochs x price, the export's validate
   report recomputed for the chosen model) plus what the run folder already spent must fit
   under `llm.max_cost_usd`;
2. upload `train.jsonl` and `validation.jsonl` (`purpose="fine-tune"`); each file id is
   recorded the moment it exists and reused on rerun;
3. mark the job `creating`, then create it with the SDK's retries off: an unconfirmed create
   (a dropped connection, a timeout, a crash) is looked up by its training file id on the
   next attempt instead of being sent again, the same pattern as the Batch API's;
4. follow status and events (metrics events drive the progress bar), saving the events seen;
5. on `succeeded`, record `fine_tuned_model`, trained tokens and the cost (trained tokens x
   the training price; the API reports tokens, not dollars) in the record and the manifest.
   `failed`, `cancelled` and `expired` raise `FineTuneFailed` with the job's own error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from datagen.console import console, esc
from datagen.errors import (
    BudgetExceeded,
    DatagenError,
    EndpointError,
    ExportError,
    FineTuneFailed,
)
from datagen.export.validate import validate_file
from datagen.files import read_json, write_json
from datagen.finetune.source import TrainingData
from datagen.llm.endpoint import Endpoint
from datagen.progress import StageProgress, mode
from datagen.secrets import redact_url, scrub

TERMINAL = {"succeeded", "failed", "cancelled", "expired"}
# every status a fine-tuning job shows; anything else is not a job (a chat completion, say)
STATUSES = {"validating_files", "queued", "running", "paused", "pausing", *TERMINAL}
NOT_AN_API_FIX = ("point --base-url at an OpenAI-compatible fine-tuning API (default "
                  "https://api.openai.com/v1), or train a local adapter with --local; nothing "
                  "was recorded for this reply")
FAILED = {"failed", "cancelled", "expired"}
EVENTS_KEPT = 500  # ids of events already shown, kept in the record to print each once
LOOKUP_LIMIT = 500  # jobs scanned when looking for an unconfirmed create


@dataclass
class JobRequest:
    """What to train. `n_epochs` None: the validate report's default for this file size."""

    model: str
    suffix: str | None = None
    seed: int | None = None
    n_epochs: int | None = None
    max_cost_usd: float | None = None
    poll_s: float = 30.0
    restart: bool = False
    wait: bool = True


class JobRecord:
    """The run folder's `finetune/openai.json`, written atomically after every step."""

    def __init__(self, data: TrainingData) -> None:
        self.path: Path = data.root / "openai.json"
        self.state: dict[str, Any] = (read_json(self.path, what="fine-tuning job record",
                                                fix="restore it, or delete it to start over "
                                                    "(a job already created is then not "
                                                    "followed)")
                                      if self.path.is_file() else {})

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        write_json(self.path, self.state)


def estimate(data: TrainingData, model: str, n_epochs: int | None) -> dict[str, Any]:
    """Billed tokens and cost of training `model` on the run's train split."""
    report = validate_file(data.train, [model], data.config.export.prices)
    m = report["models"][model]
    epochs = n_epochs or m["epochs"]
    billed = m["billable_tokens_per_epoch"] * epochs
    return {"model": model, "examples": report["valid"], "epochs": epochs,
            "billed_tokens": billed, "usd_per_1m_tokens": m["usd_per_1m_tokens"],
            "cost_usd": round(billed * m["usd_per_1m_tokens"] / 1e6, 4),
            "over_limit": m["over_limit"]}


def check_budget(est: dict[str, Any], cap: float | None, spent: float) -> None:
    if cap is not None and spent + est["cost_usd"] > cap:
        raise BudgetExceeded(
            f"fine-tuning {est['model']} for {est['epochs']} epochs would cost about "
            f"${est['cost_usd']:.4f} ({est['billed_tokens']:,} billed tokens); with "
            f"${spent:.4f} already spent in this run folder that passes llm.max_cost_usd = "
            f"${cap:.4f}",
            hint="raise --max-cost-usd (or llm.max_cost_usd), or train fewer epochs with "
                 "--epochs; nothing was uploaded")


def api_error(exc: Exception, what: str, endpoint: Endpoint) -> DatagenError:
    """An SDK error as a DatagenError that says what to do (the key never appears)."""
    where = redact_url(endpoint.base_url)
    if isinstance(exc, openai.APIConnectionError):
        return EndpointError(f"cannot reach {where} to {what}",
                             hint="check the network and --base-url, then rerun the same "
                                  "command: files and jobs already made are reused")
    if not isinstance(exc, openai.APIStatusError):
        return EndpointError(f"{what} failed at {where}: {type(exc).__name__}")
    body = exc.body if isinstance(exc.body, dict) else {}
    code = str(body.get("code") or (body.get("error") or {}).get("code") or "")
    message = scrub(str(getattr(exc, "message", "") or exc), endpoint.api_key)[:300]
    status = exc.status_code
    if status == 401:
        return EndpointError(f"{where} refused the API key (401) to {what}",
                             hint="check the key in the env variable named by llm.api_key_env")
    if status == 403 or code in ("permission_denied", "model_not_available"):
        return EndpointError(f"this API key has no fine-tuning access ({status}): {message}",
                             hint="use a key of a project allowed to fine-tune (its role "
                                  "needs fine-tuning write access), or train a local "
                                  "adapter with --local")
    if status == 429 and code == "insufficient_quota":
        return EndpointError(f"the account is out of quota: {message}",
                             hint="add credit or raise the project's limit, then rerun the same "
                                  "command: uploaded files are reused")
    if status == 429:
        return EndpointError(f"rate-limited while trying to {what}: {message}",
                             hint="wait a minute and rerun the same command")
    if status == 404:
        return EndpointError(f"{where} answered 404 to {what}: {message}",
                             hint="pick a model that can be fine-tuned (--model), or point "
                                  "--base-url at a server with the fine-tuning API")
    if status in (400, 422):
        return ExportError(f"the API refused to {what}: {message}",
                           hint="run `datagen validate` on the run's openai/*.jsonl and fix what "
                                "it lists; the budget and limits are in the manifest")
    return EndpointError(f"{where} answered {status} to {what}: {message}",
                         hint="rerun the same command later: nothing is created twice")


def _shown(value: Any) -> str:
    return repr(str(value)[:60])


def checked(obj: Any, kind: str, what: str, endpoint: Endpoint) -> Any:
    """`obj` when it is the object the fine-tuning API answers `what` with (`kind` "file" or
    "fine_tuning.job", a string id, a job's status one a job has); else an EndpointError
    naming the URL. A server that is not a fine-tuning API (a chat endpoint answering any
    path) would otherwise have its chat completion id recorded as a job."""
    got = getattr(obj, "object", None) if not isinstance(obj, str | bytes) else None
    oid = getattr(obj, "id", None) if got is not None else None
    status = getattr(obj, "status", None) if got is not None else None
    if got == kind and isinstance(oid, str) and oid and (
            kind != "fine_tuning.job" or status in STATUSES):
        return obj
    if got is None:
        seen = f"a {type(obj).__name__}, not an object" if not hasattr(obj, "object") else \
            "an object without an `object` type"
    elif got != kind:
        seen = f"a {_shown(got)} object (id {_shown(oid)})"
    elif not isinstance(oid, str) or not oid:
        seen = f"a {kind} object without an id"
    else:
        seen = f"a {kind} object with the unknown status {_shown(status)}"
    raise EndpointError(f"{redact_url(endpoint.base_url)} is not a fine-tuning API: asked to "
                        f"{what}, it answered {seen} instead of a {kind} object",
                        hint=NOT_AN_API_FIX)


class JobRunner:
    """One run folder's fine-tuning job on one endpoint (a sync client: one job, few calls).
    Control calls keep the SDK's retries, except `create`, whose retry could make a twin."""

    def __init__(self, data: TrainingData, endpoint: Endpoint, *, timeout_s: float = 120) -> None:
        self.data, self.endpoint = data, endpoint
        self.record = JobRecord(data)
        self.client = openai.OpenAI(**endpoint.sdk_args(), max_retries=2, timeout=timeout_s)

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise api_error(exc, what, self.endpoint) from None

    # ---- the lifecycle ---------------------------------------------------------------------

    def run(self, req: JobRequest) -> dict[str, Any]:
        """Create the job (unless the record holds one) and follow it to its end."""
        state = self.record.state
        if state.get("job_id") and req.restart:
            if state.get("status") not in TERMINAL:
                raise DatagenError(f"job {state['job_id']} is still {state.get('status')}",
                                   hint="cancel it first with `datagen finetune RUN_DIR "
                                        "--cancel`, or drop --restart to follow it")
            history = [*state.get("previous", []), {k: v for k, v in state.items()
                                                    if k != "previous"}]
            kept = ("generation_id", "training_file", "validation_file")  # reused if current
            self.record.state = {"previous": history, **{k: state[k] for k in kept if k in state}}
            self.record.save()
        if not self.record.state.get("job_id"):
            self.create(req)
        if not req.wait:
            return self.record.state
        return self.follow(req.poll_s)

    def create(self, req: JobRequest) -> None:
        state = self.record.state
        if state.get("status") == "creating":  # a create that was never confirmed
            if (job := self.find_job()) is not None:
                console.print(f"found job {esc(job.id)}, created before the last stop")
                self.confirm(job)
                return
        est = estimate(self.data, req.model, req.n_epochs)
        cap = req.max_cost_usd if req.max_cost_usd is not None \
            else self.data.config.llm.max_cost_usd
        check_budget(est, cap, float(self.data.manifest.get("llm", {}).get("cost_usd", 0.0)))
        generation = self.data.generation
        if state.get("generation_id") != generation:  # a new export: new files
            for key in ("training_file", "validation_file"):
                state.pop(key, None)
        self.record.save(generation_id=generation, model=req.model, suffix=req.suffix,
                         seed=req.seed, n_epochs=est["epochs"], estimate=est,
                         status="uploading")
        for key, path in (("training_file", self.data.train),
                          ("validation_file", self.data.validation)):
            if not state.get(key):
                f = self.call(f"upload {path.name}", self.client.files.create,
                              file=(path.name, path.read_bytes()), purpose="fine-tune")
                f = checked(f, "file", f"upload {path.name}", self.endpoint)
                self.record.save(**{key: f.id})
        self.record.save(status="creating", create_sent=time.time())
        kwargs: dict[str, Any] = {
            "model": req.model, "training_file": state["training_file"],
            "validation_file": state["validation_file"],
            "hyperparameters": {"n_epochs": est["epochs"]},
            "metadata": {"datagen_run": str(self.data.manifest.get("run_id", "")),
                         "datagen_generation": str(generation or "")},
        }
        if req.suffix:
            kwargs["suffix"] = req.suffix
        if req.seed is not None:
            kwargs["seed"] = req.seed
        try:
            job = self.client.with_options(max_retries=0).fine_tuning.jobs.create(**kwargs)
        except (openai.APIConnectionError, openai.InternalServerError) as exc:
            job = self.find_job()  # it may exist although its answer was lost
            if job is None:
                raise api_error(exc, "create the fine-tuning job", self.endpoint) from None
        except openai.OpenAIError as exc:
            self.record.save(status="refused")
            raise api_error(exc, "create the fine-tuning job", self.endpoint) from None
        try:
            job = checked(job, "fine_tuning.job", "create the fine-tuning job", self.endpoint)
        except EndpointError:
            # the files went to a server that is no fine-tuning API: forget them with the reply
            for key in ("training_file", "validation_file", "create_sent"):
                state.pop(key, None)
            self.record.save(status="refused")
            raise
        self.confirm(job)

    def find_job(self) -> Any | None:
        """The job made from our training file, if one exists (an unconfirmed create)."""
        wanted = self.record.state.get("training_file")
        if not wanted:
            return None
        pages = self.call("list fine-tuning jobs", self.client.fine_tuning.jobs.list, limit=100)
        for n, job in enumerate(pages):
            job = checked(job, "fine_tuning.job", "list fine-tuning jobs", self.endpoint)
            if job.training_file == wanted:
                return job
            if n >= LOOKUP_LIMIT:
                break
        return None

    def confirm(self, job: Any) -> None:
        self.record.save(job_id=job.id, status=job.status, created_at=job.created_at)
        console.print(f"fine-tuning job {esc(job.id)} ({esc(job.model)}): {esc(job.status)}")

    def follow(self, poll_s: float) -> dict[str, Any]:
        """Poll the job until it ends; print new events; drive a progress bar from metrics."""
        job_id = self.record.state["job_id"]
        seen: list[str] = list(self.record.state.get("events_seen", []))
        bar: StageProgress | None = None
        status = self.record.state.get("status")
        try:
            while True:
                job = checked(self.call("retrieve the fine-tuning job",
                                        self.client.fine_tuning.jobs.retrieve, job_id),
                              "fine_tuning.job", "retrieve the fine-tuning job", self.endpoint)
                page = self.call("list the job's events", self.client.fine_tuning.jobs.list_events,
                                 job_id, limit=100)
                fresh = [e for e in page.data if e.id not in seen]
                for event in sorted(fresh, key=lambda e: (e.created_at, e.id)):
                    seen.append(event.id)
                    bar = self.show(event, bar)
                if job.status != status:
                    status = job.status
                    if mode() != "quiet":
                        console.print(f"{esc(job_id)}: {esc(status)}")
                self.record.save(status=job.status, events_seen=seen[-EVENTS_KEPT:])
                if job.status in TERMINAL:
                    return self.finish(job)
                time.sleep(poll_s)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)

    def show(self, event: Any, bar: StageProgress | None) -> StageProgress | None:
        data = event.data if isinstance(event.data, dict) else {}
        total, step = data.get("total_steps"), data.get("step")
        if event.type == "metrics" and isinstance(total, int) and isinstance(step, int):
            if bar is None:
                bar = StageProgress("fine-tune", total)
                bar.__enter__()
            bar.tick(max(0, step - bar.done))
            return bar
        if mode() != "quiet":
            console.print(f"  {esc(event.message)}")
        return bar

    def finish(self, job: Any) -> dict[str, Any]:
        state = self.record.state
        error = getattr(job, "error", None)
        error_text = getattr(error, "message", None) if error is not None else None
        est = state.get("estimate", {})
        trained = int(job.trained_tokens or 0)
        price = float(est.get("usd_per_1m_tokens", 0.0))
        result = {
            "job_id": job.id, "status": job.status, "model": job.model,
            "fine_tuned_model": job.fine_tuned_model, "trained_tokens": trained,
            "cost_usd": round(trained * price / 1e6, 4), "usd_per_1m_tokens": price,
            "estimate_usd": est.get("cost_usd"), "n_epochs": state.get("n_epochs"),
            "training_file": state.get("training_file"),
            "validation_file": state.get("validation_file"),
            "result_files": list(job.result_files or []), "finished_at": job.finished_at,
            "trained_on_generation": state.get("generation_id"),
            "endpoint": self.endpoint.public,
        }
        if error_text:
            result["error"] = {"code": getattr(error, "code", None), "message": error_text}
        self.record.save(result=result)
        self.data.record("openai", result)
        if job.status in FAILED:
            why = f": {error_text}" if error_text else ""
            raise FineTuneFailed(
                f"fine-tuning job {job.id} {job.status}{why}",
                hint="fix what the error names (see `datagen validate` for file problems), "
                     "then `datagen finetune RUN_DIR --restart` creates a new job")
        return result

    def cancel(self) -> dict[str, Any]:
        job_id = self.record.state.get("job_id")
        if not job_id:
            raise DatagenError("no fine-tuning job recorded for this run folder",
                               hint="start one with `datagen finetune RUN_DIR`")
        job = checked(self.call("cancel the fine-tuning job",
                                self.client.fine_tuning.jobs.cancel, job_id),
                      "fine_tuning.job", "cancel the fine-tuning job", self.endpoint)
        self.record.save(status=job.status)
        console.print(f"{esc(job_id)}: {esc(job.status)}")
        return self.record.state

    def close(self) -> None:
        self.client.close()
