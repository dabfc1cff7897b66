"""Child processes a test starts and must stop: a serving `datagen schedule`, a worker."""

from __future__ import annotations

import signal
import subprocess


def interruptible() -> None:
    """`preexec_fn` of a child a test stops with Ctrl-C: a shell's background job starts with
    SIGINT ignored, and a child inherits that, so Python would install no KeyboardInterrupt
    handler and the test's Ctrl-C would be lost (as when CI runs the suite in the background)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Ctrl-C, as a user stops it; killed if it does not exit within `timeout`."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
