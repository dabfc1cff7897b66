"""Every curation check, found rather than listed: the built-ins are the modules of this
package that declare a `CHECK` (or `CHECKS`), and third-party checks are the objects named by
the `datagen.checks` entry point group of installed packages. From their declarations
(`datagen.checks.check.Check`) come the order a pass runs them in, the catalogue of drop
reasons with their funnel stages, and the `curation.<section>` models of the config.

Adding a built-in check is one module in this package (and its test); a package adds one with

    [project.entry-points."datagen.checks"]
    my_check = "my_package.my_module:CHECK"

Its settings live under `curation.<section>` (its own model, `extra="forbid"` like every
section), its reasons reach the ledger, the report and the reference pages, and it runs
after the built-ins unless it declares an `order`.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterable
from importlib.metadata import entry_points

from pydantic import BaseModel

import datagen.checks
from datagen.checks.check import Check
from datagen.reasons import MADE_BY_GENERATION

GROUP = "datagen.checks"


def _declared(module: object) -> tuple[Check, ...]:
    one = getattr(module, "CHECK", None)
    many = getattr(module, "CHECKS", ())
    return ((one,) if isinstance(one, Check) else ()) + tuple(
        c for c in many if isinstance(c, Check))


def builtin_checks() -> tuple[Check, ...]:
    """The checks declared by the modules of `datagen.checks`, every subpackage included."""
    found: list[Check] = []
    for info in sorted(pkgutil.walk_packages(datagen.checks.__path__, "datagen.checks."),
                       key=lambda i: i.name):
        if not info.ispkg:
            found += _declared(importlib.import_module(info.name))
    return tuple(found)


def plugin_checks() -> tuple[Check, ...]:
    """The checks installed packages declare through the `datagen.checks` entry points, in
    the order of the entry points' names."""
    found: list[Check] = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        loaded = point.load()
        checks = (loaded,) if isinstance(loaded, Check) else _declared(loaded)
        if not checks:
            raise TypeError(f"entry point {point.name!r} ({point.value}) in group {GROUP!r} "
                            "names no datagen.checks.check.Check")
        found += checks
    return tuple(found)


def ordered(builtin: tuple[Check, ...], plugins: tuple[Check, ...]) -> tuple[Check, ...]:
    """The pass's order: by declared `order`; a plugin without one after every built-in, in
    the order found. A name given twice is an error (`curation.skip` names checks)."""
    unordered = [c for c in builtin if c.order is None]
    if unordered:
        raise ValueError(f"built-in checks must declare an order: {[c.name for c in unordered]}")
    last = max((c.order for c in builtin if c.order is not None), default=0.0)
    keyed = [(c.order, k, c) for k, c in enumerate(builtin)] + [
        (c.order if c.order is not None else last + 1, len(builtin) + k, c)
        for k, c in enumerate(plugins)]
    out = tuple(c for _, _, c in sorted(keyed, key=lambda t: (t[0], t[1])))
    names = [c.name for c in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"two checks are named {twice}: a check's name must be its own")
    return out


def catalogue(checks: Iterable[Check]) -> dict[str, str]:
    """Every drop reason with its funnel stage: those generation makes, then each check's."""
    stages = dict(MADE_BY_GENERATION)
    for check in checks:
        for reason in check.reasons:
            known = stages.setdefault(str(reason), check.stage)
            if known != check.stage:
                raise ValueError(f"drop reason {reason!r} is counted under stage {known!r} "
                                 f"and, by check {check.name!r}, under {check.stage!r}")
    return stages


def config_sections(checks: Iterable[Check]) -> dict[str, type[BaseModel]]:
    """`curation.<section>` -> its model, from the checks that declare one; several checks
    may read one section, but only one model may define it."""
    checks = tuple(checks)
    sections: dict[str, type[BaseModel]] = {}
    for check in checks:
        if check.config is None or check.section is None:
            continue
        known = sections.setdefault(check.section, check.config)
        if known is not check.config:
            raise ValueError(f"curation.{check.section} is defined twice: by "
                             f"{known.__name__} and by check {check.name!r}")
    for check in checks:
        if check.section is not None and check.section not in sections:
            raise ValueError(f"check {check.name!r} reads curation.{check.section}, which no "
                             "check defines (declare its model as `config`)")
    return sections


CHECKS: tuple[Check, ...] = ordered(builtin_checks(), plugin_checks())
CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in CHECKS)
CHECK_REASONS: dict[str, tuple[str, ...]] = {c.name: tuple(c.reasons) for c in CHECKS}
REASON_STAGES: dict[str, str] = catalogue(CHECKS)
SECTIONS: dict[str, type[BaseModel]] = config_sections(CHECKS)


def check(name: str) -> Check:
    """The check called `name`."""
    return CHECKS[CHECK_NAMES.index(name)]


def stage_of(reason: str) -> str:
    """The funnel stage of a drop reason ("other" for a reason no installed check gives)."""
    return REASON_STAGES.get(str(reason), "other")


def stages() -> dict[str, tuple[str, ...]]:
    """Each funnel stage with its reasons, in the order of the catalogue."""
    out: dict[str, list[str]] = {}
    for reason, stage in REASON_STAGES.items():
        out.setdefault(stage, []).append(reason)
    return {stage: tuple(reasons) for stage, reasons in out.items()}


def check_skip(names: Iterable[str]) -> None:
    """ValueError unless every name in `curation.skip` is a check's: a misspelt name would
    otherwise skip nothing, silently. A drop reason names the check that drops for it, any
    other name the nearest check."""
    owners: dict[str, list[str]] = {}
    for name, reasons in CHECK_REASONS.items():
        for r in reasons:
            owners.setdefault(str(r), []).append(name)
    wrong = []
    for name in names:
        if name in CHECK_NAMES:
            continue
        if name in owners:
            checks = " or ".join(repr(c) for c in owners[name])
            wrong.append(f"{name!r} is a drop reason, not a check: skip {checks}")
            continue
        near = difflib.get_close_matches(str(name).lower().replace("-", "_").replace(" ", "_"),
                                         CHECK_NAMES, n=1, cutoff=0.6)
        wrong.append(f"{name!r} is no check: did you mean {near[0]!r}?" if near else
                     f"{name!r} is no check (checks: {', '.join(CHECK_NAMES)})")
    if wrong:
        raise ValueError("; ".join(wrong))
