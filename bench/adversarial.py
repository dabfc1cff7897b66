"""An adversarial pass over the `datagen` command: 110+ hostile or careless commands, each in
its own folder, against loopback endpoints only, each with a timeout. For every case it
records the exit code, the time, and whether the outcome was the one the case declares
(success, or a clean error: a non-zero exit with a short message and no traceback), whether
a completed LLM call was repeated or records were lost on a resume, whether any file outside
the case's folder was touched, and whether a planted secret leaked into any output or file.

    python bench/adversarial.py                   # the whole pass (2 cases at a time)
    python bench/adversarial.py --only source     # cases whose id or text holds "source"
    python bench/adversarial.py --jobs 1 --json results.json --keep

How a case is judged:
- `Traceback` anywhere in stdout or stderr: a traceback.
- No exit within the case's timeout: a hang (the process group is killed).
- The declared outcome (`ok`: exit 0; `error`: non-zero, optionally one of `codes`; `any`)
  not met: a mismatch.
- A non-zero exit counts as a clean error only if the output is short (at most 40 lines),
  holds a message line (`error: ...`, a usage error, an outcome such as `nothing_kept: ...`,
  or a JSON object) and no raw Python exception text (`KeyError`, `[Errno 28]`, ...).
- Files outside: a decoy home (`$HOME` of the command), a decoy secret, seeds and documents
  "from elsewhere" that some cases pass in, and the shared finished run that cases copy are
  snapshotted (path, size, mtime, mode) before and compared after.
- Secrets: a fake API key (`$OPENAI_API_KEY`), a key inside a base URL and a fake Hub token
  are planted; every output and every file under the case's folder is searched for them.
- A case's own `check` adds findings of its kind (a page that does not load, a request that
  carried a decoy secret, a repeated call).

The pass starts one Prefect server for all cases (a run then takes ~5 s, not ~12 s) and one
finished run (the template) that report/curate/push/eval/finetune cases copy and break.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.adversarial_servers import SERVERS  # noqa: E402
from tests.flows.world import handler as world_handler  # noqa: E402
from tests.scripted_server import ScriptedServer  # noqa: E402

KEY = "sk-ADVERSARIAL-0f5e2c7a9b1d4e8f"
URL_KEY = "sk-ADVERSARIAL-URLKEY-3c9e1a7b"
HF_TOKEN = "hf_ADVERSARIALtoken5b8d2f1e9c"
SECRETS = (KEY, URL_KEY, HF_TOKEN)
DECOY = "DECOY-SECRET-not-for-any-request-91c4"
NDA_SEED = REPO / "seeds" / "legal" / "nda_clauses.yaml"
RAW = re.compile(r"\b(KeyError|TypeError|AttributeError|IndexError|NameError|"
                 r"UnicodeDecodeError|UnicodeEncodeError|sqlite3\.\w+|OperationalError|"
                 r"RecursionError|AssertionError|ValidationError)\b|\[Errno \d+\]|"
                 r"Exception ignored in|<class '")
MESSAGE = re.compile(r"^\s*(error:|Error:|Usage:|╭─ Error|[a-z_]+: \S|\{)", re.M)


@dataclass
class Case:
    """One command and what it should end in. `argv` follows `datagen`; its `{name}`
    placeholders come from the case's context (`{url}`, `{out}`, `{run}`, `{elsewhere}`...)."""

    id: str
    about: str
    argv: list[str] = field(default_factory=list)
    expect: str = "error"  # "ok" | "error" | "any"
    codes: tuple[int, ...] = ()  # accepted exit codes of an error (empty: any non-zero)
    server: str | Callable[[], Any] | None = None
    setup: Callable[[Context], None] | None = None
    check: Callable[[Context, Outcome], list[str]] | None = None
    drive: Callable[[Context], Outcome] | None = None  # a custom script (signals, races)
    timeout: float = 60.0
    max_s: float | None = None  # slower than this is a finding (a lock refusal, ...)
    env: dict[str, str | None] = field(default_factory=dict)
    wrap: list[str] = field(default_factory=list)  # a prefix (drop root's file capabilities)
    issue: bool = False  # a finding listed in the issue


@dataclass
class Outcome:
    argv: list[str]
    code: int | None
    seconds: float
    output: str
    timed_out: bool = False


@dataclass
class Result:
    id: str
    about: str
    command: str
    expect: str
    exit: int | None
    seconds: float
    traceback: bool
    hang: bool
    clean_error: bool
    mismatch: bool
    data_lost: list[str]
    outside: list[str]
    leaked: list[str]
    findings: list[str]
    issue: bool
    output_tail: str

    @property
    def verdict(self) -> str:
        flags = [name for name, on in (
            ("TRACEBACK", self.traceback), ("HANG", self.hang), ("MISMATCH", self.mismatch),
            ("UNCLEAR", self.exit not in (0, None) and not self.clean_error
             and not self.traceback), ("DATA-LOST", bool(self.data_lost)),
            ("OUTSIDE", bool(self.outside)), ("LEAK", bool(self.leaked)),
            ("CHECK", bool(self.findings))) if on]
        return ",".join(flags) or "ok"


class Context:
    """A case's world: its folder (`dir`, the command's working directory), a decoy
    `outside` folder, its server, the environment its commands get."""

    def __init__(self, case: Case, root: Path, shared: Shared) -> None:
        self.case = case
        self.base = root / case.id
        self.dir = self.base / "case"
        self.outside = self.base / "outside"
        self.shared = shared
        self.server: Any = None
        self.mounts: list[Path] = []
        self.procs: list[subprocess.Popen] = []
        self.notes: dict[str, Any] = {}
        self.inputs: set[Path] = set()
        self.dir.mkdir(parents=True)
        home = self.outside / "home"
        (home / ".config").mkdir(parents=True)
        (home / ".bashrc").write_text("# decoy\n")
        (home / ".config" / "tool.toml").write_text("key = 'value'\n")
        (self.outside / "secret.txt").write_text(f"{DECOY}\nroot:x:0:0:root:/root:/bin/bash\n")
        elsewhere = self.outside / "elsewhere"
        (elsewhere / "docs").mkdir(parents=True)
        shutil.copy(NDA_SEED, elsewhere / "nda.yaml")
        (elsewhere / "docs" / "guide.md").write_text("# Guide\n\nSome text to ground on.\n")
        self.vars: dict[str, str] = {
            "dir": str(self.dir), "out": str(self.dir / "run"), "run": str(self.dir / "done"),
            "outside": str(self.outside), "home": str(home), "elsewhere": str(elsewhere),
            "seed": str(self.dir / "nda.yaml"), "template": str(shared.template),
            "world": shared.world_url,
        }
        shutil.copy(NDA_SEED, self.dir / "nda.yaml")

    # ---- what the cases call ---------------------------------------------------------------

    def env(self, extra: dict[str, str | None] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "HF_TOKEN", "PREFECT_API_URL",
                  "DATAGEN_LLM_BASE_URL"):
            env.pop(k, None)
        env.update({
            "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [
                os.environ.get("PYTHONPATH")])]),
            "HOME": self.vars["home"], "TMPDIR": str(self.dir / ".tmp"),
            "HF_HOME": str(self.dir / ".hf"), "XDG_CACHE_HOME": str(self.dir / ".cache"),
            "MPLCONFIGDIR": str(self.dir / ".mpl"), "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1", "COLUMNS": "200", "NO_COLOR": "1",
            "OPENAI_API_KEY": KEY, "HF_TOKEN": HF_TOKEN,
            # a fallback endpoint that refuses: nothing ever falls back to the embedded model
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "PREFECT_HOME": str(self.shared.prefect_home),
            "PREFECT_API_URL": self.shared.prefect_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        })
        (self.dir / ".tmp").mkdir(exist_ok=True)
        for k, v in {**self.case.env, **(extra or {})}.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v.format(**self.vars)
        return env

    def fmt(self, argv: list[str]) -> list[str]:
        return [a.format(**self.vars) if isinstance(a, str) else a for a in argv]

    def start(self, argv: list[str], env: dict[str, str | None] | None = None
              ) -> subprocess.Popen:
        """Start `datagen ARGV` in the case folder (stdout and stderr into one pipe)."""
        cmd = [*self.case.wrap, sys.executable, "-m", "datagen.cli", *self.fmt(argv)]
        proc = subprocess.Popen(cmd, cwd=self.dir, env=self.env(env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def finish(self, proc: subprocess.Popen, started: float, timeout: float) -> Outcome:
        """Wait for `proc` (killed with its group after `timeout`)."""
        timed_out = False
        try:
            out, _ = proc.communicate(timeout=max(0.1, timeout - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            out, _ = proc.communicate()
        code = None if timed_out else proc.returncode
        return Outcome(list(proc.args)[len(self.case.wrap) + 3:], code,
                       time.monotonic() - started, out.decode("utf-8", "replace"), timed_out)

    def cli(self, argv: list[str], timeout: float | None = None,
            env: dict[str, str | None] | None = None) -> Outcome:
        started = time.monotonic()
        return self.finish(self.start(argv, env), started, timeout or self.case.timeout)

    def write(self, name: str, content: str | bytes) -> Path:
        """A file the case hands to the command (its secrets are the case's own, not leaks)."""
        path = self.dir / name
        self.inputs.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def copy_run(self, name: str = "done") -> Path:
        """A copy of the shared finished run in this case's folder."""
        target = self.dir / name
        shutil.copytree(self.shared.template, target, symlinks=True)
        return target

    def mount_tmpfs(self, path: Path, size: str, *, ro: bool = False) -> None:
        path.mkdir(parents=True, exist_ok=True)
        opts = f"size={size}" + (",ro" if ro else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=True)
        self.mounts.append(path)

    def bind_readonly(self, path: Path) -> None:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        self.mounts.append(path)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)


@dataclass
class Shared:
    """What all cases share: the Prefect server, a long-lived world server (the template run's
    endpoint, for eval and finetune), and the finished template run."""

    root: Path
    prefect_home: Path
    prefect_url: str
    world_url: str
    template: Path


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


# ---- judging ---------------------------------------------------------------------------------

def snapshot(roots: list[Path]) -> dict[str, tuple[int, int, int]]:
    """Path -> (size, mtime, mode) of every file, folder and link under `roots`."""
    seen: dict[str, tuple[int, int, int]] = {}
    for root in roots:
        if not root.exists():
            continue
        for dirpath, dirs, files in os.walk(root):
            for name in [*dirs, *files, "."]:
                p = os.path.join(dirpath, name)
                with contextlib.suppress(OSError):
                    st = os.lstat(p)
                    seen[os.path.normpath(p)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return seen


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    out = [f"+{p}" for p in after.keys() - before.keys()]
    out += [f"-{p}" for p in before.keys() - after.keys()]
    out += [f"~{p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    return sorted(out)


def regular(path: Path) -> bool:
    """A plain file, not a link (it may point anywhere) nor a FIFO (reading it waits)."""
    return stat.S_ISREG(os.lstat(path).st_mode)


def leaks(text: str, folder: Path, inputs: set[Path]) -> list[str]:
    """Where a planted secret appears: 'output', or a file under `folder` (but the case's
    own input files)."""
    found = [f"output: {s[:18]}..." for s in SECRETS if s in text]
    needles = [s.encode() for s in SECRETS]
    for dirpath, _, files in os.walk(folder):
        for name in files:
            p = Path(dirpath) / name
            with contextlib.suppress(OSError):
                if p in inputs or not regular(p) or p.stat().st_size > 512 * 1024 * 1024:
                    continue
                data = p.read_bytes()
                found += [f"{p.relative_to(folder)}: {n[:18].decode()}..."
                          for n in needles if n in data]
    return found


def clean(out: Outcome) -> bool:
    """A non-zero exit told in a short message, with no traceback and no raw exception."""
    text = out.output.strip()
    lines = [x for x in text.splitlines() if x.strip()]
    return (out.code not in (0, None) and "Traceback" not in text and not RAW.search(text)
            and 0 < len(lines) <= 40 and bool(MESSAGE.search(text)))


def judge(case: Case, out: Outcome, lost: list[str], outside: list[str], leaked: list[str],
          findings: list[str]) -> Result:
    code = out.code
    if out.timed_out:
        mismatch = False
    elif case.expect == "ok":
        mismatch = code != 0
    elif case.expect == "error":
        mismatch = code == 0 or bool(case.codes and code not in case.codes)
    else:
        mismatch = False
    if case.max_s is not None and out.seconds > case.max_s and not out.timed_out:
        findings = [*findings, f"took {out.seconds:.1f} s (at most {case.max_s} s expected)"]
    return Result(
        id=case.id, about=case.about, command="datagen " + " ".join(map(str, out.argv)).encode(
            "utf-8", "backslashreplace").decode(),
        expect=case.expect + (f" {list(case.codes)}" if case.codes else ""), exit=code,
        seconds=round(out.seconds, 2), traceback="Traceback" in out.output,
        hang=out.timed_out, clean_error=clean(out), mismatch=mismatch, data_lost=lost,
        outside=outside[:10], leaked=leaked, findings=findings, issue=case.issue,
        output_tail=out.output[-1500:])


# ---- running ---------------------------------------------------------------------------------

@contextlib.contextmanager
def serving(spec: str | Callable[[], Any] | None) -> Iterator[Any]:
    if spec is None:
        yield None
        return
    factory = SERVERS[spec] if isinstance(spec, str) else spec
    with factory() as server:
        yield server


def execute(case: Case, shared: Shared, keep: bool) -> Result:
    ctx = Context(case, shared.root / "cases", shared)
    try:
        with serving(case.server) as server:
            ctx.server = server
            if server is not None:
                ctx.vars["url"] = server.base_url
            if case.setup:
                case.setup(ctx)
            watched = [ctx.outside, shared.template, REPO / "seeds"]
            before, beside = snapshot(watched), set(os.listdir(ctx.base))
            out = case.drive(ctx) if case.drive else ctx.cli(case.argv)
            outside = changed(before, snapshot(watched)) + [  # written next to the case folder
                f"+{ctx.base / name}" for name in set(os.listdir(ctx.base)) - beside]
            findings = case.check(ctx, out) if case.check else []
            lost = [f[len("lost: "):] for f in findings if f.startswith("lost: ")]
            findings = [f for f in findings if not f.startswith("lost: ")]
            leaked = leaks(out.output + "\n".join(ctx.notes.get("outputs", [])), ctx.dir,
                           ctx.inputs)
            return judge(case, out, lost, outside, leaked, findings)
    except Exception as exc:  # a broken case is reported as such, and the pass goes on
        return judge(case, Outcome(case.argv, None, 0.0, f"bench error: {exc!r}"), [], [], [],
                     [f"the case itself failed: {exc!r}"])
    finally:
        for proc in ctx.procs:
            if proc.poll() is None:
                _kill(proc)
                proc.wait()
        for path in reversed(ctx.mounts):
            subprocess.run(["umount", "-l", str(path)], check=False)
        if not keep:
            shutil.rmtree(ctx.base, ignore_errors=True)


def make_template(root: Path, world_url: str, env: dict[str, str]) -> Path:
    """A finished run of 14 pairs (11 train, 3 validation) against the long-lived world."""
    out = root / "template" / "run"
    (root / "template" / "seeds").mkdir(parents=True)
    seed = root / "template" / "seeds" / "nda.yaml"
    shutil.copy(NDA_SEED, seed)
    cmd = [sys.executable, "-m", "datagen.cli", "run", str(seed), "--pairs", "14", "--out",
           str(out), "--base-url", world_url, "--model", "test-model", "--quiet"]
    done = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"the template run failed ({done.returncode}):\n"
                         f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.adversarial_cases import CASES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="run the cases whose id or description contains this "
                    "(a regular expression)")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at a time")
    ap.add_argument("--json", type=Path, help="write every case's result here")
    ap.add_argument("--keep", action="store_true", help="keep the case folders")
    ap.add_argument("--timeout-scale", type=float, default=1.0,
                    help="multiply every timeout (a machine busy with other work)")
    args = ap.parse_args(argv)
    ids = [c.id for c in CASES]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"duplicate case ids: {dupes}"
    cases = [c for c in CASES if not args.only or re.search(args.only, c.id)
             or re.search(args.only, c.about)]
    if not cases:
        raise SystemExit(f"no case matches {args.only!r}")
    for c in cases:
        c.timeout *= args.timeout_scale
        c.max_s = c.max_s * args.timeout_scale if c.max_s else None

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # a background job starts with SIGINT ignored and its children inherit that: the
        # Ctrl-C cases would then interrupt nothing
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (mounts, folders)
    root = Path(tempfile.mkdtemp(prefix="datagen-adversarial-"))
    prefect_home = root / "prefect"
    prefect_home.mkdir()
    os.environ.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    os.environ.pop("PREFECT_API_URL", None)
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    git_before = _git_status()
    started = time.monotonic()
    results: list[Result] = []
    try:
        with prefect_test_harness(server_startup_timeout=120), \
                ScriptedServer(world_handler) as world:
            probe = Shared(root, prefect_home, str(PREFECT_API_URL.value()), world.base_url,
                           root / "template" / "run")
            (root / "template-env").mkdir()
            env = Context(Case("template-env", ""), root, probe).env()
            shared = Shared(root, prefect_home, probe.prefect_url, world.base_url,
                            make_template(root, world.base_url, env))
            print(f"template run ready in {time.monotonic() - started:.0f} s; "
                  f"{len(cases)} cases, {args.jobs} at a time", flush=True)
            pool = ThreadPoolExecutor(args.jobs)
            try:
                for r in pool.map(lambda c: execute(c, shared, args.keep), cases):
                    results.append(r)
                    print(f"{r.id:<34} {str(r.exit):>4} {r.seconds:6.1f}s  {r.verdict:<16} "
                          f"{r.about[:70]}", flush=True)
            finally:  # stopped: the cases running finish (and clean up), no new one starts
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    git_after = _git_status()
    summary = summarise(results, time.monotonic() - started)
    if git_after != git_before:
        summary["repo files changed"] = sorted(set(git_after) ^ set(git_before))
    print_table(results, summary)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "cases": [
            {**asdict(r), "verdict": r.verdict} for r in results]}, indent=1))
    return 0 if all(r.verdict == "ok" for r in results) else 1


def _git_status() -> list[str]:
    done = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--ignored"],
                          capture_output=True, text=True)
    return [x for x in done.stdout.splitlines() if "__pycache__" not in x]


def summarise(results: list[Result], seconds: float) -> dict[str, Any]:
    return {
        "tried": len(results),
        "clean errors": sum(r.exit not in (0, None) and r.clean_error and not r.mismatch
                            for r in results),
        "expected successes": sum(r.exit == 0 and not r.mismatch for r in results),
        "tracebacks": sum(r.traceback for r in results),
        "hangs": sum(r.hang for r in results),
        "mismatched outcomes": sum(r.mismatch for r in results),
        "unclear errors": sum("UNCLEAR" in r.verdict for r in results),
        "data lost": sum(bool(r.data_lost) for r in results),
        "files outside touched": sum(bool(r.outside) for r in results),
        "secrets leaked": sum(bool(r.leaked) for r in results),
        "other findings": sum(bool(r.findings) for r in results),
        "cases all ok": sum(r.verdict == "ok" for r in results),
        "seconds": round(seconds, 1),
    }


def print_table(results: list[Result], summary: dict[str, Any]) -> None:
    print()
    print(f"{'id':<34} {'exit':>4}  {'verdict':<22} about")
    for r in results:
        print(f"{r.id:<34} {str(r.exit):>4}  {r.verdict:<22} {r.about[:80]}")
    bad = [r for r in results if r.verdict != "ok"]
    if bad:
        print("\nfindings:")
    for r in bad:
        print(f"- {r.id} [{r.verdict}] {r.command[:160]}")
        for f in [*r.findings, *(f"lost: {x}" for x in r.data_lost),
                  *(f"outside: {x}" for x in r.outside), *(f"leak: {x}" for x in r.leaked)]:
            print(f"    {f[:200]}")
        tail = [x for x in r.output_tail.strip().splitlines() if x.strip()][-2:]
        for line in tail:
            print(f"    | {line[:160]}")
    print("\nsummary:")
    for k, v in summary.items():
        print(f"  {k}: {v}")


if __name__ == "__main__":
    sys.exit(main())
