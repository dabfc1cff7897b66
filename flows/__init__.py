"""Prefect flows over datagen's run: `generate_dataset` (the run with Prefect as its fan-out),
`schedule` (serving it on a cron), `artifacts` (what a run shows in the UI), `caching` (stage
results for resume), `logs` and `run_options` (a flow run's config, task runner and name). The
run itself is `datagen.run`."""

import os

# datagen's progress lines (the `datagen.progress` logger) reach the flow run's logs
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "datagen")
# ... and the same logger used outside a flow run (the library path) is not an error
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
