"""How Prefect's logs read for a datagen run: expected errors as one line, progress at INFO."""

from __future__ import annotations

import logging

# The loggers through which Prefect reports an exception that ends a task or flow run.
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class ExpectedErrors(logging.Filter):
    """Prefect logs an exception that ends a task or flow run with its traceback. datagen's
    own errors (`DatagenError`: a busy folder, an endpoint refusing the key, ...) and a full
    disk are expected outcomes whose message says what to do: their records keep the line
    (in the terminal and the flow run's logs in the UI) and drop the traceback. Any other
    exception keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        from datagen.errors import DatagenError
        from datagen.files import disk_full

        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        if exc is not None and (isinstance(exc, DatagenError) or disk_full(exc)):
            record.exc_info = None
            record.exc_text = None
        return True


def no_tracebacks_for_expected_errors() -> None:
    """Put `ExpectedErrors` on Prefect's run loggers (once; a flow module calls it on load,
    so served deployments and `datagen run` alike log expected errors without a traceback)."""
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedErrors) for f in logger.filters):
            logger.addFilter(ExpectedErrors())


def progress_to_run_logs() -> None:
    """Prefect hands its handlers to the `datagen` logger (PREFECT_LOGGING_EXTRA_LOGGERS, set
    in `flows/__init__`) but not a level: without INFO, the progress lines off a terminal
    would stop at the root logger's WARNING."""
    logger = logging.getLogger("datagen")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
