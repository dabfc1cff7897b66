"""Stages are handed to a fan-out as functions, never looked up by a name: the pipeline reads
and type-checks in one place (`datagen.run`), and the flow maps each stage function to its
Prefect task."""

from __future__ import annotations

import ast
import asyncio
from functools import partial
from pathlib import Path

import pytest

from datagen.run import stages
from datagen.run.fanout import LocalFanout

ROOT = Path(__file__).resolve().parents[2]
DISPATCHERS = ("call", "map")


def _fanout_calls(path: Path) -> list[ast.Call]:
    """Every `<something>fanout.call(...)` / `.map(...)` in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DISPATCHERS
                and "fanout" in ast.unparse(node.func.value).lower()):
            found.append(node)
    return found


def _stage_nodes(call: ast.Call) -> list[ast.expr]:
    """What stands where the stage goes: `call`'s first argument; for `map`, the function
    of each `partial(...)` in the list it is given (a list built earlier: its name)."""
    if not call.args:
        return []
    first = call.args[0]
    if call.func.attr == "call":  # type: ignore[attr-defined]
        return [first]
    items = [first.elt] if isinstance(first, ast.ListComp) else (
        list(first.elts) if isinstance(first, ast.List) else [first])
    return [i.args[0] if isinstance(i, ast.Call) and ast.unparse(i.func) == "partial"
            and i.args else i for i in items]


def test_every_fanout_dispatch_names_a_stage_function() -> None:
    files = sorted([*(ROOT / "datagen" / "run").glob("*.py"), *(ROOT / "flows").glob("*.py")])
    calls = {f"{p.relative_to(ROOT)}:{c.lineno}": c for p in files for c in _fanout_calls(p)}
    assert len(calls) >= 10  # the check sees the orchestrator's dispatches
    names = {f.__name__ for f in stages.STAGES}
    wrong = {where: ast.unparse(node) for where, c in calls.items()
             for node in _stage_nodes(c)
             if not (isinstance(node, ast.Name) and (node.id in names or node.id == "calls"))}
    assert wrong == {}, f"a stage not dispatched by its function: {wrong}"
    # the one list built ahead of its `map` holds partials of a stage function too
    built = [n for p in files for n in ast.walk(ast.parse(p.read_text()))
             if isinstance(n, ast.Call) and ast.unparse(n.func) == "partial"]
    assert built and all(isinstance(n.args[0], ast.Name) and n.args[0].id in names
                         for n in built), [ast.unparse(n) for n in built]


def test_the_local_fanout_refuses_a_stage_name() -> None:
    with pytest.raises(TypeError, match="stage functions"):
        asyncio.run(LocalFanout().call("curate"))  # type: ignore[arg-type]


def test_map_runs_partials_of_the_stage_with_their_keywords() -> None:
    async def double(x: int, *, times: int = 2) -> int:
        return x * times

    out = asyncio.run(LocalFanout().map([partial(double, 1), partial(double, 2, times=3)]))
    assert out == [2, 6]
