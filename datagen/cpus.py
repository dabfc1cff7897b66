"""How many CPUs this process may use: the forked curation workers and the MinHash band
threads size themselves by it (a container or `taskset` may allow fewer than the machine has)."""

from __future__ import annotations

import os


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
