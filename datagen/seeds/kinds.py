"""What a seed may ask of the shape of its data beyond a single instruction/answer pair:
tools the assistant may call (`tools:`, OpenAI's function form), a JSON schema its answers
must follow (`output_schema:`), and conversations of several turns (`turns:`).

Everything here is checked when the seed is read, before any call: a JSON schema with
`jsonschema`'s own meta-schema check, a tool result callable by importing it (and, when the
tool gives example arguments, by calling it once). A wrong one fails the seed with its field.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datagen.seeds.limits import SHORT_CHARS, TEXT_CHARS

TOOL_NAME = r"^[a-zA-Z0-9_\-]{1,64}$"  # OpenAI's rule for a function name
MAX_TOOLS = 32
PREFLIGHT_TIMEOUT_S = 10.0


def check_schema(value: Any) -> dict[str, Any]:
    """A JSON schema as a dict, or ValueError saying what is wrong with it."""
    if not isinstance(value, dict):
        raise ValueError(f"a JSON schema is a mapping, got {type(value).__name__}")
    try:
        jsonschema.validators.validator_for(value).check_schema(value)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top)"
        raise ValueError(f"not a valid JSON schema at {where}: {exc.message}") from None
    return value


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """The validator of a schema already checked by `check_schema`."""
    return jsonschema.validators.validator_for(schema)(schema)


def schema_errors(schema: dict[str, Any], value: Any) -> list[tuple[str, str]]:
    """(field path, message) of each way `value` breaks `schema`; [] when it validates. The
    path of a missing required field names the field itself."""
    out = []
    for err in validator(schema).iter_errors(value):
        path = [str(p) for p in err.absolute_path]
        if err.validator == "required" and isinstance(err.validator_value, list):
            missing = [f for f in err.validator_value
                       if isinstance(err.instance, dict) and f not in err.instance]
            path += missing[:1]
        out.append(("/" + "/".join(path), err.message[:200]))
    return out


def load_callable(spec: str) -> Callable[..., Any]:
    """`module:function` as the function, or ValueError naming what failed."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"{spec!r} is not `module:function`")
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # an import runs the module's code: anything can fail
        raise ValueError(f"cannot import module {module!r} ({type(exc).__name__}: {exc}); "
                         "make it importable from the working folder or PYTHONPATH") from None
    func = getattr(mod, name, None)
    if not callable(func):
        raise ValueError(f"module {module!r} has no function {name!r}")
    return func


def call_with_timeout(func: Callable[..., Any], arguments: dict[str, Any],
                      timeout_s: float) -> Future[Any]:
    """Run `func(**arguments)` on a daemon thread: a hung callable is abandoned after its
    timeout instead of holding the run (or the interpreter's exit) forever."""
    fut: Future[Any] = Future()

    def run() -> None:
        try:
            value = func(**arguments)
        except BaseException as exc:  # handed to the waiter, who records it
            with contextlib.suppress(InvalidStateError):  # the waiter gave up on it
                fut.set_exception(exc)
            return
        with contextlib.suppress(InvalidStateError):
            fut.set_result(value)

    threading.Thread(target=run, daemon=True, name="datagen-tool").start()
    return fut


def result_text(value: Any) -> str:
    """A tool's result as the `content` of its `tool` message: text as is, else JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           sort_keys=True, default=str)


class Function(BaseModel):
    """OpenAI's function definition."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOOL_NAME)
    description: str = Field(default="", max_length=TEXT_CHARS)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object",
                                                                "properties": {}})
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _valid_parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_schema(value)
        if value.get("type") != "object":
            raise ValueError("a function's parameters are an object schema "
                             '(`type: object` with `properties`)')
        return value


class ToolExample(BaseModel):
    """A call of the tool and the result it gives: shown to the tool-playing model and used
    as the result of a call with the same arguments (or, with no callable, of any call)."""

    model_config = ConfigDict(extra="forbid")

    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any


class Tool(BaseModel):
    """A tool in OpenAI's form, with where its results come from: `call` (a Python
    `module:function` taking the arguments as keywords), else `examples`, else the model
    playing the tool (within `result_schema` when given)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(default="function", pattern="^function$")
    function: Function
    examples: list[ToolExample] = Field(default_factory=list, max_length=50)
    call: str | None = Field(default=None, max_length=SHORT_CHARS,
                             description="`module:function` that computes a result.")
    result_schema: dict[str, Any] | None = None

    @field_validator("result_schema")
    @classmethod
    def _valid_result_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else check_schema(value)

    @model_validator(mode="after")
    def _examples_fit(self) -> Tool:
        for i, ex in enumerate(self.examples):
            errors = schema_errors(self.function.parameters, ex.arguments)
            if errors:
                raise ValueError(f"examples[{i}].arguments break the parameters schema at "
                                 f"{errors[0][0]}: {errors[0][1]}")
        if self.call:
            func = load_callable(self.call)
            for ex in self.examples[:1]:  # one call before any paid one: it must not raise
                try:
                    call_with_timeout(func, ex.arguments, PREFLIGHT_TIMEOUT_S).result(
                        PREFLIGHT_TIMEOUT_S)
                except TimeoutError:
                    raise ValueError(f"{self.call} did not return within "
                                     f"{PREFLIGHT_TIMEOUT_S:g} s for examples[0]") from None
                except Exception as exc:
                    raise ValueError(f"{self.call} raised {type(exc).__name__}: {exc} for "
                                     "examples[0].arguments; fix the function") from None
        return self

    @property
    def name(self) -> str:
        return self.function.name

    def openai(self) -> dict[str, Any]:
        """The definition as OpenAI takes it (and as the export writes it)."""
        return {"type": "function",
                "function": self.function.model_dump(exclude_none=True)}


def unique_tool_names(tools: list[Tool]) -> list[Tool]:
    names = [t.name for t in tools]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"tool names must be unique: {', '.join(dup)} repeat")
    return tools
