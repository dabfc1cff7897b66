"""The base of every config section: `extra="forbid"`, so a misspelt key fails with its name
instead of being ignored. It sits outside `datagen.config`, which assembles the curation
section from the checks' own models: a check defines its section without importing the
config it becomes part of."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
