"""No orphans: the servers a run starts die with it, even when it is killed with SIGKILL.

A run starts child processes: Prefect's temporary API server, the embedded model's llama.cpp
server, Dask workers. SIGKILL gives the run no time to stop them, and each left behind holds
hundreds of MB. `reaper()` starts a small watchdog in its own session that remembers every
descendant of the run and, the moment the run is gone, terminates them (then kills what is
left after a few seconds). A run that ends normally stops the watchdog first.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

WATCHDOG = r"""
import sys, time
import psutil
parent = psutil.Process(int(sys.argv[1]))
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
    watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(os.getpid())],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield
    finally:
        watchdog.kill()
        watchdog.wait(timeout=10)
