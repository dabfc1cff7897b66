"""A scripted OpenAI-compatible server on loopback for tests: real HTTP, real wire format.

Each request to /v1/chat/completions is answered by `handler(request_json, n)` where `n` counts
requests so far; it returns a `Reply`. Every request is recorded (`server.requests`), so tests
assert what the model was asked and how many calls were made.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


def completion_body(reply: Reply, model: str) -> dict[str, Any]:
    tokens = reply.completion_tokens
    if tokens is None:
        tokens = len((reply.content or "").split())
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                     "message": {"role": "assistant", "content": reply.content}}],
        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": tokens,
                  "total_tokens": reply.prompt_tokens + tokens},
    }


class ScriptedServer:
    def __init__(self, handler: Callable[[dict[str, Any], int], Reply],
                 models: tuple[str, ...] = ("test-model",)) -> None:
        self.handler = handler
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    data = {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "test"}
                        for m in server.models]}
                    self._send(200, json.dumps(data).encode(), {})
                else:
                    self._send(404, b'{"error": {"message": "not found"}}', {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    n = len(server.requests)
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                reply = server.handler(body, n)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
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

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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

    def user_prompts(self) -> list[str]:
        return [m["content"] for r in self.requests for m in r.get("messages", [])
                if m.get("role") == "user"]
