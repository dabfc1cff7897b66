"""Progress of long work: a bar per stage and a run-level line, or log lines, or nothing.

On a terminal, one live board per process (rich allows one live display, and stages of
several seeds run at once): a row per running stage with done/total, requests in flight,
tokens, dollars, elapsed time and an ETA, under a `run` row counting kept pairs against the
targets with the overall ETA. A finished stage leaves one summary line above the board.

Off a terminal (schedulers, CI, Prefect workers) nothing is redrawn: the `datagen.progress`
logger gets a line per stage every `LOG_EVERY_S` seconds and when it ends, and one per
round for the run (`datagen run` hands that logger to Prefect, so the lines reach the flow
run's logs). `DATAGEN_PROGRESS=quiet` (set by `--quiet` and `--json`) shows nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from datagen.console import console, esc

LOG_EVERY_S = 15.0
log = logging.getLogger("datagen.progress")


def mode() -> str:
    """quiet, live (a terminal) or log."""
    if os.environ.get("DATAGEN_PROGRESS") == "quiet":
        return "quiet"
    return "live" if console.is_terminal else "log"


def eta(done: float, total: float, elapsed: float) -> str:
    """`1m20s` at the rate so far; `?` before anything is done."""
    if done <= 0 or total <= done:
        return "?" if total > done else "0s"
    left = elapsed * (total - done) / done
    minutes, seconds = divmod(int(left + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes \
        else f"{seconds}s"


class _Board:
    """The process's one live display, shared by every stage and the run line."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.progress: Progress | None = None
        self.users = 0

    def add(self, label: str, total: int | None) -> TaskID:
        with self.lock:
            if self.progress is None:
                self.progress = Progress(
                    TextColumn("[bold]{task.description:<18}"), BarColumn(bar_width=28),
                    MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), TextColumn("{task.fields[stats]}"),
                    console=console, transient=True)
                self.progress.start()
            self.users += 1
            return self.progress.add_task(esc(label), total=total, stats="")

    def update(self, task: TaskID, **fields: object) -> None:
        if self.progress is not None:
            self.progress.update(task, **fields)  # type: ignore[arg-type]

    def done(self, task: TaskID, line: str | None) -> None:
        with self.lock:
            if self.progress is None:
                return
            self.progress.remove_task(task)
            if line:
                self.progress.console.print(line)
            self.users -= 1
            if self.users == 0:
                self.progress.stop()
                self.progress = None


BOARD = _Board()


class StageProgress:
    """`with StageProgress("respond", total, stats=client.status) as tick: ... tick(1)`."""

    def __init__(self, label: str, total: int, *, stats: Callable[[], str] | None = None):
        self.label, self.total, self.stats = label, total, stats
        self.done = 0
        self.mode = mode()
        self.started = self.logged = time.monotonic()
        self._task: TaskID | None = None

    def __enter__(self) -> Callable[[int], None]:
        if self.mode == "live":
            self._task = BOARD.add(self.label, self.total)
        return self.tick

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        extra = f", {self.stats()}" if self.stats else ""
        return (f"{self.label}: {self.done}/{self.total}{pct}{extra}, {elapsed:.0f}s, "
                f"ETA {eta(self.done, self.total, elapsed)}")

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self._task is not None:
            BOARD.update(self._task, advance=n, stats=self.stats() if self.stats else "")
        elif self.mode == "log" and time.monotonic() - self.logged >= LOG_EVERY_S:
            self.logged = time.monotonic()
            log.info(self.line())

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            BOARD.done(self._task, esc(self.line()))
        elif self.mode == "log":
            log.info(self.line())


class RunProgress:
    """The run-level line: kept pairs of every seed against the targets, with the ETA."""

    def __init__(self, target: int) -> None:
        self.target = max(1, target)
        self.mode = mode()
        self.started = time.monotonic()
        self.kept = 0
        self._task: TaskID | None = None
        if self.mode == "live":
            self._task = BOARD.add("run: pairs kept", self.target)

    def update(self, kept: int, round_no: int, cost_usd: float,
               by_role: dict[str, float] | None = None) -> None:
        """`kept`: pairs the verdicts keep now (the judge's included); `by_role`: dollars
        per model role, shown beside the total."""
        self.kept = min(kept, self.target)
        roles = ", ".join(f"{r} ${c:.4f}" for r, c in (by_role or {}).items())
        text = f"round {round_no + 1}, ${cost_usd:.4f}" + (f" ({roles})" if roles else "")
        if self._task is not None:
            BOARD.update(self._task, completed=self.kept, stats=text)
        elif self.mode == "log":
            elapsed = time.monotonic() - self.started
            log.info(f"run: {self.kept}/{self.target} pairs kept "
                     f"({100 * self.kept / self.target:.0f}%), {text}, {elapsed:.0f}s, "
                     f"ETA {eta(self.kept, self.target, elapsed)}")

    def close(self) -> None:
        if self._task is not None:
            BOARD.done(self._task, None)
            self._task = None
