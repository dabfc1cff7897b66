"""Errors a user can act on.

    DatagenError            every error datagen raises on purpose; the CLI prints it, exit 1
    ├── SeedError           a seed file is malformed (names the file, the field and the fix)
    ├── ConfigError         a run config or a flag is wrong
    ├── EndpointError       the LLM endpoint cannot be used (unreachable, bad key, bad model)
    ├── BudgetExceeded      the run stopped before spending past max_cost_usd
    └── ExportError         an export is invalid (format errors in a JSONL file, ...)

Messages say what to do. They never contain API keys or tokens.
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
    """A run config or command-line value cannot be used."""

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


def _rebuild(cls: type[DatagenError], message: str, hint: str | None) -> DatagenError:
    return cls(message, hint=hint)
