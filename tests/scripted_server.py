"""A scripted OpenAI-compatible server on loopback for tests: real HTTP, real wire format.

Each request to /v1/chat/completions is answered by `handler(request_json, n)` where `n` counts
requests so far; it returns a `Reply`. A reply with `tool_calls` is sent as OpenAI sends a
call: `content` null, `tool_calls` with JSON-string arguments, `finish_reason` as given
(`"tool_calls"` for a real call). Every request is recorded (`server.requests`, and when
it arrived in `server.times`), so tests assert what the model was asked, how many calls were
made and how fast. `server.completed` holds the
requests whose full answer was sent, and `server.connections` counts the TCP connections.
`server.paths` holds the path and query string of every request, in order; for a
`Reply(body_bytes=N)` (a large answer streamed in chunks), `server.sent_bytes` holds how much
of it went out before the client hung up.

The Batch API routes (/v1/files, /v1/batches) follow a `BatchScript`: the statuses a batch
shows on successive retrieves, and the answer to each of its lines (a `Reply`, or None for a
line left unfinished when the batch expires). Every submitted line is recorded in
`server.batch_lines`.
"""

from __future__ import annotations

import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = "ok"
    finish_reason: str = "stop"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw_body: bytes | None = None  # sent as is (malformed JSON, ...)
    reset: bool = False  # close the connection mid-response
    prompt_tokens: int = 10
    completion_tokens: int | None = None
    body_bytes: int = 0  # > 0: a completion body of this size, streamed in 64 KB chunks
    announce_length: bool = True  # with body_bytes: send Content-Length, else close-delimited
    tool_calls: list[dict[str, Any]] | None = None  # wire form (`tool_call`); content is None


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str) -> dict[str, Any]:
    """One entry of an assistant message's `tool_calls`, as OpenAI sends it: the arguments
    are a JSON string (a str is sent as is, so a test can send broken JSON)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


class _Listener(ThreadingHTTPServer):
    # The default listen backlog (5) refuses connections when a client opens dozens at once,
    # which would turn into failed calls that no real server would cause.
    request_queue_size = 1024


def completion_body(reply: Reply, model: str) -> dict[str, Any]:
    tokens = reply.completion_tokens
    if tokens is None:
        tokens = len((reply.content or "").split())
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message = {"role": "assistant", "content": None, "tool_calls": reply.tool_calls}
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                     "message": message}],
        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": tokens,
                  "total_tokens": reply.prompt_tokens + tokens},
    }


@dataclass
class BatchScript:
    """How batch number `b` (0, 1, ... in creation order) behaves."""

    statuses: Callable[[int], list[str]] = lambda b: ["validating", "in_progress", "completed"]
    line: Callable[[int, int, dict[str, Any]], Reply | None] = lambda b, i, body: Reply()


class ScriptedServer:
    def __init__(self, handler: Callable[[dict[str, Any], int], Reply] = lambda b, n: Reply(),
                 models: tuple[str, ...] = ("test-model",),
                 batch_script: BatchScript | None = None, batch_api: bool = True) -> None:
        self.handler = handler
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.completed: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.batch_script = batch_script or BatchScript()
        self.batch_api = batch_api  # False: /files and /batches answer 404, as most servers do
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_lines: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.connections = 0  # TCP connections accepted
        self.paths: list[str] = []  # path and query of every request
        self.sent_bytes: list[int] = []  # of each `body_bytes` answer, what was written
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:  # one handler per connection (kept alive across requests)
                super().setup()
                with server._lock:
                    server.connections += 1

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

            def _send_large(self, reply: Reply, model: str) -> None:
                """A completion whose content pads the body to `reply.body_bytes`."""
                head = json.dumps(completion_body(Reply("<>"), model)).encode()
                before, after = head.split(b"<>")
                pad = max(0, reply.body_bytes - len(before) - len(after))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if reply.announce_length:
                    self.send_header("Content-Length", str(len(before) + pad + len(after)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                sent = 0
                chunk = b"x" * 65536
                try:
                    self.wfile.write(before)
                    while sent < pad:
                        piece = chunk[:pad - sent]
                        self.wfile.write(piece)
                        sent += len(piece)
                    self.wfile.write(after)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                with server._lock:
                    server.sent_bytes.append(sent)

            def do_GET(self) -> None:
                with server._lock:
                    server.paths.append(self.path)
                path = self.path.split("?")[0].rstrip("/")
                if "/files/" in path or "/batches" in path:
                    status, body = server._batch_get(path)
                    self._send(status, body, {})
                elif path.endswith("/models"):
                    data = {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "test"}
                        for m in server.models]}
                    self._send(200, json.dumps(data).encode(), {})
                else:
                    self._send(404, b'{"error": {"message": "not found"}}', {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                with server._lock:
                    server.paths.append(self.path)
                path = self.path.split("?")[0].rstrip("/")
                if path.endswith("/files") or "/batches" in path:
                    status, out = server._batch_post(path, raw, self.headers.get("Content-Type"))
                    self._send(status, out, {})
                    return
                body = json.loads(raw or b"{}")
                with server._lock:
                    n = len(server.requests)
                    server.requests.append(body)
                    server.times.append(time.monotonic())
                    server.headers.append(dict(self.headers))
                reply = server.handler(body, n)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.body_bytes:
                    self._send_large(reply, body.get("model", ""))
                    return
                if reply.reset:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"id": "chatcmpl-')
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if reply.raw_body is not None:
                    payload = reply.raw_body
                elif reply.status >= 400:
                    payload = json.dumps({"error": {"message": reply.content or "error",
                                                    "type": "test", "code": None}}).encode()
                else:
                    payload = json.dumps(completion_body(reply, body.get("model", ""))).encode()
                self._send(reply.status, payload, reply.headers)
                if reply.status == 200 and reply.raw_body is None:
                    with server._lock:
                        server.completed.append(body)

        self._httpd = _Listener(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ---- Batch API -------------------------------------------------------------------------

    def _batch_post(self, path: str, raw: bytes, ctype: str | None) -> tuple[int, bytes]:
        if not self.batch_api:
            return 404, b'{"error": {"message": "Not Found"}}'
        with self._lock:
            if path.endswith("/files"):
                msg = BytesParser(policy=email.policy.default).parsebytes(
                    b"Content-Type: " + (ctype or "").encode() + b"\r\n\r\n" + raw)
                parts = {p.get_param("name", header="content-disposition"): p.get_payload(
                    decode=True) for p in msg.iter_parts()}
                file_id = f"file-{len(self.files)}"
                self.files[file_id] = parts["file"]
                return 200, json.dumps({
                    "id": file_id, "object": "file", "bytes": len(parts["file"]),
                    "created_at": 0, "filename": "requests.jsonl",
                    "purpose": parts["purpose"].decode(), "status": "processed"}).encode()
            if path.endswith("/batches"):
                req = json.loads(raw)
                lines = [json.loads(x) for x in self.files[req["input_file_id"]].splitlines()]
                self.batch_lines.extend(lines)
                batch_no = len(self.batches)
                batch_id = f"batch_{batch_no}"
                self.batches[batch_id] = {
                    "no": batch_no, "lines": lines, "polls": 0,
                    "statuses": self.batch_script.statuses(batch_no),
                    "object": self._batch_object(batch_id, req, "validating", len(lines))}
                return 200, json.dumps(self.batches[batch_id]["object"]).encode()
        return 404, b'{"error": {"message": "not found"}}'

    def _batch_object(self, batch_id: str, req: dict[str, Any], status: str,
                      total: int) -> dict[str, Any]:
        return {"id": batch_id, "object": "batch", "endpoint": req["endpoint"],
                "input_file_id": req["input_file_id"], "completion_window": "24h",
                "status": status, "created_at": 0, "output_file_id": None,
                "error_file_id": None, "metadata": req.get("metadata"), "errors": None,
                "request_counts": {"total": total, "completed": 0, "failed": 0}}

    def _batch_get(self, path: str) -> tuple[int, bytes]:
        if not self.batch_api:
            return 404, b'{"error": {"message": "Not Found"}}'
        with self._lock:
            if path.endswith("/content"):
                file_id = path.split("/")[-2]
                return (200, self.files[file_id]) if file_id in self.files else (404, b"{}")
            if path.endswith("/batches"):
                data = [b["object"] for b in self.batches.values()]
                return 200, json.dumps({"object": "list", "data": data,
                                        "has_more": False}).encode()
            batch = self.batches.get(path.split("/")[-1])
            if batch is None:
                return 404, b'{"error": {"message": "no such batch"}}'
            statuses = batch["statuses"]
            status = statuses[min(batch["polls"], len(statuses) - 1)]
            batch["polls"] += 1
            obj = batch["object"]
            if status != obj["status"] and status in ("completed", "expired", "cancelled",
                                                      "failed"):
                self._finish(batch, status)
            obj["status"] = status
            return 200, json.dumps(obj).encode()

    def _finish(self, batch: dict[str, Any], status: str) -> None:
        """Write the output and error files of a batch that just ended."""
        out, err = [], []
        done = failed = 0
        for i, line in enumerate(batch["lines"]):
            if status == "failed":
                break
            reply = self.batch_script.line(batch["no"], i, line["body"])
            cid = line["custom_id"]
            if reply is None:
                err.append({"id": f"req_{i}", "custom_id": cid, "response": None, "error": {
                    "code": f"batch_{status}", "message": "This request could not be executed "
                    "before the completion window expired."}})
                failed += 1
            elif reply.status >= 400:
                out.append({"id": f"req_{i}", "custom_id": cid, "error": None, "response": {
                    "status_code": reply.status, "request_id": f"r{i}", "body": {"error": {
                        "message": reply.content or "error", "type": "test", "code": None}}}})
                failed += 1
            else:
                body = completion_body(reply, line["body"].get("model", ""))
                out.append({"id": f"req_{i}", "custom_id": cid, "error": None, "response": {
                    "status_code": 200, "request_id": f"r{i}", "body": body}})
                done += 1
        obj = batch["object"]
        if status == "failed":
            obj["errors"] = {"object": "list", "data": [
                {"code": "invalid_request", "message": "scripted validation failure",
                 "line": 1, "param": None}]}
        for kind, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                file_id = f"file-{len(self.files)}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                obj[kind] = file_id
        obj["request_counts"] = {"total": len(batch["lines"]), "completed": done,
                                 "failed": failed}

    def user_prompts(self) -> list[str]:
        return [m["content"] for r in self.requests for m in r.get("messages", [])
                if m.get("role") == "user"]
