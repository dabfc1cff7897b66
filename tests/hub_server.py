"""A Hugging Face Hub stand-in on loopback for tests: real HTTP, the Hub's own routes, so the
real `huggingface_hub` client (`HfApi.create_repo`, `upload_folder`) talks to it unchanged.

The routes are the ones the client calls on its way through a push (found by running it
against this server and logging every request):

    POST /api/repos/create                           {name, organization, type, visibility}
    GET  /api/{type}s/{repo}/revision/{rev}          repo info (when create answers 401-403)
    GET  /api/{type}s/{repo}/tree/{rev}[/{path}]     the file list (`delete_patterns`)
    POST /api/validate-yaml                          the dataset card's metadata
    POST /api/{type}s/{repo}/preupload/{rev}         "regular" (inline) for every file, so
                                                     no LFS or Xet storage is involved
    POST /api/{type}s/{repo}/commit/{rev}            ndjson: header, file (base64), deletedFile

The client also asks, once per process and without credentials, for `GET /api/agent-harnesses`
(`AGENTS`); it is answered 404, which the client takes as "none", because an answer would be
cached in the user's own Hugging Face folder.

Each repo's files live in memory (`server.repos[repo_id].files`: path -> bytes), so a test
asserts what the Hub holds after a push; `server.calls` logs (method, path) and
`server.authorizations` the Authorization headers (a test checks the token went there and
nowhere else). `fail` maps a route name ("create", "commit", ...) to (HTTP status, message),
answered once per entry; `{authorization}` in the message is replaced by the request's
Authorization header, as a careless proxy might echo it. Anything else answers 404.

`serving(monkeypatch)` starts one and points the real client at it for one test: the Hub
endpoint (`HF_ENDPOINT`, which huggingface_hub reads once, at import, into
`constants.ENDPOINT`) and offline mode off (`HF_HUB_OFFLINE`, read the same way); every
other test keeps the offline default.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from huggingface_hub import constants

AGENTS = "/api/agent-harnesses"
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"


@dataclass
class Repo:
    """One repo on the stand-in: its kind, visibility, files and commits."""

    repo_id: str
    repo_type: str
    visibility: str
    files: dict[str, bytes] = field(default_factory=lambda: {".gitattributes": GITATTRIBUTES})
    commits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return hashlib.sha1(repr(len(self.commits)).encode() + self.repo_id.encode()).hexdigest()


class HubServer:
    """`with HubServer() as hub: HfApi(endpoint=hub.endpoint, token=...)`."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.calls: list[tuple[str, str]] = []
        self.authorizations: list[str | None] = []
        self.creates: list[dict[str, Any]] = []
        self.cards: list[str] = []  # what /api/validate-yaml was given
        self.fail: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: Any, content_type: str = "application/json",
                       headers: dict[str, str] | None = None) -> None:
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _route(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urllib.parse.urlsplit(self.path)
                path = urllib.parse.unquote(url.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                with server._lock:
                    server.calls.append((method, path))
                    server.authorizations.append(self.headers.get("Authorization"))
                    auth = self.headers.get("Authorization") or ""
                    status, body, extra = server._answer(method, path, query, raw)
                    if isinstance(body, dict) and "error" in body:
                        body["error"] = body["error"].replace("{authorization}", auth)
                self._reply(status, body, headers=extra)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_HEAD(self) -> None:
                self._route("HEAD")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True)  # a short poll: a quick shutdown

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def repo(self, repo_id: str) -> Repo:
        return self.repos[repo_id]

    # ---- the routes ----------------------------------------------------------------------

    def _failing(self, name: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        if name not in self.fail:
            return None
        status, message = self.fail.pop(name)
        return status, {"error": message}, {}

    def _answer(self, method: str, path: str, query: dict[str, str],
                raw: bytes) -> tuple[int, Any, dict[str, str]]:
        if method == "POST" and path == "/api/repos/create":
            return self._create(json.loads(raw))
        if method == "POST" and path == "/api/validate-yaml":
            self.cards.append(json.loads(raw).get("content", ""))
            return 200, {"errors": [], "warnings": []}, {}
        parts = path.strip("/").split("/")
        # /api/{type}s/{org}/{name}/{action}/{revision}[/{path...}]
        if len(parts) >= 6 and parts[0] == "api" and parts[1] in ("datasets", "models",
                                                                   "spaces"):
            repo_id, action, rest = f"{parts[2]}/{parts[3]}", parts[4], parts[6:]
            repo = self.repos.get(repo_id)
            if repo is None:
                return 404, {"error": f"Repository Not Found for url: {path}"}, {
                    "X-Error-Code": "RepoNotFound"}
            failure = self._failing(action)
            if failure:
                return failure
            if method == "GET" and action == "revision":
                return 200, self._info(repo), {}
            if method == "GET" and action == "tree":
                recursive = query.get("recursive", "").lower() in ("1", "true")
                return 200, self._tree(repo, "/".join(rest), recursive), {}
            if method == "POST" and action == "preupload":
                files = json.loads(raw)["files"]
                return 200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                        "shouldIgnore": False} for f in files]}, {}
            if method == "POST" and action == "commit":
                return self._commit(repo, raw)
        return 404, {"error": f"the Hub stand-in has no route {method} {path}"}, {}

    def _create(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        self.creates.append(body)
        failure = self._failing("create")
        if failure:
            return failure
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") \
            else body["name"]
        kind = body.get("type") or "model"
        url = f"{self.endpoint}/{'' if kind == 'model' else kind + 's/'}{repo_id}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this repo", "url": url}, {}
        self.repos[repo_id] = Repo(repo_id, kind, body.get("visibility") or "public")
        return 200, {"url": url, "name": repo_id}, {}

    def _info(self, repo: Repo) -> dict[str, Any]:
        return {"id": repo.repo_id, "sha": repo.sha, "private": repo.visibility == "private",
                "siblings": [{"rfilename": p} for p in sorted(repo.files)]}

    def _tree(self, repo: Repo, under: str, recursive: bool) -> list[dict[str, Any]]:
        """Files (and folders) under `under`, as the Hub lists them: one level unless
        `recursive`."""
        prefix = f"{under.strip('/')}/" if under.strip("/") else ""
        entries: dict[str, dict[str, Any]] = {}
        for path, data in sorted(repo.files.items()):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix):].split("/")
            for depth in range(1, len(parts)):
                folder = prefix + "/".join(parts[:depth])
                if recursive or depth == 1:
                    entries.setdefault(folder, {"type": "directory", "path": folder,
                                                "oid": hashlib.sha1(folder.encode()).hexdigest()})
            if recursive or len(parts) == 1:
                entries[path] = {"type": "file", "path": path, "size": len(data),
                                 "oid": hashlib.sha1(data).hexdigest()}
        return list(entries.values())

    def _commit(self, repo: Repo, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
        header = next(x["value"] for x in lines if x["key"] == "header")
        added, deleted = [], []
        for line in lines:
            value = line["value"]
            if line["key"] == "file":
                if value.get("encoding") != "base64":
                    return 400, {"error": f"unexpected encoding {value.get('encoding')}"}, {}
                repo.files[value["path"]] = base64.b64decode(value["content"])
                added.append(value["path"])
            elif line["key"] == "deletedFile":
                if value["path"] not in repo.files:
                    return 404, {"error": f"{value['path']} does not exist"}, {}
                del repo.files[value["path"]]
                deleted.append(value["path"])
            elif line["key"] == "deletedFolder":
                gone = [p for p in repo.files if p.startswith(value["path"].rstrip("/") + "/")]
                for p in gone:
                    del repo.files[p]
                deleted.extend(gone)
            elif line["key"] != "header":
                return 400, {"error": f"the stand-in takes no {line['key']} lines"}, {}
        repo.commits.append({"summary": header.get("summary"), "added": added,
                             "deleted": deleted})
        kind = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        return 200, {"success": True, "commitOid": repo.sha,
                     "commitUrl": f"{self.endpoint}/{kind}{repo.repo_id}/commit/{repo.sha}"}, {}


@contextlib.contextmanager
def serving(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """A stand-in Hub that huggingface_hub's client talks to until the test ends."""
    with HubServer() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        yield hub
