"""`datagen finetune --base-url` at a server that is not a fine-tuning API: a chat endpoint
answers the job's create with a chat completion, which the SDK parses without complaint.
That reply is refused with one message naming the URL (exit 3), and no job is recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from datagen.errors import EndpointError
from datagen.finetune.jobs import checked
from datagen.llm.endpoint import Endpoint
from tests.cli import cli
from tests.finetune.jobs_server import JobsServer
from tests.scripted_server import Reply, ScriptedServer, completion_body


def record(run_dir: Path) -> dict:
    path = run_dir / "finetune" / "openai.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def finetuned(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text()).get("finetune", {})


@pytest.fixture
def chat_everywhere() -> Iterator[str]:
    """A server that answers every path and method as a chat endpoint does."""
    body = json.dumps(completion_body(Reply("Sure! Here is a fine-tuning job."), "m")).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("wait", ["--no-wait", "--wait"])
def test_a_chat_completion_is_not_recorded_as_a_job(run_dir: Path, wait: str) -> None:
    # the scripted server stores files as the API does, and answers the create as a chat
    with ScriptedServer() as server:
        code, out = cli("finetune", run_dir, "--base-url", server.base_url, "--poll-s", "0",
                        wait)
    assert code == 3, out
    assert f"{server.base_url} is not a fine-tuning API" in out
    assert "'chat.completion' object (id 'chatcmpl-test')" in out
    assert "fix:" in out and "Traceback" not in out and "fine-tuning job chatcmpl" not in out
    state = record(run_dir)
    assert "job_id" not in state and state["status"] == "refused"
    assert "training_file" not in state  # the uploads went to a server that trains nothing
    assert finetuned(run_dir) == {}


def test_a_server_answering_every_path_as_chat(run_dir: Path, chat_everywhere: str) -> None:
    code, out = cli("finetune", run_dir, "--base-url", chat_everywhere, "--poll-s", "0",
                    "--no-wait")
    assert code == 3, out
    assert f"{chat_everywhere} is not a fine-tuning API: asked to upload train.jsonl" in out
    assert "Traceback" not in out
    assert "training_file" not in record(run_dir) and "job_id" not in record(run_dir)
    assert finetuned(run_dir) == {}


def test_a_real_jobs_api_still_passes(run_dir: Path) -> None:
    with JobsServer() as server:
        code, out = cli("finetune", run_dir, "--base-url", server.base_url, "--poll-s", "0")
    assert code == 0, out
    assert record(run_dir)["job_id"] == "ftjob-0"


def test_what_a_job_is() -> None:
    from openai.types.fine_tuning import FineTuningJob

    at = Endpoint(base_url="http://127.0.0.1:9/v1", model="m", kind="openai", identity="x")
    job = {"id": "ftjob-1", "object": "fine_tuning.job", "created_at": 0, "model": "m",
           "status": "queued", "training_file": "file-1", "hyperparameters": {},
           "organization_id": "o", "result_files": [], "seed": 0}
    assert checked(FineTuningJob.construct(**job), "fine_tuning.job", "x", at).id == "ftjob-1"
    for bad in ({**job, "status": "thinking"}, {**job, "object": "chat.completion"},
                {**job, "id": None}):
        with pytest.raises(EndpointError, match="is not a fine-tuning API"):
            checked(FineTuningJob.construct(**bad), "fine_tuning.job", "x", at)
    with pytest.raises(EndpointError, match="a str, not an object"):
        checked("<html>hello</html>", "fine_tuning.job", "x", at)
