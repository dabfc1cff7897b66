"""Errors a user can act on.

    DatagenError            every error datagen raises on purpose; the CLI prints it, exit 1
    ├── SeedError           a seed file is malformed (names the file, the field and the fix)  2
    ├── ConfigError         a run config, a flag or an input file is wrong                    2
    ├── EndpointError       the LLM endpoint cannot be used (unreachable, bad key, model)     3
    ├── BudgetExceeded      one request would pass max_cost_usd (stages turn it into a stop)  4
    ├── ExportError         an export is invalid (format errors in a JSONL file, ...)         5
    ├── FolderBusy          another datagen process holds the run folder's lock               9
    ├── FineTuneFailed      a fine-tuning job failed, was cancelled or expired               10
    └── ScoreFailed         a judge or an eval could not score anything (no default number)  11

How a run ended (budget, failed calls, nothing kept, short of target) is not an exception
but a field of `datagen.run.RunResult`; `datagen.cli.main` turns both into the exit codes
listed in docs/reference/exit-codes.md, in one place. Messages say what to do. They
never contain API keys, tokens or passwords.
"""

from __future__ import annotations


class DatagenError(Exception):
    """Base of every error that datagen raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  fix: {hint}")

    def __reduce__(self):  # keep the hint across pickling (Prefect, Dask)
        return (_rebuild, (type(self), self.message, self.hint))


class SeedError(DatagenError):
    """A seed file cannot be used."""

    exit_code = 2


class ConfigError(DatagenError):
    """A run config, a command-line value or an input file cannot be used."""

    exit_code = 2


class EndpointError(DatagenError):
    """The LLM endpoint cannot be reached or refuses us."""

    exit_code = 3


class BudgetExceeded(DatagenError):
    """Spending would pass the configured cap; everything done so far is kept."""

    exit_code = 4


class ExportError(DatagenError):
    """An exported file does not pass its checks."""

    exit_code = 5


class FolderBusy(DatagenError):
    """Another datagen process is working in this folder."""

    exit_code = 9


class FineTuneFailed(DatagenError):
    """A fine-tuning job ended without a model; the run's data and job record are kept."""

    exit_code = 10


class ScoreFailed(DatagenError):
    """A judge or an eval could not compute the score it was asked for (every call failed,
    or no reply said what it was asked): an error, never a default number such as a 0.5 win
    rate. The answers already paid for are kept."""

    exit_code = 11


def _rebuild(cls: type[DatagenError], message: str, hint: str | None) -> DatagenError:
    return cls(message, hint=hint)
