"""Run the `datagen` command in-process, exactly as the console script does (`main`), so a
test sees the real exit code of every outcome and error, and everything printed."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from datagen.cli import main


def cli(*args: Any) -> tuple[int, str]:
    """(exit code, stdout and stderr) of `datagen ARGS...`."""
    buf = io.StringIO()
    code: Any = 0
    with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(buf):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
    return int(code or 0), buf.getvalue()
