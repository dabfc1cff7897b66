"""datagen: seed tasks in, a clean fine-tuning corpus out."""

__version__ = "0.1.0"
