"""The `curation` section: `skip` and `workers`, and one sub-section per check that has
settings, taken from the checks' declarations (`datagen.checks.registry`): a check's module
holds its section's model, so adding a check with settings edits no file here."""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model, field_validator

from datagen.checks.registry import SECTIONS, check_skip
from datagen.settings import Section


class CurationBase(Section):
    """Curation: one section per check (docs/concepts/curation.md); `skip` turns checks off."""

    skip: list[str] = Field(default_factory=list,
                            description="Names of checks not to run (e.g. [repetition]).")
    workers: int | None = Field(
        default=None, ge=1, le=256,
        description="Processes for the record-local checks of a pass over 10,000+ records "
                    "(default: one per CPU; 1: none).")

    @field_validator("skip")
    @classmethod
    def _known_checks(cls, names: list[str]) -> list[str]:
        """Each name is a check's, checked when the config is read, not at the end of a
        paid run."""
        check_skip(names)
        return names


def _section(model: type[Any]) -> Any:
    return (model, Field(default_factory=model))


# Curation: one section per check (docs/concepts/curation.md); `skip` turns checks off.
CurationConfig = create_model(  # type: ignore[call-overload]
    "CurationConfig", __base__=CurationBase, __module__=__name__,
    __doc__=CurationBase.__doc__,
    **{name: _section(model) for name, model in SECTIONS.items()})
