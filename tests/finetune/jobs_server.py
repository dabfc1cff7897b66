"""The scripted server of `tests/scripted_server.py`, plus the files and fine-tuning jobs
routes of the OpenAI wire format: create, list, retrieve, list events and cancel, following a
`JobScript`. File uploads are the base server's (multipart, as the SDK sends them).

Every create request is recorded in `server.job_creates`, so a test counts the jobs made; a
create can be answered with an error, dropped after the job exists (its answer lost), or held
open after the job exists (a process killed before it heard back).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.scripted_server import ScriptedServer

RUNNING = ("validating_files", "queued", "running", "running", "running", "succeeded")


@dataclass
class JobScript:
    """How every job behaves: the status each successive retrieve shows (the last repeats)."""

    statuses: tuple[str, ...] = RUNNING
    error: dict[str, Any] | None = None  # the job's error once it shows "failed"
    create_status: int = 200
    create_error: dict[str, Any] = field(default_factory=dict)  # {"message", "code"}
    create_drop: bool = False  # make the job, then cut the connection without an answer
    create_hold_s: float = 0.0  # make the job, then wait this long before answering
    upload_status: int = 200
    total_steps: int = 4
    trained_tokens: int = 12_345


def file_error(raw: bytes, method: str) -> str | None:
    """What OpenAI's file validation says of a training file for `method`, or None: a
    supervised file holds `messages` with an assistant turn; a DPO file holds `input.messages`
    ending with a user turn, and exactly one assistant message in `preferred_output` and in
    `non_preferred_output`."""
    for n, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        ex = json.loads(line)
        if method == "supervised":
            msgs = ex.get("messages") if isinstance(ex, dict) else None
            if not msgs or not any(m.get("role") == "assistant" for m in msgs):
                return f"Invalid file format. Example {n}: missing 'messages' with an assistant"
            continue
        msgs = (ex.get("input") or {}).get("messages") if isinstance(ex, dict) else None
        if not msgs or msgs[-1].get("role") != "user":
            return f"Invalid file format. Example {n}: input messages must end with a user turn"
        for key in ("preferred_output", "non_preferred_output"):
            out = ex.get(key)
            if not (isinstance(out, list) and len(out) == 1
                    and out[0].get("role") == "assistant" and out[0].get("content")):
                return (f"Invalid file format. Example {n}: {key} must contain exactly one "
                        "assistant message")
    return None


class JobsServer(ScriptedServer):
    def __init__(self, script: JobScript | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = script or JobScript()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_creates: list[dict[str, Any]] = []
        self.purposes: dict[str, str] = {}
        self.retrieves = 0
        self.created = threading.Event()  # set when a job exists
        self._clock = int(time.time())
        server = self
        base = self._httpd.RequestHandlerClass

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                if "/fine_tuning/jobs" not in path:
                    super().do_GET()
                    return
                status, body = server._jobs_get(path)
                self._send(status, body, {})

            def do_POST(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                if "/fine_tuning/jobs" not in path and not path.endswith("/files"):
                    super().do_POST()
                    return
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if path.endswith("/files"):
                    status, body = server._upload(path, raw, self.headers.get("Content-Type"))
                    self._send(status, body, {})
                    return
                if path.endswith("/cancel"):
                    status, body = server._cancel(path.split("/")[-2])
                    self._send(status, body, {})
                    return
                status, body = server._create(json.loads(raw or b"{}"))
                script = server.script
                if status == 200 and script.create_drop:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"id": "ftjob-')
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if status == 200 and script.create_hold_s:
                    time.sleep(script.create_hold_s)
                self._send(status, body, {})

        self._httpd.RequestHandlerClass = Handler

    # ---- the routes --------------------------------------------------------------------------

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    @staticmethod
    def _error(status: int, message: str, code: str | None = None) -> tuple[int, bytes]:
        return status, json.dumps({"error": {"message": message, "type": "invalid_request_error",
                                             "param": None, "code": code}}).encode()

    def _upload(self, path: str, raw: bytes, ctype: str | None) -> tuple[int, bytes]:
        if self.script.upload_status != 200:
            return self._error(self.script.upload_status,
                               "Invalid file format for Fine-Tuning API. Must be .jsonl",
                               "invalid_file_format")
        status, body = self._batch_post(path, raw, ctype)
        obj = json.loads(body)
        with self._lock:
            self.purposes[obj["id"]] = obj["purpose"]
        return status, body

    def _create(self, req: dict[str, Any]) -> tuple[int, bytes]:
        script = self.script
        with self._lock:
            self.job_creates.append(req)
            if script.create_status != 200:
                err = script.create_error
                return self._error(script.create_status, err.get("message", "refused"),
                                   err.get("code"))
            for key in ("training_file", "validation_file"):
                if req.get(key) and req[key] not in self.files:
                    return self._error(400, f"invalid {key}: no file {req[key]}", "invalid_file")
            method = req.get("method") or {"type": "supervised"}
            kind = method.get("type") if isinstance(method, dict) else None
            if kind not in ("supervised", "dpo"):
                return self._error(400, f"invalid method type: {kind!r}", "invalid_method")
            beta = ((method.get(kind) or {}).get("hyperparameters") or {}).get("beta", "auto")
            if kind == "dpo" and beta != "auto" and not (
                    isinstance(beta, int | float) and 0 < beta <= 2):
                return self._error(400, f"invalid beta: {beta!r}", "invalid_hyperparameters")
            job_id = f"ftjob-{len(self.jobs)}"
            hyper = {"n_epochs": (req.get("hyperparameters") or {}).get("n_epochs", "auto"),
                     "batch_size": "auto", "learning_rate_multiplier": "auto"}
            job = {"id": job_id, "object": "fine_tuning.job", "created_at": self._tick(),
                   "error": None, "fine_tuned_model": None, "finished_at": None,
                   "hyperparameters": hyper, "model": req["model"],
                   "organization_id": "org-test", "result_files": [], "seed": req.get("seed", 0),
                   "status": "validating_files", "trained_tokens": None,
                   "training_file": req["training_file"],
                   "validation_file": req.get("validation_file"), "estimated_finish": None,
                   "metadata": req.get("metadata"), "integrations": None,
                   "method": method}
            files = [self.files[req[k]] for k in ("training_file", "validation_file")
                     if req.get(k)]
            bad = next((e for e in map(file_error, files, [kind] * len(files)) if e), None)
            self.jobs[job_id] = {"job": job, "polls": 0, "events": [], "suffix": req.get("suffix"),
                                 "file_error": bad}
            self._event(job_id, f"Created fine-tuning job: {job_id}")
            self.created.set()
            return 200, json.dumps(job).encode()

    def _event(self, job_id: str, message: str, data: dict[str, Any] | None = None) -> None:
        events = self.jobs[job_id]["events"]
        events.append({"id": f"ftevent-{job_id}-{len(events)}", "object": "fine_tuning.job.event",
                       "created_at": self._tick(), "level": "info", "message": message,
                       "type": "metrics" if data else "message", "data": data or {}})

    def _advance(self, job_id: str) -> dict[str, Any]:
        entry = self.jobs[job_id]
        job = entry["job"]
        if job["status"] in ("succeeded", "failed", "cancelled", "expired"):
            return job
        statuses = self.script.statuses
        status = statuses[min(entry["polls"], len(statuses) - 1)]
        entry["polls"] += 1
        if entry.get("file_error") and status not in ("validating_files", "queued"):
            status = "failed"  # OpenAI validates the files after the create, then fails it
            job.update(error={"code": "invalid_training_file", "param": "training_file",
                              "message": entry["file_error"]})
        if status == "running":
            steps = [e for e in entry["events"] if e["type"] == "metrics"]
            step = min(len(steps) + 1, self.script.total_steps)
            self._event(job_id, f"Step {step}/{self.script.total_steps}: training loss=1.5",
                        {"step": step, "total_steps": self.script.total_steps,
                         "train_loss": 2.0 - step / 10})
        if status != job["status"]:
            self._event(job_id, f"Job is {status}")
        job["status"] = status
        if status == "succeeded":
            suffix = entry["suffix"] or "datagen"
            job.update(fine_tuned_model=f"ft:{job['model']}:org-test:{suffix}:{job_id[6:]}",
                       trained_tokens=self.script.trained_tokens, finished_at=self._tick(),
                       result_files=["file-result"])
        elif status == "failed" and not job.get("error"):
            job.update(error=self.script.error or {"code": "invalid_training_file",
                                                   "message": "training file has errors",
                                                   "param": "training_file"},
                       finished_at=self._tick())
        return job

    def _jobs_get(self, path: str) -> tuple[int, bytes]:
        with self._lock:
            parts = path.split("/")
            if path.endswith("/fine_tuning/jobs"):
                data = [e["job"] for e in reversed(self.jobs.values())]  # newest first
                return 200, json.dumps({"object": "list", "data": data,
                                        "has_more": False}).encode()
            if path.endswith("/events"):
                job_id = parts[-2]
                if job_id not in self.jobs:
                    return self._error(404, f"no job {job_id}")
                data = list(reversed(self.jobs[job_id]["events"]))
                return 200, json.dumps({"object": "list", "data": data,
                                        "has_more": False}).encode()
            job_id = parts[-1]
            if job_id not in self.jobs:
                return self._error(404, f"no job {job_id}")
            self.retrieves += 1
            return 200, json.dumps(self._advance(job_id)).encode()

    def _cancel(self, job_id: str) -> tuple[int, bytes]:
        with self._lock:
            if job_id not in self.jobs:
                return self._error(404, f"no job {job_id}")
            job = self.jobs[job_id]["job"]
            job.update(status="cancelled", finished_at=self._tick())
            self._event(job_id, "Job was cancelled")
            return 200, json.dumps(job).encode()
