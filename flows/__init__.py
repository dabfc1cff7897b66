"""Prefect flows over datagen's run: `generate_dataset` (the run with Prefect as its fan-out),
`schedule` (serving it on a cron), `artifacts` and `prefect_bits` (Prefect-only pieces). The
run itself is `datagen.run`."""
