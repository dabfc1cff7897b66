"""The `datagen` command. Every outcome and every error becomes an exit code here, once
(`main`), as listed in docs/reference/exit-codes.md:

    0 done    1 error    2 bad input    3 endpoint unusable    4 budget reached
    5 export invalid    6 LLM calls failed    7 nothing kept    8 short of target
    9 run folder busy    10 fine-tuning job failed, cancelled or expired
    11 a judge or an eval could not score (no default number stands in)
    130 interrupted (Ctrl-C or SIGTERM; completed calls are saved)

One module per group of commands: `runs` (run, estimate, doctor), `seeds`, `exports`
(validate, push), `schedule`, `curation` (curate, rejected, report), `finetune`, `evaluate`
(eval), `judging` (judge-check); `app` holds the Typer app and the run config a command
builds from its file and flags.
"""

from __future__ import annotations

import errno
import sys

import typer

from datagen.cli import (  # noqa: F401  (registers)
    curation,
    evaluate,
    exports,
    finetune,
    judging,
    runs,
    schedule,
    seeds,
)
from datagen.cli.app import INTERRUPTED, app
from datagen.cli.runs import quiet_finalisers, run
from datagen.config import check_utf8
from datagen.config.files import shown
from datagen.console import console, error, json_error
from datagen.errors import DatagenError
from datagen.files import disk_full

__all__ = ["app", "main", "run"]


def os_failure(exc: OSError) -> tuple[str, str, int] | None:
    """An OSError that is the machine's answer, not a bug, as (message, fix, exit code): a
    full disk, a path too long or looping, a file or folder we may not write."""
    full = disk_full(exc)
    if full is not None:
        name = getattr(full, "filename", None)
        where = f"writing {name}" if name else "writing a file"
        return (f"no space left on the disk ({where}): "
                f"{getattr(full, 'strerror', None) or full}",
                "free space on that disk (or give --out on another one) and rerun the same "
                "command: what was written before is kept", 1)
    if not exc.filename:
        return None
    if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
        return (f"{exc.filename}: {exc.strerror}",
                "give a shorter path (or one without a symlink loop)", 2)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"{exc.filename}: {exc.strerror}",
                "check the permissions of that file or folder, or give another one", 1)
    return None


def wants_json(args: list[str]) -> bool:
    """`--json` among the options (before a `--`): errors are JSON objects on stdout too."""
    return "--json" in (args[:args.index("--")] if "--" in args else args)


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command, then exit with the code its outcome means. An
    error is one line and its fix (and with `--json`, one JSON object on stdout)."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = wants_json(args)
    failure: tuple[str, str | None] | None = None  # what went wrong, and its fix
    told = False  # printed already (a usage error prints itself)
    try:
        for arg in args:  # a name with bytes that are not UTF-8 fails here, not in a run
            check_utf8(arg, "argument")
        code = app(args=args, prog_name="datagen", standalone_mode=False)
    except DatagenError as exc:
        failure, code = (exc.message, exc.hint), exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        failure, code = ("interrupted", "rerun the same command to resume"), INTERRUPTED
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:  # a usage error: bad flag, missing argument
        exc.show()  # type: ignore[attr-defined]
        failure, told = (exc.format_message(), "see `datagen --help`"), True
        code = getattr(exc, "exit_code", 2)
    except UnicodeEncodeError as exc:
        if exc.reason != "surrogates not allowed":
            raise
        failure, code = (f"a name holds bytes that are not UTF-8: "
                         f"...{shown(exc.object[max(0, exc.start - 60):exc.end + 20])}...",
                         "rename the file or folder to a UTF-8 name (`mv` in a UTF-8 "
                         "terminal), then rerun"), 2
    except OSError as exc:
        known = os_failure(exc)
        if known is None:
            raise
        message, hint, code = known
        failure = (message, hint)
    if failure is not None and not told:
        if code == INTERRUPTED:
            console.print(f"[yellow]interrupted[/]: {failure[1]}")
        else:
            error(*failure)
    if failure is not None and as_json:
        json_error(code, *failure, outcome="interrupted" if code == INTERRUPTED else "error")
    if code == INTERRUPTED and argv is None:  # the process ends: no log from its finalisers
        quiet_finalisers(restore=False)
    sys.exit(code if isinstance(code, int) else 0)
