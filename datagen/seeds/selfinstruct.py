"""Self-Instruct / Alpaca `seed_tasks.jsonl` <-> our YAML seeds.

Each line is a task: `id`, `name`, `instruction`, `instances` [{`input`, `output`}],
`is_classification`. A file becomes one seed whose examples are the tasks (one example per
instance: an instance's input becomes the example's input context, its output the reference
response), generated with the `bootstrap` strategy at Self-Instruct's settings, since that is
what such a pool is for. The task id, name and classification flag stay on each example
(Self-Instruct writes outputs first for classification tasks), so `to_seed_tasks` gives the
original lines back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from datagen.errors import SeedError
from datagen.seeds.limits import check_seed_size
from datagen.seeds.schema import Example, SeedTask

TASK_FIELDS = ("id", "name", "instruction", "instances", "is_classification")
DEFAULT_TASK = ("Ask an assistant to do one new, self-contained text task of any kind: write, "
                "rewrite, explain, classify, extract, plan, compute or answer.")
DEFAULT_SYSTEM = "You are a helpful assistant. Answer the task accurately and concisely."


def _task_error(task: Any) -> str | None:
    """What is wrong with one task line, or None."""
    if not isinstance(task, dict):
        return f"a task is a JSON object with the fields {list(TASK_FIELDS)}, got " \
               f"{type(task).__name__}"
    missing = [f for f in ("instruction", "instances") if f not in task]
    if missing:
        return f"a task needs the fields {missing}"
    if not isinstance(task["instruction"], str) or not task["instruction"].strip():
        return "field `instruction` must be a non-empty string"
    instances = task["instances"]
    if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
        return "field `instances` must be a list of {\"input\": ..., \"output\": ...} objects"
    for inst in instances:
        for key in ("input", "output"):
            if inst.get(key) is not None and not isinstance(inst[key], str):
                return f"field `instances[].{key}` must be a string"
    if not isinstance(task.get("is_classification", False), bool):
        return "field `is_classification` must be true or false"
    return None


def read_tasks(path: str | Path) -> list[dict[str, Any]]:
    """The task lines of a seed_tasks.jsonl; errors name the file, the line and the fix."""
    path = Path(path)
    if not path.is_file():
        raise SeedError(f"{path}: no such file", hint="check the path of the seed_tasks.jsonl")
    check_seed_size(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise SeedError(f"{path}:{line}: not UTF-8 text", hint="save the file as UTF-8") from None
    tasks = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            task = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
            raise SeedError(f"{path}:{no}: not valid JSON ({msg})",
                            hint="one JSON object per line") from None
        if (error := _task_error(task)) is not None:
            raise SeedError(f"{path}:{no}: {error}",
                            hint="use the Self-Instruct seed_tasks.jsonl format")
        tasks.append(task)
    if not tasks:
        raise SeedError(f"{path}: no tasks", hint="one JSON task per line")
    return tasks


def _seed_id(path: Path) -> str:
    return re.sub(r"[^a-z0-9_\-]+", "-", path.stem.lower()).strip("-_") or "imported"


def import_tasks(path: str | Path, *, seed_id: str | None = None, domain: str = "general",
                 language: str = "en", pairs: int = 100) -> SeedTask:
    """One seed from a seed_tasks.jsonl file."""
    path = Path(path)
    examples = []
    for no, task in enumerate(read_tasks(path), 1):
        instances = task.get("instances") or [{"input": "", "output": ""}]
        for inst in instances:
            try:
                examples.append(Example(
                    instruction=task["instruction"].strip(),
                    input=(inst.get("input") or "").strip() or None,
                    response=(inst.get("output") or "").strip() or None,
                    task_id=str(task.get("id", f"seed_task_{no - 1}")),
                    name=task.get("name"),
                    is_classification=bool(task.get("is_classification", False)),
                ))
            except ValidationError as exc:
                raise SeedError(f"{path}: task {no}: {_first(exc)}",
                                hint="fix the task, or leave it out of the file") from None
    try:
        return SeedTask(
            id=seed_id or _seed_id(path), domain=domain,
            description=f"Tasks bootstrapped from the {len(examples)} examples of {path.name}.",
            system=DEFAULT_SYSTEM, task=DEFAULT_TASK, examples=examples, language=language,
            pairs=pairs, strategies={"bootstrap": {}},
        )
    except ValidationError as exc:
        raise SeedError(f"{path}: cannot make a seed: {_first(exc)}") from None


def _first(exc: ValidationError) -> str:
    """The first error of a validation, with the field it is about."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"field `{field}`: {err['msg']}"


def to_seed_tasks(seed: SeedTask) -> list[dict[str, Any]]:
    """Back to seed_tasks lines: examples grouped by task id, in order."""
    tasks: dict[str, dict[str, Any]] = {}
    for i, ex in enumerate(seed.examples):
        tid = ex.task_id or f"seed_task_{i}"
        task = tasks.setdefault(tid, {"id": tid, "name": ex.name, "instruction": ex.instruction,
                                      "instances": [], "is_classification": ex.is_classification})
        task["instances"].append({"input": ex.input or "", "output": ex.response or ""})
    return list(tasks.values())


def seed_yaml(seed: SeedTask) -> str:
    """The seed as YAML, without defaults that add nothing (None fields, False flags)."""
    data = seed.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    data["examples"] = [{k: v for k, v in ex.items() if v not in (None, False)}
                        for ex in data["examples"]]
    data["strategies"] = {k: v for k, v in data["strategies"].items() if v is not None}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
