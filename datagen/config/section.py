"""The base of every config section: `extra="forbid"`, so a misspelt key fails with its name
instead of being ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
