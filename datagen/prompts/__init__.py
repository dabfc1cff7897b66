"""Prompt templates live as versioned text files next to this module."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def template(name: str) -> str:
    """The text of `<name>.txt`; the version is part of the name (`expand.v1`)."""
    return resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def render(name: str, **values: object) -> str:
    return template(name).format(**values).strip()
