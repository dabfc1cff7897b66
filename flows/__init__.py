"""Prefect flows over datagen's stages. No logic lives here: see `datagen.pipeline`."""
