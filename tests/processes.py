"""Child processes a test starts and must stop: a serving `datagen schedule`, a worker."""

from __future__ import annotations

import signal
import subprocess


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Ctrl-C, as a user stops it; killed if it does not exit within `timeout`."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
