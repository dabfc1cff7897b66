"""Seed tasks: the schema (`schema.py`), reading and checking seed files (`load.py`), and the
Self-Instruct / Alpaca `seed_tasks.jsonl` round trip (`selfinstruct.py`)."""

from datagen.seeds.load import load_seed, load_seeds, seed_files
from datagen.seeds.schema import (
    BootstrapStrategy,
    EvolveStrategy,
    Example,
    PersonasStrategy,
    PlainStrategy,
    Sampling,
    SeedTask,
    Strategies,
    TopicsStrategy,
    supported_languages,
)

__all__ = [
    "BootstrapStrategy", "EvolveStrategy", "Example", "PersonasStrategy", "PlainStrategy",
    "Sampling", "SeedTask", "Strategies", "TopicsStrategy", "load_seed", "load_seeds",
    "seed_files", "supported_languages",
]
