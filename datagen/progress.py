"""Progress for long steps: a rich bar per stage on stderr, with live LLM totals."""

from __future__ import annotations

import sys
from collections.abc import Callable

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from datagen.console import console, esc


class StageProgress:
    """`with StageProgress("respond", total) as tick: ... tick(1)`; silent when not a TTY
    unless `force`, so logs of scheduled runs stay readable (a summary line is printed)."""

    def __init__(self, label: str, total: int, *, stats: Callable[[], str] | None = None):
        self.label, self.total, self.stats = label, total, stats
        self.done = 0
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> Callable[[int], None]:
        if console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("{task.fields[stats]}"), console=console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(esc(self.label), total=self.total, stats="")
        return self.tick

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=n,
                                  stats=self.stats() if self.stats else "")

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        else:
            extra = f" ({self.stats()})" if self.stats else ""
            print(f"{self.label}: {self.done}/{self.total}{extra}", file=sys.stderr)
