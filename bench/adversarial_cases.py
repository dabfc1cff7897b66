"""The cases of `bench/adversarial.py`, as data: what a hostile or careless user types, what
it should end in (`ok`, or a clean `error`), and the setup, check or driving script a case
needs. `issue=True` marks the findings that issue 32 lists; the rest probe the same edges
(inputs, endpoints, folders, signals, secrets) further.

Placeholders in a command: `{seed}` (a valid seed in the case folder), `{out}` (a new run
folder there), `{run}` (a finished run copied there by `with_run`), `{url}` (the case's
server), `{world}` (the long-lived endpoint the finished run was made with), `{dir}`,
`{outside}` (the decoy folder), `{home}` (the command's `$HOME`, a decoy), `{elsewhere}`
(seeds and documents outside the case folder).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.adversarial import (
    DECOY,
    KEY,
    NDA_SEED,
    URL_KEY,
    Case,
    Context,
    Outcome,
    regular,
)
from bench.adversarial_servers import HOSTILE_TEXT, stalls_once
from tests.scripted_server import ScriptedServer

Setup = Callable[[Context], None]
Check = Callable[[Context, Outcome], list[str]]
NO_READ = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
           "--inh-caps", "-dac_override,-dac_read_search"]  # root without its read-anything


# ---- building blocks -------------------------------------------------------------------------

def seed_data(**over: Any) -> dict[str, Any]:
    data = yaml.safe_load(NDA_SEED.read_text())
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def seed(name: str = "s/seed.yaml", **over: Any) -> Setup:
    """A seed file: the shipped NDA seed with fields replaced (None removes one)."""
    return lambda ctx: ctx.write(name, yaml.safe_dump(seed_data(**over), allow_unicode=True))


def text(name: str, content: str | bytes, fmt: bool = False) -> Setup:
    """A file as given (`fmt`: with the case's placeholders filled in)."""
    return lambda ctx: ctx.write(name, content.format(**ctx.vars) if fmt else content)


def config(name: str = "cfg.yaml", raw: str = "", **over: Any) -> Setup:
    """A run config for the case's server: its seed, its run folder, no retries."""
    def make(ctx: Context) -> None:
        data: dict[str, Any] = {"seeds": [ctx.vars["seed"]], "out": ctx.vars["out"],
                                "pairs": 4, "allow_short": True,
                                "llm": {"base_url": ctx.vars.get("url"),
                                                    "model": "test-model", "max_retries": 0}}
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        ctx.write(name, yaml.safe_dump(data, allow_unicode=True) + raw.format(**ctx.vars))
    return make


def with_run(name: str = "done") -> Setup:
    return lambda ctx: ctx.copy_run(name)


def both(*steps: Setup | None) -> Setup:
    def run(ctx: Context) -> None:
        for step in steps:
            if step:
                step(ctx)
    return run


def edit_json(path: str, change: Callable[[Any], Any]) -> Setup:
    """Replace a file of the copied run by `change(its JSON)` (a real file, not the link)."""
    def run(ctx: Context) -> None:
        p = (ctx.dir / "done" / path).resolve()
        data = change(json.loads(p.read_text()))
        p.unlink()
        p.write_text(data if isinstance(data, str) else json.dumps(data))
    return run


def replace_file(path: str, content: bytes | None) -> Setup:
    def run(ctx: Context) -> None:
        p = (ctx.dir / "done" / path).resolve()
        p.unlink()
        if content is not None:
            p.write_bytes(content)
    return run


def symlink(name: str, target: str) -> Setup:
    def run(ctx: Context) -> None:
        link = ctx.dir / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target.format(**ctx.vars))
    return run


# Runs of a few pairs hold fewer training examples than OpenAI's 10 (exit 5): the cases accept
# that (--allow-short, allow_short), except the one that checks it.
RUN = ["run", "{seed}", "--out", "{out}", "--base-url", "{url}", "--model", "test-model",
       "--allow-short", "--pairs", "4", "--quiet"]
RUN_CFG = ["run", "--config", "cfg.yaml", "--quiet"]
ONE_AT_A_TIME = config(pairs=8, llm={"max_concurrency": 1})  # at most one call in flight


def pairs(n: int | str, *more: str) -> list[str]:
    """`RUN` with another --pairs (and more flags)."""
    return [*RUN[:-2], str(n), *more]


def run_seed(path: str) -> list[str]:
    return ["run", path, "--out", "{out}", "--base-url", "{url}", "--model", "test-model",
            "--allow-short", "--pairs", "3", "--quiet"]


# ---- checks ----------------------------------------------------------------------------------

def no_decoy(ctx: Context, out: Outcome) -> list[str]:
    """The decoy secret reached no request, no output and no file of the case."""
    found = []
    if DECOY in out.output:
        found.append("the decoy secret is in the output")
    requests = getattr(ctx.server, "requests", None) or []
    if any(DECOY in json.dumps(r) for r in requests if r):
        found.append("the decoy secret was sent to the endpoint")
    for dirpath, _, files in os.walk(ctx.dir):
        for f in files:
            p = Path(dirpath) / f
            if p not in ctx.inputs and regular(p) and p.stat().st_size < 2**28 \
                    and DECOY.encode() in p.read_bytes():
                found.append(f"the decoy secret is in {p.relative_to(ctx.dir)}")
    return found


def no_key_sent_as_text(ctx: Context, out: Outcome) -> list[str]:
    requests = getattr(ctx.server, "requests", None) or []
    return ["the API key was sent inside a prompt"] if any(
        KEY in json.dumps(r) for r in requests if r) else []


def pages_safe(folder: str = "out") -> Check:
    """report.html's JSON blocks parse; no Markdown file carries raw HTML from the data."""
    def check(ctx: Context, out: Outcome) -> list[str]:
        import re
        root = Path(ctx.vars[folder])
        found = []
        page = root / "report.html"
        if page.exists():
            html = page.read_text(encoding="utf-8")
            for m in re.finditer(r'<script type="application/json"[^>]*id="([^"]+)"[^>]*>'
                                 r"(.*?)</script>", html, re.S):
                try:
                    json.loads(m.group(2))
                except ValueError:
                    found.append(f"report.html: JSON block {m.group(1)!r} is not valid JSON")
        elif out.code == 0:
            found.append("no report.html")
        for md in ("report.md", "hf/README.md"):
            p = root / md
            if p.exists() and re.search(r"<script|onerror=|<img ", p.read_text(), re.I):
                found.append(f"{md}: raw HTML from the data (<script>/onerror)")
        return found
    return check


def requests_made(most: int) -> Check:
    def check(ctx: Context, out: Outcome) -> list[str]:
        n = len(ctx.server.requests)
        return [f"{n} LLM calls were made (at most {most} expected)"] if n > most else []
    return check


def folder_below(mb: int) -> Check:
    def check(ctx: Context, out: Outcome) -> list[str]:
        size = sum(p.stat().st_size for p in ctx.dir.rglob("*") if regular(p))
        return [f"the case folder grew to {size / 2**20:.0f} MB"] if size > mb * 2**20 else []
    return check


def json_object(ctx: Context, out: Outcome) -> list[str]:
    """`--json`: the output is one JSON object with an exit code (progress is not printed)."""
    lines = [x for x in out.output.splitlines() if x.strip().startswith("{")]
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "exit_code" in obj:
            return [] if obj["exit_code"] == out.code else [
                f"--json says exit_code {obj['exit_code']}, the process exited {out.code}"]
    return ["--json printed no JSON object with an exit_code"]


def failures_told(ctx: Context, out: Outcome) -> list[str]:
    """Every answer call failed at the server (the expansion calls all succeeded): the run
    must say "F of C LLM calls failed" with C - F = the expansion calls, i.e. a call retried
    and then given up counts once, as failed."""
    import re
    expansions = sum("new requests" in r["messages"][-1]["content"]
                     for r in ctx.server.requests)
    m = re.search(r"(\d+) of (\d+) LLM calls failed", out.output)
    if not m:
        return ["every answer call failed, and no 'N of M LLM calls failed' was told"]
    failed, calls = int(m.group(1)), int(m.group(2))
    return [] if calls - failed == expansions else [
        f"told {failed} of {calls} calls failed, but only {expansions} calls (the "
        f"expansions) succeeded: {calls - failed - expansions} failed attempts counted as "
        "successes"]


def strict_paths(ctx: Context, out: Outcome) -> list[str]:
    bad = [p for p in ctx.server.paths if p.split("?")[0] not in ("/v1/chat/completions",
                                                                  "/v1/models")]
    found = [f"requests sent to {sorted(set(bad))[:3]}"] if bad else []
    keys = {p.split("?", 1)[1] for p in ctx.server.paths if "?" in p}
    if keys and keys != {f"api-key={URL_KEY}"}:
        found.append(f"the URL key arrived as {sorted(keys)[:2]}")
    if not ctx.server.requests:
        found.append("no chat completion reached the endpoint")
    return found


def no_file(name: str) -> Check:
    return lambda ctx, out: ([f"{name} was created"] if (ctx.outside / name).exists()
                             or (ctx.dir / name).exists() else [])


def checks(*fs: Check) -> Check:
    return lambda ctx, out: [f for c in fs for f in c(ctx, out)]


# ---- driving scripts (signals, races, resumes) -----------------------------------------------

def _cached(out: Path) -> int:
    try:
        with sqlite3.connect(out / "cache.sqlite") as conn:
            return conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.Error:
        return 0


def _wait_requests(ctx: Context, n: int, proc: Any, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while len(ctx.server.requests) < n and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def interrupt_then_resume(sig: int, twice: bool = False) -> Callable[[Context], Outcome]:
    """Stop a run mid-way with `sig`, rerun it: the rerun repeats no call the first one
    saved (calls made again = calls it added to the cache) and keeps every pair."""
    def drive(ctx: Context) -> Outcome:
        argv = RUN_CFG
        started = time.monotonic()
        first = ctx.start(argv)
        _wait_requests(ctx, 8, first)
        first.send_signal(sig) if sig != signal.SIGKILL else os.killpg(first.pid, sig)
        if twice:
            time.sleep(0.3)
            if first.poll() is None:
                first.send_signal(sig)
        stopped = ctx.finish(first, started, 40)
        ctx.notes["outputs"] = [stopped.output]
        out = Path(ctx.vars["out"])
        cached, sent = _cached(out), len(ctx.server.requests)
        completed = len(ctx.server.completed)
        expected = {signal.SIGINT: 130, signal.SIGTERM: 130, signal.SIGKILL: -9}[sig]
        lost = []
        if stopped.code != expected:
            lost.append(f"check: the stopped run exited {stopped.code}, {expected} expected")
        if completed - cached > 1:  # one call may be in flight when the signal lands
            lost.append(f"lost: {completed - cached} answered calls were not saved")
        second = ctx.cli([*argv, "--json"])
        again = len(ctx.server.requests) - sent
        added = _cached(out) - cached
        if again != added:
            lost.append(f"lost: the resume made {again} calls for {added} new answers "
                        f"({again - added} repeated)")
        ctx.notes["findings"] = lost
        second.argv = ["(stopped with", signal.Signals(sig).name, "then)", *second.argv]
        second.seconds = time.monotonic() - started
        return second
    return drive


def resume_check(ctx: Context, out: Outcome) -> list[str]:
    return list(ctx.notes.get("findings", []))


def concurrent(prefect_ephemeral: bool) -> Callable[[Context], Outcome]:
    """Two runs on one folder: the second is refused with exit 9 (fast) and the first ends
    well, with nothing repeated."""
    def drive(ctx: Context) -> Outcome:
        argv = RUN_CFG
        t0 = time.monotonic()
        first = ctx.start(argv)
        _wait_requests(ctx, 4, first)
        env = {"PREFECT_API_URL": None} if prefect_ephemeral else None
        second = ctx.cli(argv, timeout=60, env=env)
        done = ctx.finish(first, t0, 90)
        ctx.notes["outputs"] = [done.output]
        notes = []
        if done.code != 0:
            notes.append(f"check: the first run exited {done.code}")
        if "Traceback" in done.output:
            notes.append("check: the first run printed a traceback")
        ctx.notes["findings"] = notes
        return second
    return drive


def twice_same(ctx: Context) -> Outcome:
    """A finished run rerun with the same command makes no call."""
    argv = RUN
    first = ctx.cli(argv)
    sent = len(ctx.server.requests)
    second = ctx.cli(argv)
    ctx.notes["outputs"] = [first.output]
    again = len(ctx.server.requests) - sent
    ctx.notes["findings"] = ([f"lost: the rerun repeated {again} calls"] if again else []) + (
        [f"check: the first run exited {first.code}"] if first.code else [])
    return second


def busy_port(ctx: Context) -> Outcome:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        return ctx.cli(["report", "{run}", "--serve", "--port", str(sock.getsockname()[1])],
                       timeout=20)
    finally:
        sock.close()


# ---- the cases -------------------------------------------------------------------------------

SRC = "s/seed.yaml"
GROUNDED = {"examples": [{"instruction": "What does the guide say?"}], "topics": None}


def src(documents: list[str] | None = None, table: str | None = None, **more: Any) -> Setup:
    sources: dict[str, Any] = {"documents": documents} if documents else {"table": table}
    return seed(SRC, sources={**sources, **more}, **GROUNDED)


LINK_TO_SECRET = symlink("s/docs/passwd.txt", "{outside}/secret.txt")


def huge_system(ctx: Context) -> None:
    """A seed whose system prompt is 51 MB (written directly: YAML's emitter is slow)."""
    small = yaml.safe_dump(seed_data(system="PLACEHOLDER"))
    ctx.write(SRC, small.replace("PLACEHOLDER", "You are a lawyer. " * (51 * 2**20 // 18)))

CASES: list[Case] = [
    # -- sources that read outside their seed's folder (issue) --
    Case("src-symlink-validate", "seed document is a symlink to a secret outside",
         ["seeds", "validate", SRC], setup=both(LINK_TO_SECRET, src(["docs/passwd.txt"])),
         check=no_decoy, codes=(2,), issue=True),
    Case("src-symlink-run", "run with a seed document symlinked to a secret outside",
         run_seed(SRC), server="world", setup=both(LINK_TO_SECRET, src(["docs/passwd.txt"])),
         check=no_decoy, codes=(2,), issue=True),
    Case("src-dotdot", "seed document ../../outside/secret.txt",
         ["seeds", "validate", SRC], setup=src(["../../outside/secret.txt"]), check=no_decoy,
         codes=(2,), issue=True),
    Case("src-dotdot-run", "run with a seed document ../../outside/secret.txt",
         run_seed(SRC), server="world", setup=src(["../../outside/secret.txt"]),
         check=no_decoy, codes=(2,), issue=True),
    Case("src-absolute", "seed document given as an absolute path outside",
         ["seeds", "validate", SRC], setup=lambda c: src([f"{c.outside}/secret.txt"])(c),
         check=no_decoy, codes=(2,), issue=True),
    Case("src-glob-dotdot", "seed documents glob ../../outside/*.txt",
         ["seeds", "validate", SRC], setup=src(["../../outside/*.txt"]), check=no_decoy,
         codes=(2,), issue=True),
    Case("src-proc-glob", "seed documents glob /proc/**/*.txt (hung validate on main)",
         ["seeds", "validate", SRC], setup=src(["/proc/**/*.txt"]), timeout=30, codes=(2,),
         issue=True),
    Case("src-proc-environ", "seed document env.txt -> /proc/self/environ (holds the key)",
         run_seed(SRC), server="world",
         setup=both(symlink("s/env.txt", "/proc/self/environ"), src(["env.txt"])),
         check=no_key_sent_as_text, codes=(2,)),
    Case("src-symlinked-dir", "seed's docs/ folder is a symlink to a folder elsewhere",
         ["seeds", "validate", SRC],
         setup=both(symlink("s/docs", "{elsewhere}/docs"), src(["docs/*.md"])), codes=(2,)),
    Case("src-table-symlink", "seed table is a symlink to a CSV outside",
         ["seeds", "validate", SRC],
         setup=both(symlink("s/t.csv", "{outside}/secret.txt"), src(table="t.csv")),
         check=no_decoy, codes=(2,)),
    Case("src-dev-glob", "seed documents /dev/* (devices)", ["seeds", "validate", SRC],
         setup=src(["/dev/*"]), timeout=30, codes=(2,)),
    Case("src-huge-doc", "a 3 MB document over sources.max_file_mb 1",
         ["seeds", "validate", SRC],
         setup=both(text("s/big.md", "# Big\n\n" + "word " * 600_000),
                    src(["big.md"], max_file_mb=1)), codes=(2,)),
    Case("src-fake-pdf", "a .pdf that is plain text", ["seeds", "validate", SRC],
         setup=both(text("s/a.pdf", "not a pdf at all"), src(["a.pdf"])), codes=(2,)),
    Case("src-fake-docx", "a .docx that is not a zip", ["seeds", "validate", SRC],
         setup=both(text("s/a.docx", b"PK\x03\x04garbage"), src(["a.docx"])), codes=(2,)),
    Case("src-empty-csv", "an empty table", ["seeds", "validate", SRC],
         setup=both(text("s/t.csv", ""), src(table="t.csv")), codes=(2,)),
    Case("src-nul-csv", "a table with NUL bytes", ["seeds", "validate", SRC],
         setup=both(text("s/t.csv", b"question,answer\nq\x00q,a\x00a\n"), src(table="t.csv")),
         expect="any"),
    Case("src-both", "a seed with both documents and a table", ["seeds", "validate", SRC],
         setup=src(["x.md"], table="t.csv"), codes=(2,)),
    Case("src-missing", "a seed document that does not exist", ["seeds", "validate", SRC],
         setup=src(["nope.md"]), codes=(2,)),

    # -- HTML and Markdown from untrusted text (issue) --
    Case("html-answers", "answers with <!--, <script> and onerror: report and card safe",
         RUN, server="hostile", expect="ok", check=pages_safe(), issue=True),
    Case("html-seed-fields", "seed description, system and task with <!-- and <script>",
         run_seed(SRC), server="world", expect="ok", issue=True, check=pages_safe(),
         setup=seed(SRC, description="NDA clauses" + HOSTILE_TEXT,
                    system="You are a lawyer." + HOSTILE_TEXT, domain="legal")),
    Case("html-reviewer-note", "a reviewer's note with <!-- and <script>, then curate",
         ["curate", "{run}", "--verdicts", "v.jsonl"], expect="ok", issue=True,
         check=pages_safe("run"), setup=both(with_run(), lambda ctx: ctx.write("v.jsonl", "".join(
             json.dumps({"id": i, "verdict": "keep", "note": "fine" + HOSTILE_TEXT}) + "\n"
             for i in __import__("pandas").read_parquet(
                 ctx.dir / "done" / "records.parquet").query("keep")["id"].head(2))))),
    Case("report-again", "report rewritten on a finished run", ["report", "{run}"],
         expect="ok", setup=with_run(), check=pages_safe("run")),

    # -- endpoints: URLs, keys, bodies (issue and more) --
    Case("url-api-key-query", "base URL with ?api-key= (README: accepted)",
         ["run", "{seed}", "--out", "{out}", "--base-url", "{url}?api-key=" + URL_KEY,
          "--model", "test-model", "--pairs", "3", "--allow-short", "--quiet"],
         server="strict", expect="ok", check=strict_paths, issue=True),
    Case("doctor-api-key-query", "doctor with ?api-key= in the base URL",
         ["doctor", "--base-url", "{url}?api-key=" + URL_KEY, "--model", "test-model"],
         server="strict", expect="ok", issue=True),
    Case("url-password", "base URL with user:key@ (the key must not show)",
         ["run", "{seed}", "--out", "{out}", "--model", "test-model", "--pairs", "3", "-q",
          "--allow-short", "--base-url", "{url}"], server="world", expect="ok",
         setup=lambda c: c.vars.update(url=c.vars["url"].replace(
             "http://", f"http://user:{URL_KEY}@"))),
    Case("url-secret-in-config", "a run config whose base_url carries a key",
         RUN_CFG, server="world", codes=(2,),
         setup=lambda c: config(llm={"base_url": f"{c.vars['url']}?api-key={URL_KEY}"})(c)),
    Case("huge-answers", "every answer is 24 MB (bounded? folder stays small)",
         RUN_CFG, server="huge", setup=config(llm={"max_concurrency": 2}), timeout=120,
         check=folder_below(100), issue=True),
    Case("malformed-json", "answers are truncated JSON: counted as failed calls",
         RUN_CFG, server="bad-json", setup=config(llm={"max_retries": 1}), codes=(6,),
         check=failures_told, issue=True),
    Case("malformed-empty-choices", "answers with empty choices", RUN_CFG,
         server="empty-choices", setup=config(llm={"max_retries": 1}), codes=(6,), issue=True,
         check=failures_told),
    Case("malformed-html", "answers are an HTML error page with status 200", RUN_CFG,
         server="html", setup=config(llm={"max_retries": 1}), codes=(6,), issue=True,
         check=failures_told),
    Case("malformed-null-content", "answers with content null", RUN_CFG,
         server="null-content", setup=config(), expect="error"),
    Case("e500-always", "every call answers 500", RUN_CFG, server="e500", setup=config()),
    Case("e500-answers", "expansion works, every answer call 500", RUN_CFG,
         server="answers-500", setup=config(), codes=(6,)),
    Case("e429-retry-after-1", "every call 429 with Retry-After: 1", RUN_CFG, server="e429",
         setup=config(llm={"max_retries": 2})),
    Case("e429-retry-after-huge", "every call 429 with Retry-After: 100000", RUN_CFG,
         server="e429-forever", setup=config(llm={"max_retries": 3}), timeout=60),
    Case("key-echo-run", "a 401 whose message echoes the key back", RUN, server="key-echo",
         codes=(3,)),
    Case("key-echo-doctor", "doctor against a 401 that echoes the key",
         ["doctor", "--base-url", "{url}", "--model", "test-model"], server="key-echo",
         codes=(3,)),
    Case("hang-doctor", "doctor against an endpoint that never answers (silent on main)",
         ["doctor", "--base-url", "{url}", "--model", "test-model"], server="hang",
         timeout=60, max_s=30, issue=True),
    Case("hang-run", "run against an endpoint that never answers, timeout_s 3", RUN_CFG,
         server="hang", setup=config(llm={"timeout_s": 3}), timeout=60),
    Case("hang-answers", "answer calls never come back, timeout_s 3", RUN_CFG,
         server="answers-hang", setup=config(llm={"timeout_s": 3}), timeout=60),
    Case("reset-answers", "the connection is cut mid-answer", RUN_CFG, server="reset",
         setup=config()),
    Case("model-missing", "the endpoint lists another model", RUN, server="other-model",
         codes=(3,)),
    Case("model-list-empty", "the endpoint lists no model at all", RUN, server="no-models",
         expect="any"),
    Case("url-ftp", "base URL ftp://", ["doctor", "--base-url", "ftp://127.0.0.1/v1"],
         codes=(2, 3)),
    Case("url-garbage", "base URL that is not a URL", RUN[:5] + ["not a url"] + RUN[6:],
         codes=(2, 3)),
    Case("url-refused", "base URL on a closed port", RUN[:5] + ["http://127.0.0.1:9/v1"]
         + RUN[6:], codes=(3,)),
    Case("url-bad-port", "base URL with port 99999",
         RUN[:5] + ["http://127.0.0.1:99999/v1"] + RUN[6:], codes=(2, 3)),
    Case("url-bad-ipv6", "base URL http://[::1/v1", RUN[:5] + ["http://[::1/v1"] + RUN[6:],
         codes=(2, 3)),
    Case("url-doubled-path", "base URL already ending in /chat/completions",
         RUN[:5] + ["{url}/chat/completions"] + RUN[6:], server="strict", expect="any"),
    Case("key-env-hf-token", "llm.api_key_env: HF_TOKEN (not a key variable)", RUN_CFG,
         server="world", setup=config(llm={"api_key_env": "HF_TOKEN"}), codes=(2,)),
    Case("key-env-unset", "llm.api_key_env names a variable that is not set", RUN_CFG,
         server="world", setup=config(llm={"api_key_env": "NOPE_API_KEY"}), expect="any"),

    # -- run folders, append targets, disks (issue and more) --
    Case("append-to-out", "--append-to the same folder as --out (every call paid on main)",
         RUN + ["--append-to", "{out}"], server="world", codes=(2,), check=requests_made(0),
         issue=True),
    Case("append-to-file", "--append-to a file", RUN + ["--append-to", "{seed}"],
         server="world", codes=(2,), check=requests_made(0)),
    Case("append-to-home", "--append-to a folder that is no dataset (decoy home)",
         RUN + ["--append-to", "{home}"], server="world", codes=(2,), check=requests_made(0)),
    Case("out-decoy-home", "--out a non-empty folder that is no run folder",
         RUN[:2] + ["--out", "{outside}/elsewhere"] + RUN[4:], server="world", codes=(2,)),
    Case("out-tilde", "--out ~ (the home folder)", RUN[:2] + ["--out", "~"] + RUN[4:],
         server="world", codes=(2,)),
    Case("out-is-file", "--out an existing file", RUN[:2] + ["--out", "{seed}"] + RUN[4:],
         server="world", codes=(2,)),
    Case("out-readonly", "--out on a read-only file system", RUN, server="world",
         setup=lambda c: c.mount_tmpfs(c.dir / "run", "1m", ro=True), codes=(2,)),
    Case("out-parent-readonly", "--out inside a read-only folder",
         RUN[:2] + ["--out", "{dir}/ro/sub/run"] + RUN[4:], server="world",
         setup=lambda c: c.mount_tmpfs(c.dir / "ro", "1m", ro=True), codes=(2,)),
    Case("disk-full-early", "--out on a 200 KB disk (full at once)", RUN, server="world",
         setup=lambda c: c.mount_tmpfs(c.dir / "run", "200k"), issue=True),
    Case("disk-full-late", "--out on a 1 MB disk (full during the run or export)", RUN,
         server="world", setup=lambda c: c.mount_tmpfs(c.dir / "run", "1m"), expect="any",
         issue=True),
    Case("out-unicode-rtl", "--out with RTL and Hebrew characters",
         RUN[:2] + ["--out", "{dir}/r\u202eun-\u05d0\u05d1"] + RUN[4:], server="world",
         expect="ok"),
    Case("out-newline", "--out with a newline in its name",
         RUN[:2] + ["--out", "{dir}/a\nb"] + RUN[4:], server="world", expect="any"),
    Case("out-non-utf8", "--out with a non-UTF-8 byte in the path (traceback on main)",
         RUN[:2] + ["--out", "{dir}/run-\udcff"] + RUN[4:], server="world", expect="any",
         issue=True),
    Case("seed-non-utf8-name", "a seed file whose name is not UTF-8",
         ["seeds", "validate", "{dir}/s-\udcfe.yaml"],
         setup=lambda c: os.link(os.fsencode(c.dir / "nda.yaml"),
                                 os.fsencode(c.dir) + b"/s-\xfe.yaml"),
         expect="any", issue=True),
    Case("out-long-name", "--out with a 300-character name",
         RUN[:2] + ["--out", "{dir}/" + "x" * 300] + RUN[4:], server="world", codes=(2,)),
    Case("out-nul-config", "run config with out: a\\0b", RUN_CFG, server="world",
         setup=config(out="run\0evil"), codes=(2,)),
    Case("concurrent-runs", "two runs on one folder: the second exits 9, the first ends well",
         server="slower", setup=ONE_AT_A_TIME, drive=concurrent(False), codes=(9,),
         check=resume_check, max_s=8),
    Case("concurrent-runs-ephemeral", "the refused run starts no Prefect server (fast 9)",
         server="slower", setup=ONE_AT_A_TIME, drive=concurrent(True), codes=(9,),
         check=resume_check, max_s=6,
         issue=True),
    Case("rerun-finished", "the same run twice: the second makes no call",
         server="world", drive=twice_same, expect="ok", check=resume_check),
    Case("sigint-resume", "Ctrl-C mid-run, then the same command: nothing repeated",
         server="slow", setup=ONE_AT_A_TIME,
         drive=interrupt_then_resume(signal.SIGINT), expect="ok",
         check=checks(resume_check, json_object), timeout=90),
    Case("sigterm-resume", "SIGTERM mid-run, then the same command", server="slow",
         setup=ONE_AT_A_TIME,
         drive=interrupt_then_resume(signal.SIGTERM), expect="ok",
         check=checks(resume_check, json_object), timeout=90),
    Case("sigint-twice-resume", "Ctrl-C twice (impatient), then the same command",
         server="slow", setup=ONE_AT_A_TIME,
         drive=interrupt_then_resume(signal.SIGINT, twice=True), expect="ok",
         check=checks(resume_check, json_object), timeout=90),
    Case("sigkill-resume", "SIGKILL mid-run (stale lock), then the same command",
         server="slow", setup=ONE_AT_A_TIME,
         drive=interrupt_then_resume(signal.SIGKILL), expect="ok",
         check=checks(resume_check, json_object), timeout=90),
    Case("seeds-from-elsewhere", "run on a seed in another folder: nothing written beside it",
         run_seed("{elsewhere}/nda.yaml"), server="world", expect="ok"),
    Case("seeds-folder-elsewhere", "run on a seed folder elsewhere",
         run_seed("{elsewhere}"), server="world", expect="ok"),

    # -- run configs --
    Case("cfg-missing", "--config that does not exist", ["run", "--config", "nope.yaml"],
         codes=(2,)),
    Case("cfg-directory", "--config a directory", ["run", "--config", "{dir}"], codes=(2,)),
    Case("cfg-empty", "an empty config file", ["run", "--config", "c.yaml"],
         setup=text("c.yaml", ""), codes=(2,)),
    Case("cfg-bad-yaml", "a config with a YAML syntax error", ["run", "--config", "c.yaml"],
         setup=text("c.yaml", "llm: {base_url: [\n  model: x\n"), codes=(2,)),
    Case("cfg-list", "a config that is a YAML list", ["run", "--config", "c.yaml"],
         setup=text("c.yaml", "- a\n- b\n"), codes=(2,)),
    Case("cfg-binary", "a config of random bytes", ["run", "--config", "c.yaml"],
         setup=text("c.yaml", bytes(range(256)) * 8), codes=(2,)),
    Case("cfg-latin1", "a config in Latin-1", ["estimate", "--config", "c.yaml"],
         setup=text("c.yaml", "seeds: [nda.yaml]\nout: r\u00e9sum\u00e9\n".encode("latin-1")),
         codes=(2,)),
    Case("cfg-bom", "a config with a UTF-8 BOM", ["estimate", "--config", "c.yaml"],
         setup=text("c.yaml", "\ufeffseeds: [nda.yaml]\npairs: 3\n"), expect="any"),
    Case("cfg-unknown-key", "a config with a typo at the top (pears)", RUN_CFG, server="world",
         setup=config(pears=3), codes=(2,)),
    Case("cfg-unknown-nested", "a config with a typo inside llm (modle)", RUN_CFG,
         server="world", setup=config(llm={"modle": "x"}), codes=(2,)),
    Case("cfg-wrong-type", "pairs: many", RUN_CFG, server="world", setup=config(pairs="many"),
         codes=(2,)),
    Case("cfg-nan-timeout", "llm.timeout_s: .nan", RUN_CFG, server="world",
         setup=config(llm={"timeout_s": float("nan")}), codes=(2,)),
    Case("cfg-zero-concurrency", "llm.max_concurrency: 0", RUN_CFG, server="world",
         setup=config(llm={"max_concurrency": 0}), codes=(2,)),
    Case("cfg-huge-concurrency", "llm.max_concurrency: 10**12", RUN_CFG, server="world",
         setup=config(llm={"max_concurrency": 10**12}), codes=(2,)),
    Case("cfg-negative-split", "split.validation: -0.5", RUN_CFG, server="world",
         setup=config(split={"validation": -0.5}), codes=(2,)),
    Case("cfg-split-text", "split.validation: lots", RUN_CFG, server="world",
         setup=config(split={"validation": "lots"}), codes=(2,)),
    Case("cfg-negative-rounds", "generation.max_rounds: -1", RUN_CFG, server="world",
         setup=config(generation={"max_rounds": -1}), codes=(2,)),
    Case("cfg-huge-pairs", "pairs: 10**30", RUN_CFG, server="world",
         setup=config(pairs=10**30), codes=(2,), timeout=30),
    Case("cfg-negative-cost", "llm.max_cost_usd: -1", RUN_CFG, server="world",
         setup=config(llm={"max_cost_usd": -1}), codes=(2,)),
    Case("cfg-failed-share", "llm.max_failed_share: 2", RUN_CFG, server="world",
         setup=config(llm={"max_failed_share": 2}), codes=(2,)),
    Case("cfg-python-tag", "a config with !!python/object/apply (must not run)",
         ["run", "--config", "c.yaml"], codes=(2,), check=no_file("pwned"),
         setup=text("c.yaml", "seeds: !!python/object/apply:os.system "
                    "['touch {outside}/pwned {dir}/pwned']\n", fmt=True)),
    Case("cfg-billion-laughs", "a config with nested YAML aliases (a billion laughs)",
         ["run", "--config", "c.yaml"], timeout=30, codes=(2,),
         setup=text("c.yaml", "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
             f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
             for i in range(8)) + "seeds: *i\n")),
    Case("cfg-deep-nesting", "a config nested 5000 levels deep", ["run", "--config", "c.yaml"],
         setup=text("c.yaml", "seeds: " + "[" * 5000 + "]" * 5000 + "\n"), codes=(2,),
         timeout=30),
    Case("cfg-seeds-etc", "seeds: [/etc/hostname] (not a seed)", RUN_CFG, server="world",
         setup=config(seeds=["/etc/hostname"]), codes=(2,)),
    Case("cfg-skip-typo", "curation.skip: [no-code] (a typo of a check name)", RUN_CFG,
         server="world", setup=config(curation={"skip": ["no-code"]}), codes=(2,),
         check=requests_made(0), issue=True),
    Case("curate-skip-typo", "curate --config with curation.skip: [langauge]",
         ["curate", "{run}", "--config", "c.yaml"], codes=(2,), issue=True,
         setup=both(with_run(), text("c.yaml", "curation:\n  skip: [langauge]\n"))),
    Case("cfg-push-bad-repo", "export.push_to: ORG/ñame (before any paid call)", RUN_CFG,
         server="world", setup=config(export={"push_to": "ORG/\u00f1ame"}), codes=(2,),
         check=requests_made(0)),

    # -- flags --
    Case("flag-pairs-negative", "--pairs -1", pairs("-1"), server="world", codes=(2,)),
    Case("flag-pairs-zero", "--pairs 0", pairs("0"), server="world", codes=(2,)),
    Case("flag-pairs-text", "--pairs abc", pairs("abc"), server="world", codes=(2,)),
    Case("flag-pairs-huge-run", "run --pairs 999999999999 (hung silently on main)",
         pairs("999999999999"), server="world", timeout=40, issue=True,
         check=requests_made(0)),
    Case("flag-pairs-huge-estimate", "estimate --pairs 999999999999 (hung on main)",
         ["estimate", "{seed}", "--pairs", "999999999999"], timeout=40, issue=True),
    Case("flag-cost-nan", "--max-cost-usd nan", RUN + ["--max-cost-usd", "nan"],
         server="world", codes=(2,)),
    Case("flag-cost-negative", "--max-cost-usd -5", RUN + ["--max-cost-usd", "-5"],
         server="world", codes=(2,)),
    Case("flag-seed-huge", "--seed 10**25", RUN + ["--seed", "1" + "0" * 25],
         server="world", expect="any"),
    Case("flag-unknown", "an unknown flag", ["run", "--pears", "3"], codes=(2,)),
    Case("cmd-unknown", "an unknown command", ["runn"], codes=(2,)),
    Case("run-no-seeds", "run with no seeds", ["run", "--out", "{out}"], codes=(2,)),
    Case("json-bad-seed", "--json with a broken seed (printed nothing on main)",
         ["run", "bad.yaml", "--json", "--out", "{out}"], setup=text("bad.yaml", "id: [\n"),
         codes=(2,), check=json_object, issue=True),
    Case("json-endpoint-down", "--json with a refused endpoint (exit 3)",
         RUN[:5] + ["http://127.0.0.1:9/v1"] + RUN[6:-1] + ["--json"], codes=(3,),
         check=json_object, issue=True),
    Case("json-ok", "--json on a good run", RUN[:-1] + ["--json"], server="world",
         expect="ok", check=json_object),
    Case("json-busy", "--json on a busy folder (exit 9)", server="slower", codes=(9,),
         setup=ONE_AT_A_TIME, drive=lambda c: (
             c.start(RUN_CFG), _wait_requests(c, 3, c.procs[0]), c.cli([*RUN_CFG, "--json"]))[-1],
         check=json_object, issue=True),

    # -- seed files --
    Case("seed-missing", "a seed file that does not exist", ["seeds", "validate", "nope.yaml"],
         codes=(2,)),
    Case("seed-empty", "an empty seed file", ["seeds", "validate", "e.yaml"],
         setup=text("e.yaml", ""), codes=(2,)),
    Case("seed-binary", "a seed of random bytes", ["seeds", "validate", "b.yaml"],
         setup=text("b.yaml", os.urandom(4096)), codes=(2,)),
    Case("seed-bad-yaml", "a seed with a YAML syntax error", ["seeds", "validate", "b.yaml"],
         setup=text("b.yaml", "id: x\nexamples: [\n"), codes=(2,)),
    Case("seed-list", "a seed that is a YAML list", ["seeds", "validate", "b.yaml"],
         setup=text("b.yaml", "- id: x\n"), codes=(2,)),
    Case("seed-unknown-key", "a seed with an unknown field", ["seeds", "validate", SRC],
         setup=seed(SRC, exampels=[]), codes=(2,)),
    Case("seed-pairs-text", "seed pairs: many", ["seeds", "validate", SRC],
         setup=seed(SRC, pairs="many"), codes=(2,)),
    Case("seed-pairs-negative", "seed pairs: -3", ["seeds", "validate", SRC],
         setup=seed(SRC, pairs=-3), codes=(2,)),
    Case("seed-pairs-huge", "seed pairs: 10**15, then estimate", ["estimate", SRC],
         setup=seed(SRC, pairs=10**15), timeout=40),
    Case("seed-language", "seed language: klingon", ["seeds", "validate", SRC],
         setup=seed(SRC, language="klingon"), codes=(2,)),
    Case("seed-id-nul", "seed id with a NUL byte", ["seeds", "validate", SRC],
         setup=seed(SRC, id="a\0b"), expect="any"),
    Case("seed-id-rtl", "seed id with RTL override and emoji", ["seeds", "validate", SRC],
         setup=seed(SRC, id="nda-\u202egnp.exe-\U0001f600"), expect="any"),
    Case("seed-id-traversal", "seed id ../../../evil, then run", run_seed(SRC),
         server="world", setup=seed(SRC, id="../../../evil"), expect="any"),
    Case("seed-system-51mb", "a 51 MB system prompt (passed validation on main)",
         ["seeds", "validate", SRC], setup=huge_system, codes=(2,),
         issue=True, timeout=90),
    Case("seed-system-nul", "a system prompt with NUL and escape bytes",
         ["seeds", "validate", SRC], setup=seed(SRC, system="You\0are\x1b[31m red"),
         expect="any"),
    Case("seed-python-tag", "a seed with !!python/object/apply (must not run)",
         ["seeds", "validate", "p.yaml"], codes=(2,), check=no_file("pwned"),
         setup=text("p.yaml", "id: !!python/object/apply:os.system ['touch {dir}/pwned']\n",
                    fmt=True)),
    Case("seed-fifo", "a seed that is a FIFO (open blocks)", ["seeds", "validate", "f.yaml"],
         setup=lambda c: os.mkfifo(c.dir / "f.yaml"), timeout=20, codes=(2,)),
    Case("seed-dev-null", "/dev/null as the seed", ["seeds", "validate", "/dev/null"],
         codes=(2,)),
    Case("seed-empty-dir", "a seed folder with no seeds", ["seeds", "validate", "empty"],
         setup=lambda c: (c.dir / "empty").mkdir(), codes=(2,)),
    Case("seed-symlink-loop", "a seed folder holding a symlink loop",
         ["seeds", "validate", "loop"], timeout=30, expect="any",
         setup=both(lambda c: (c.dir / "loop").mkdir(), symlink("loop/again", "{dir}/loop"),
                    lambda c: (c.dir / "loop" / "nda.yaml").write_bytes(
                        (c.dir / "nda.yaml").read_bytes()))),
    Case("seed-latin1", "a seed in Latin-1", ["seeds", "validate", "l.yaml"], codes=(2,),
         setup=text("l.yaml", NDA_SEED.read_text().replace("businesses", "soci\u00e9t\u00e9s")
                    .encode("latin-1"))),
    Case("seed-unreadable", "a seed with mode 000 (root without read-anything)",
         ["seeds", "validate", "u.yaml"], wrap=NO_READ, codes=(2,),
         setup=lambda c: (c.write("u.yaml", NDA_SEED.read_text()), os.chmod(c.dir / "u.yaml",
                                                                            0))),
    Case("seed-unreadable-run", "run on a seed with mode 000", RUN[:1] + ["u.yaml"] + RUN[2:],
         server="world", wrap=NO_READ, codes=(2,),
         setup=lambda c: (c.write("u.yaml", NDA_SEED.read_text()), os.chmod(c.dir / "u.yaml",
                                                                            0))),
    Case("seed-no-examples", "a seed with examples: []", ["seeds", "validate", SRC],
         setup=seed(SRC, examples=[]), expect="any"),
    Case("seed-crlf", "a seed with CRLF line ends", ["seeds", "validate", "c.yaml"],
         setup=text("c.yaml", NDA_SEED.read_text().replace("\n", "\r\n")), expect="ok"),
    Case("seed-stalled-round", "one small round of duplicates must not stop the seed",
         pairs("10"), issue=True, expect="ok",
         server=lambda: ScriptedServer(stalls_once([
             e["instruction"] for e in yaml.safe_load(NDA_SEED.read_text())["examples"]]))),

    # -- seeds import --
    Case("import-missing", "seeds import of a missing file", ["seeds", "import", "nope.jsonl"],
         codes=(2,)),
    Case("import-out-dir", "seeds import --out onto a folder (traceback on main)",
         ["seeds", "import", "t.jsonl", "--out", "{dir}"], issue=True, codes=(2,),
         setup=text("t.jsonl", json.dumps({"id": "t1", "name": "t", "instruction": "Say hi.",
                                           "instances": [{"input": "", "output": "hi"}],
                                           "is_classification": False}) + "\n")),
    Case("import-out-dir-force", "seeds import --out onto a folder, with --force",
         ["seeds", "import", "t.jsonl", "--out", "{dir}", "--force"], issue=True, codes=(2,),
         setup=text("t.jsonl", json.dumps({"id": "t1", "name": "t", "instruction": "Say hi.",
                                           "instances": [{"input": "", "output": "hi"}],
                                           "is_classification": False}) + "\n")),
    Case("import-empty", "seeds import of an empty file",
         ["seeds", "import", "t.jsonl", "--out", "t.yaml"], setup=text("t.jsonl", ""),
         codes=(2,)),
    Case("import-garbage", "seeds import of lines that are not JSON",
         ["seeds", "import", "t.jsonl", "--out", "t.yaml"],
         setup=text("t.jsonl", "hello\n{not json\n"), codes=(2,)),
    Case("import-wrong-shape", "seeds import of JSON lines of the wrong shape",
         ["seeds", "import", "t.jsonl", "--out", "t.yaml"],
         setup=text("t.jsonl", '[1, 2]\n{"x": 1}\n'), codes=(2,)),
    Case("import-binary", "seeds import of random bytes",
         ["seeds", "import", "t.jsonl", "--out", "t.yaml"], setup=text("t.jsonl",
                                                                         os.urandom(2048)),
         codes=(2,)),
    Case("import-exists", "seeds import onto an existing YAML without --force",
         ["seeds", "import", "t.jsonl", "--out", "{seed}"], codes=(2,),
         setup=text("t.jsonl", "{}\n")),
    Case("import-pairs-zero", "seeds import --pairs 0",
         ["seeds", "import", "t.jsonl", "--pairs", "0"], codes=(2,), setup=text("t.jsonl", "")),

    # -- validate --
    Case("validate-missing", "validate a missing file", ["validate", "nope.jsonl"]),
    Case("validate-empty", "validate an empty file", ["validate", "e.jsonl"],
         setup=text("e.jsonl", ""), codes=(5,)),
    Case("validate-binary", "validate random bytes", ["validate", "b.jsonl"],
         setup=text("b.jsonl", os.urandom(4096)), codes=(5,)),
    Case("validate-directory", "validate a folder", ["validate", "{dir}"]),
    Case("validate-alpaca", "validate Alpaca lines (wrong format)", ["validate", "a.jsonl"],
         setup=text("a.jsonl", "".join(json.dumps({"instruction": f"i{i}", "output": "o"})
                                       + "\n" for i in range(12))), codes=(5,)),
    Case("validate-three", "validate a file of 3 good examples (< 10)",
         ["validate", "t.jsonl"], codes=(5,),
         setup=text("t.jsonl", "".join(json.dumps({"messages": [
             {"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]})
             + "\n" for i in range(3)))),
    Case("validate-template", "validate the finished run's train.jsonl",
         ["validate", "{run}/openai/train.jsonl"], setup=with_run(), expect="ok"),
    Case("validate-unknown-model", "validate -m a model with no price",
         ["validate", "{run}/openai/train.jsonl", "-m", "no-such-model"], setup=with_run(),
         expect="any"),
    Case("validate-huge-line", "validate a 30 MB example", ["validate", "h.jsonl"],
         setup=text("h.jsonl", json.dumps({"messages": [
             {"role": "user", "content": "q"},
             {"role": "assistant", "content": "a " * 15_000_000}]}) + "\n"),
         timeout=60, codes=(5,)),
    Case("run-train-under-10", "run whose train.jsonl has < 10 examples (exit 0 on main)",
         ["run", "{seed}", "--out", "{out}", "--base-url", "{url}", "--model", "test-model",
          "--pairs", "3", "--quiet"], server="world", issue=True),

    # -- push --dry-run --
    *[Case(f"push-repo-{name}", f"push --dry-run --repo-id {rid[:40]!r}",
           ["push", "{run}", "--repo-id", rid, "--dry-run"], setup=with_run(), codes=(2,),
           issue=name in ("enye", "200", "dotgit"))
      for name, rid in (("enye", "ORG/\u00f1ame"), ("200", "org/" + "n" * 200),
                        ("dotgit", "org/..git"), ("noslash", "justaname"),
                        ("three", "a/b/c"), ("traversal", "../../etc"), ("empty", ""),
                        ("space", "org/my name"))],
    Case("push-dry-run-ok", "push --dry-run with a good repo id",
         ["push", "{run}", "--repo-id", "org/name", "--dry-run"], setup=with_run(),
         expect="ok"),
    Case("push-dry-run-readonly", "push --dry-run on a read-only run folder (traceback)",
         ["push", "{run}", "--repo-id", "org/name", "--dry-run"], expect="any", issue=True,
         setup=both(with_run(), lambda c: c.bind_readonly(c.dir / "done"))),
    Case("push-missing", "push --dry-run of a missing folder",
         ["push", "nope", "--repo-id", "org/name", "--dry-run"]),
    Case("push-not-run", "push --dry-run of a folder that is no run (decoy home)",
         ["push", "{home}", "--repo-id", "org/name", "--dry-run"]),
    Case("push-offline", "push for real with the Hub offline (token must not show)",
         ["push", "{run}", "--repo-id", "org/name"], setup=with_run(), timeout=60),

    # -- report, curate, rejected on broken run folders (issue and more) --
    Case("report-missing", "report on a missing folder", ["report", "nope"]),
    Case("report-file", "report on a file", ["report", "{seed}"]),
    Case("report-empty-dir", "report on an empty folder", ["report", "empty"],
         setup=lambda c: (c.dir / "empty").mkdir()),
    Case("report-config-no-key", "report: config.json without its config key",
         ["report", "{run}"], issue=True, setup=both(with_run(), edit_json(
             "config.json", lambda d: {k: v for k, v in d.items() if k != "config"}))),
    Case("curate-config-no-key", "curate: config.json without its config key",
         ["curate", "{run}"], issue=True, setup=both(with_run(), edit_json(
             "config.json", lambda d: {k: v for k, v in d.items() if k != "config"}))),
    Case("report-seed-tasks-garbage", "report: config.json seed_tasks: garbage",
         ["report", "{run}"], issue=True,
         setup=both(with_run(), edit_json("config.json", lambda d: {**d,
                                                                    "seed_tasks": "garbage"}))),
    Case("curate-seed-tasks-garbage", "curate: config.json seed_tasks: garbage",
         ["curate", "{run}"], issue=True,
         setup=both(with_run(), edit_json("config.json", lambda d: {**d,
                                                                    "seed_tasks": "garbage"}))),
    Case("report-config-not-json", "report: config.json is not JSON", ["report", "{run}"],
         setup=both(with_run(), edit_json("config.json", lambda d: "{not json"))),
    Case("report-parquet-garbage", "report: records.parquet is random bytes",
         ["report", "{run}"], setup=both(with_run(), replace_file("records.parquet",
                                                                  os.urandom(4096)))),
    Case("curate-parquet-missing", "curate: records.parquet is gone", ["curate", "{run}"],
         setup=both(with_run(), replace_file("records.parquet", None))),
    Case("report-manifest-garbage", "report: manifest.json is a JSON list",
         ["report", "{run}"], expect="any",
         setup=both(with_run(), edit_json("manifest.json", lambda d: [1, 2]))),
    Case("rejected-garbage", "rejected on a folder that is no run", ["rejected", "{home}"]),
    Case("rejected-negative", "rejected --examples -1", ["rejected", "{run}", "--examples",
                                                         "-1"], setup=with_run(), codes=(2,)),
    Case("rejected-ok", "rejected on a finished run", ["rejected", "{run}"], setup=with_run(),
         expect="ok"),
    Case("report-serve-busy", "report --serve on a busy port (traceback on main)",
         setup=with_run(), drive=busy_port, issue=True),
    Case("report-serve-negative-port", "report --serve --port -5",
         ["report", "{run}", "--serve", "--port", "-5"], setup=with_run(), timeout=20,
         codes=(2,), issue=True),
    Case("report-serve-port-70000", "report --serve --port 70000",
         ["report", "{run}", "--serve", "--port", "70000"], setup=with_run(), timeout=20,
         codes=(2,), issue=True),
    Case("curate-verdicts-missing", "curate --verdicts of a missing file",
         ["curate", "{run}", "--verdicts", "nope.jsonl"], setup=with_run(), codes=(2,)),
    Case("curate-verdicts-binary", "curate --verdicts of random bytes",
         ["curate", "{run}", "--verdicts", "v.jsonl"], codes=(2,),
         setup=both(with_run(), text("v.jsonl", os.urandom(1024)))),
    Case("curate-verdicts-unknown-id", "curate --verdicts naming ids the run lacks",
         ["curate", "{run}", "--verdicts", "v.jsonl"], codes=(2,),
         setup=both(with_run(), text("v.jsonl", '{"id": "nope", "verdict": "keep"}\n'))),
    Case("curate-verdicts-bad-value", "curate --verdicts with verdict: maybe",
         ["curate", "{run}", "--verdicts", "v.jsonl"], codes=(2,),
         setup=both(with_run(), text("v.jsonl", '{"id": "x", "verdict": "maybe"}\n'))),
    Case("curate-config-unknown", "curate --config with an unknown key",
         ["curate", "{run}", "--config", "c.yaml"], codes=(2,),
         setup=both(with_run(), text("c.yaml", "curation:\n  dedupe: true\n"))),
    Case("curate-readonly", "curate on a read-only run folder", ["curate", "{run}"],
         setup=both(with_run(), lambda c: c.bind_readonly(c.dir / "done"))),
    Case("curate-ok", "curate a finished run again", ["curate", "{run}"], setup=with_run(),
         expect="ok"),

    # -- eval, finetune, schedule, doctor --
    Case("eval-judge-fails", "eval with a judge whose every call fails (exit 0 on main)",
         ["eval", "{run}", "--finetuned", "none", "--limit", "2", "--judge-base-url", "{url}",
          "--judge-model", "test-model"], server="e500", setup=with_run(), issue=True,
         timeout=90),
    Case("eval-no-validation", "eval on a run without validation.jsonl",
         ["eval", "{run}", "--finetuned", "none", "--limit", "2"],
         setup=both(with_run(), replace_file("openai/validation.jsonl", None))),
    Case("eval-limit-zero", "eval --limit 0", ["eval", "{run}", "--limit", "0"],
         setup=with_run(), codes=(2,)),
    Case("finetune-not-an-api", "finetune against a server that is no fine-tuning API",
         ["finetune", "{run}", "--base-url", "{url}", "--no-wait", "--model",
          "gpt-4o-mini-2024-07-18"], server="chat-anywhere", setup=with_run(), issue=True),
    Case("finetune-poll-negative", "finetune --poll-s -1",
         ["finetune", "{run}", "--poll-s", "-1"], setup=with_run(), codes=(2,)),
    Case("finetune-empty-dir", "finetune on an empty folder", ["finetune", "empty"],
         setup=lambda c: (c.dir / "empty").mkdir()),
    Case("finetune-cancel-none", "finetune --cancel with no job recorded",
         ["finetune", "{run}", "--cancel", "--base-url", "{world}"], setup=with_run()),
    Case("schedule-bad-cron", "schedule --cron 'not a cron'",
         ["schedule", "cfg.yaml", "--cron", "not a cron"], server="world", setup=config(),
         timeout=40),
    Case("schedule-missing-config", "schedule of a missing config", ["schedule", "nope.yaml"],
         timeout=40),
    Case("schedule-list-dead-api", "schedule --list with the Prefect API down",
         ["schedule", "--list"], env={"PREFECT_API_URL": "http://127.0.0.1:9/api"},
         timeout=60),
    Case("doctor-refused", "doctor against a closed port",
         ["doctor", "--base-url", "http://127.0.0.1:9/v1"], codes=(3,)),
    Case("doctor-ok", "doctor against the world", ["doctor", "--base-url", "{url}", "--model",
                                                   "test-model"], server="world", expect="ok"),
    Case("estimate-ok", "estimate a seed", ["estimate", "{seed}", "--pairs", "5"],
         expect="ok"),
    Case("estimate-broken-seed", "estimate a broken seed", ["estimate", "b.yaml"],
         setup=text("b.yaml", "id: 3\n"), codes=(2,)),

    # -- Prefect settings --
    Case("prefect-api-empty", "PREFECT_API_URL='' (empty)", RUN, server="world",
         env={"PREFECT_API_URL": ""}, expect="ok", timeout=90),
    Case("prefect-api-dead", "PREFECT_API_URL on a closed port", RUN, server="world",
         env={"PREFECT_API_URL": "http://127.0.0.1:9/api"}, timeout=90),
    Case("prefect-api-garbage", "PREFECT_API_URL that is not a URL", RUN, server="world",
         env={"PREFECT_API_URL": "not a url"}, timeout=90),
    Case("prefect-logging-bogus", "PREFECT_LOGGING_LEVEL=BOGUS", RUN, server="world",
         env={"PREFECT_LOGGING_LEVEL": "BOGUS"}, expect="any"),
    Case("run-ok", "a plain good run (the baseline)", RUN, server="world", expect="ok"),
]
