"""The `datagen` command. Every outcome and every error becomes an exit code here, once
(`main`), as listed in the README:

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
from datagen.console import console, error
from datagen.errors import DatagenError

__all__ = ["app", "main", "run"]


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command, then exit with the code its outcome means."""
    try:
        code = app(args=argv, prog_name="datagen", standalone_mode=False)
    except DatagenError as exc:
        error(exc.message, exc.hint)
        code = exc.exit_code
    except typer.Abort:
        console.print("[yellow]interrupted[/]")
        code = INTERRUPTED
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:  # a usage error: bad flag, missing argument
        exc.show()  # type: ignore[attr-defined]
        code = getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: rerun the same command to resume")
        code = INTERRUPTED
    if code == INTERRUPTED and argv is None:  # the process ends: no log from its finalisers
        quiet_finalisers(restore=False)
    sys.exit(code if isinstance(code, int) else 0)
