"""No orphans: the servers a run starts die with it, even when it is killed with SIGKILL.

A run starts child processes: Prefect's temporary API server, the embedded model's llama.cpp
server, Dask workers. SIGKILL gives the run no time to stop them, and each left behind holds
hundreds of MB. `reaper()` marks the run's environment with a fresh token (children inherit it)
and starts a small watchdog in its own session. The moment the run is gone, the watchdog
terminates every process that carries the token, and every descendant it saw while the run
lived (then kills what is left after a few seconds). The token catches a child started in the
last instant before the kill, which no polling could have seen. A run that ends normally stops
the watchdog first.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator

VAR = "DATAGEN_RUN_TOKEN"

WATCHDOG = r"""
import sys, time
import psutil
parent = psutil.Process(int(sys.argv[1]))
var, token = sys.argv[2], sys.argv[3]
me = psutil.Process()
known = {}
while True:
    try:
        if not parent.is_running() or parent.status() == psutil.STATUS_ZOMBIE:
            break
        for child in parent.children(recursive=True):
            if child.pid != me.pid:
                known[child.pid] = child
    except psutil.NoSuchProcess:
        break
    time.sleep(0.5)
for proc in psutil.process_iter():
    try:
        if proc.pid != me.pid and proc.environ().get(var) == token:
            known[proc.pid] = proc
    except psutil.Error:
        pass
alive = []
for child in known.values():
    try:
        if child.is_running():
            child.terminate()
            alive.append(child)
    except psutil.Error:
        pass
gone, alive = psutil.wait_procs(alive, timeout=5)
for child in alive:
    try:
        child.kill()
    except psutil.Error:
        pass
"""


@contextlib.contextmanager
def reaper() -> Iterator[None]:
    """Watch this process for the block's duration (see the module docstring)."""
    token = secrets.token_hex(8)
    previous = os.environ.get(VAR)
    os.environ[VAR] = token
    env = {k: v for k, v in os.environ.items() if k != VAR}
    watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(os.getpid()), VAR, token],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield
    finally:
        watchdog.kill()
        watchdog.wait(timeout=10)
        if previous is None:
            os.environ.pop(VAR, None)
        else:
            os.environ[VAR] = previous
