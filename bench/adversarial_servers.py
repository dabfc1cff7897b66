"""Loopback endpoints for `bench/adversarial.py`: the scripted OpenAI-compatible server of the
tests (`tests/scripted_server.py`) with the flow tests' deterministic world
(`tests/flows/world.py`), and hostile variants of it: one that never answers, one that sends
huge answers, malformed ones (bad JSON, empty choices, an HTML page), errors (500, 429, a 401
that echoes the key back), one that lists another model, and a strict one that refuses any
path but the OpenAI routes (a broken URL shows up as a 404, not as a lucky answer).

Every server binds 127.0.0.1 on a free port; nothing here talks to any other address.
`SERVERS` maps the names the cases use to factories; each case gets its own instance, so the
requests a server records belong to one case.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.flows.world import handler as world
from tests.flows.world import instruction
from tests.scripted_server import Reply, ScriptedServer, completion_body

# Text a hostile model puts in its answers: an HTML comment opener (breaks JSON inside a
# page when escaped as `<\!--`), a script tag (runs where Markdown passes raw HTML through).
HOSTILE_TEXT = ' <!-- adv --> <script>alert("adversarial")</script> <img src=x onerror=alert(1)>'


def _is_expansion(body: dict[str, Any]) -> bool:
    user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    return "new requests" in user


def hostile_answers(body: dict[str, Any], n: int) -> Reply:
    """The world's instructions, with hostile text appended to every answer (not to the
    judge's verdicts: a judge that answers no verdict is its own outcome, exit 11)."""
    reply = world(body, n)
    judged = "strict reviewer of training data" in body["messages"][0]["content"]
    if not _is_expansion(body) and not judged:  # the judge's verdict stays JSON
        reply.content = (reply.content or "") + HOSTILE_TEXT
    return reply


def slow(delay_s: float) -> Callable[[dict[str, Any], int], Reply]:
    """The world, each answer after `delay_s` (expansion calls stay fast)."""
    def answer(body: dict[str, Any], n: int) -> Reply:
        return world(body, n, delay_s=0.0 if _is_expansion(body) else delay_s)
    return answer


def broken(reply: Reply) -> Callable[[dict[str, Any], int], Reply]:
    """The world's expansion calls, then `reply` to every answer call."""
    def answer(body: dict[str, Any], n: int) -> Reply:
        return world(body, n) if _is_expansion(body) else reply
    return answer


def always(reply: Reply) -> Callable[[dict[str, Any], int], Reply]:
    return lambda body, n: reply


def huge(mb: int) -> Callable[[dict[str, Any], int], Reply]:
    """Every call answered with about `mb` MB of text (an endpoint gone wrong)."""
    text = ("word " * (mb * 1024 * 1024 // 5))
    return always(Reply(text, completion_tokens=10))


def stalls_once(examples: list[str], first: int = 9) -> Callable[[dict[str, Any], int], Reply]:
    """Round 0 yields `first` new instructions (one short of a target of 10; the rest of its
    lists are copies of the seed's examples); the next call (a small top-up round) returns
    only copies of the examples; every later call only new ones. One unlucky small round is
    not saturation: the seed should go on and meet its target."""
    state: dict[str, Any] = {"issued": 0, "stalled": False, "last": 0.0}
    lock = threading.Lock()

    def answer(body: dict[str, Any], n: int) -> Reply:
        user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        m = re.search(r"Write (\d+) new requests", user)
        if not m:
            return world(body, n)
        want = int(m.group(1))
        with lock:  # round 0's calls come together; a later round comes after a pause
            later, state["last"] = time.monotonic() - state["last"] > 1.0, time.monotonic()
            if not state["stalled"] and state["issued"] >= first and later:
                state["stalled"] = True
                items = [examples[i % len(examples)] for i in range(want)]
            else:
                fresh = want if state["stalled"] else max(0, min(want, first - state["issued"]))
                items = [instruction(1000 + state["issued"] + i) for i in range(fresh)]
                items += [examples[i % len(examples)] for i in range(want - fresh)]
                state["issued"] += fresh
        return Reply("\n".join(f"{i}. {t}" for i, t in enumerate(items, 1)))
    return answer


class KeyEcho(ScriptedServer):
    """Answers 401 with the Authorization header it got inside the error message, as some
    gateways do: whatever prints the server's message prints the key."""

    def __init__(self) -> None:
        def answer(body: dict[str, Any], n: int) -> Reply:
            auth = self.headers[n].get("Authorization", "") if n < len(self.headers) else ""
            return Reply(f"Incorrect API key provided: {auth}", status=401)
        super().__init__(answer)


class Hang:
    """Accepts TCP connections and never answers (a stuck proxy): every read waits."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.requests: list[Any] = []
        self.completed: list[Any] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self._held.append(conn)
            self.requests.append(None)

    def __enter__(self) -> Hang:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for conn in self._held:
            conn.close()
        self._sock.close()


class Strict:
    """The world behind exact OpenAI routes: POST /v1/chat/completions and GET /v1/models
    only, anything else 404. Records each request's path and query string, so a case sees
    where a client really sent its calls and whether a key in the URL arrived intact."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.completed: list[dict[str, Any]] = []
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                server.paths.append(self.path)
                if self.path.split("?")[0] == "/v1/models":
                    self._send(200, {"object": "list", "data": [
                        {"id": "test-model", "object": "model", "created": 0, "owned_by": "t"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.paths.append(self.path)
                if self.path.split("?")[0] != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw or b"{}")
                server.requests.append(body)
                reply = world(body, len(server.requests) - 1)
                self._send(200, completion_body(reply, body.get("model", "")))
                server.completed.append(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> Strict:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


SERVERS: dict[str, Callable[[], Any]] = {
    "world": lambda: ScriptedServer(world),
    # any POST gets a chat completion: an OpenAI-compatible chat server, no fine-tuning API
    "chat-anywhere": lambda: ScriptedServer(always(Reply("ok"))),
    "slow": lambda: ScriptedServer(slow(0.25)),
    "slower": lambda: ScriptedServer(slow(1.0)),
    "hostile": lambda: ScriptedServer(hostile_answers),
    "bad-json": lambda: ScriptedServer(broken(Reply(raw_body=b'{"id": "chatcmpl-x", "choi'))),
    "empty-choices": lambda: ScriptedServer(broken(Reply(raw_body=json.dumps({
        "id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": "test-model",
        "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 0,
                                 "total_tokens": 1}}).encode()))),
    "html": lambda: ScriptedServer(broken(Reply(
        raw_body=b"<html><body><h1>502 Bad Gateway</h1><!-- x --></body></html>"))),
    "null-content": lambda: ScriptedServer(broken(Reply(content=None))),
    "e500": lambda: ScriptedServer(always(Reply("internal error", status=500))),
    "e429": lambda: ScriptedServer(always(Reply("slow down", status=429,
                                                headers={"Retry-After": "1"}))),
    "e429-forever": lambda: ScriptedServer(always(Reply("slow down", status=429,
                                                        headers={"Retry-After": "100000"}))),
    "answers-500": lambda: ScriptedServer(broken(Reply("internal error", status=500))),
    "reset": lambda: ScriptedServer(broken(Reply(reset=True))),
    "key-echo": KeyEcho,
    "other-model": lambda: ScriptedServer(world, models=("another-model",)),
    "no-models": lambda: ScriptedServer(world, models=()),
    "hang": Hang,
    "answers-hang": lambda: ScriptedServer(broken(Reply(delay_s=3600))),
    "huge": lambda: ScriptedServer(huge(24)),
    "strict": Strict,
}
