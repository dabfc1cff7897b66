"""A run config from where it is written: a YAML file (its relative paths relative to it),
plain data with errors that name the key and its flag, and a flow run's layered parameters.
Text that is not UTF-8 (a file name from another system) is refused here by name: JSON,
HTTP and the run folder's files cannot carry it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from datagen.config.run import RunConfig
from datagen.errors import ConfigError
from datagen.files import parse_yaml

FLAGS = {"pairs": "--pairs", "out": "--out", "seed": "--seed", "llm.model": "--model",
         "llm.base_url": "--base-url", "llm.max_cost_usd": "--max-cost-usd",
         "llm.batch": "--batch", "append_to": "--append-to",
         "models.judge.base_url": "--judge-base-url", "models.judge.model": "--judge-model"}


def shown(text: str) -> str:
    """`text` printable whatever it holds: bytes that are not UTF-8 as `\\xff` escapes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no byte made
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_utf8(text: str, what: str) -> None:
    """A ConfigError for text with bytes that are not UTF-8 (Python reads such a file name
    as surrogate escapes), or with a NUL byte: it would fail deep inside a run, in JSON, HTTP
    or a file write."""
    if "\x00" in text:  # no file name or URL holds one; os and sqlite refuse it mid-run
        raise ConfigError(f"{what} {shown(text)}: holds a NUL byte (\\0)",
                          hint="remove it: no file name, URL or model name holds one")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{what} {shown(text)}: holds bytes that are not UTF-8",
                          hint="rename the file or folder to a UTF-8 name (`mv` in a UTF-8 "
                               "terminal) and use the new name") from None


def _check_text(value: Any, key: str, source: str) -> None:
    if isinstance(value, str):
        flag = f" (flag {FLAGS[key]})" if key in FLAGS else ""
        check_utf8(value, f"{source}: key `{key}`{flag}:")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(v, f"{key}.{k}" if key else str(k), source)
    elif isinstance(value, list):
        for v in value:
            _check_text(v, key, source)


def validated(data: Any, source: str) -> RunConfig:
    """A RunConfig from plain data; a ConfigError naming each bad key (and its flag)."""
    _check_text(data, "", source)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: invalid run config"]
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            flag = f" (flag {FLAGS[key]})" if key in FLAGS else ""
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  key `{key}`{flag}: {msg}")
        raise ConfigError("\n".join(lines), hint="see the manual's run config reference "
                          "(docs/reference/config.md in `mkdocs serve`) for the keys, or "
                          "`datagen run --help` for the flags") from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a run config YAML file; errors name the file."""
    path = Path(path)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file", hint="check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file",
                          hint="pass the YAML file itself") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text", hint="save the config as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}",
                          hint="check the file's permissions") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", hint="fix the YAML syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a run config holds one mapping of keys, got "
                          f"{type(data).__name__}", hint="start the file with keys such as "
                          "`seeds:` and `pairs:`")
    _check_text(data, "", str(path))  # before its paths are resolved against the disk
    return data


# Keys that hold paths: relative ones in a config file mean "next to this file".
PATH_KEYS = (("seeds",), ("out",), ("append_to",), ("curation", "references", "sets"),
             ("curation", "references", "eval_sets"), ("source_roots",))


def resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """`data` with every relative path under PATH_KEYS made absolute against `base`."""
    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            return str((base / value).resolve())
        if isinstance(value, str):
            return str(Path(value).expanduser())
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    out = copy.deepcopy(data)
    for key in PATH_KEYS:
        node = out
        for part in key[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(key[-1]) is not None:
            node[key[-1]] = fix(node[key[-1]])
    return out


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` merged into `base` key by key (sections merge, other values replace)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path) -> RunConfig:
    """Read a run config YAML; errors name the file and the key. Relative paths in it
    (seeds, out, append_to, reference and eval sets) are relative to the file's folder."""
    return validated(resolve_paths(read_config_file(path), Path(path).resolve().parent),
                     str(path))


def from_parameters(config: RunConfig | dict[str, Any] | None = None, *,
                    config_file: str | None = None, overrides: dict[str, Any] | None = None,
                    **top: Any) -> RunConfig:
    """The run config of a flow run from its parameters, each layer over the last: the
    config file (paths relative to it), the inline `config` (given as a whole), `overrides`
    (merged key by key: `{"llm": {"model": "m"}}` changes only the model), then the
    top-level values an operator changes one at a time (`seeds`, `pairs`, `out`,
    `append_to`) where given, their relative paths against the working directory."""
    data: dict[str, Any] = {}
    source = "flow parameters"
    if config_file:
        data = resolve_paths(read_config_file(config_file), Path(config_file).resolve().parent)
        source = f"{config_file} with the flow parameters"
    if config is not None:
        inline = config.model_dump(mode="json", exclude_unset=True) \
            if isinstance(config, RunConfig) else dict(config)
        data = merge(data, inline)
    data = merge(data, overrides or {})
    # relative top-level paths: against the run's working directory (a deployment's pull step)
    data.update(resolve_paths({k: v for k, v in top.items() if v is not None}, Path.cwd()))
    return validated(data, source)
