"""The run config: `RunConfig` and its sections for the LLM, generation, split, export and
orchestration (curation's sections are in `curation.py`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from datagen.config.curation import CurationConfig
from datagen.secrets import KEY_ENV, has_secret, parse_url, redact_url
from datagen.settings import Section


class ModelPrice(Section):
    """What a model costs, in USD per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class LLMConfig(Section):
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
    adaptive_concurrency: bool = Field(
        default=True,
        description="Halve the requests in flight on 429/5xx and widen them again as answers "
        "come (AIMD), up to max_concurrency.",
    )
    transport: Literal["aiohttp", "httpx"] = Field(
        default="aiohttp", description="The openai SDK's HTTP transport (aiohttp is faster)."
    )
    timeout_s: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    max_answer_bytes: int = Field(
        default=4 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024,
        description="Largest answer body read from the endpoint; a larger one is cut off "
        "while it is read and fails that call as `oversize` (not retried, not cached).",
    )
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


ROLES = ("expand", "respond", "follow_up", "judge", "topics", "personas", "evolve")
"""The stages that call a model. `expand` makes instructions, `respond` answers them,
`follow_up` asks and answers the second turn of a multi-turn seed's pairs, `judge` scores
pairs; `topics` grows a seed's topic tree, `personas` writes its personas and `evolve`
rewrites kept instructions (the generation strategies' own calls, part of expand's stage)."""
STRATEGY_ROLES = ("topics", "personas", "evolve")
"""Roles that, left unset, call the expand role's model (they were part of expand)."""
DEFAULT_MODEL = "llm"  # the name a role without its own model uses: the `llm:` section


class RolesConfig(Section):
    """Which model of `models:` each stage calls; a role left unset uses `llm:`."""

    expand: str | None = Field(default=None, description="Model that makes instructions.")
    topics: str | None = Field(
        default=None, description="Model that grows topic trees (unset: expand's).")
    personas: str | None = Field(
        default=None, description="Model that writes personas (unset: expand's).")
    evolve: str | None = Field(
        default=None, description="Model that rewrites instructions (unset: expand's).")
    respond: str | None = Field(default=None, description="Model that answers them.")
    follow_up: str | None = Field(
        default=None, description="Model that asks and answers multi-turn seeds' second turn.")
    judge: str | None = Field(
        default=None, description="Model that scores pairs; naming a non-embedded model turns "
        "the judge on (curation.judge.enabled: auto).")

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: object) -> object:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in ROLES)
            if unknown:
                raise ValueError(f"unknown role {', '.join(unknown)}: the roles are "
                                 f"{', '.join(ROLES)}")
        return data

    def named(self, role: str) -> str | None:
        """The model `role` names: its own, or for a strategy's role the expand role's (so
        a config without it calls what it called before); None for `llm:`."""
        own = getattr(self, role)
        return own if own or role not in STRATEGY_ROLES else self.expand


class GenerationConfig(Section):
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


class SplitConfig(Section):
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


class FineTunePrice(Section):
    """What OpenAI charges to train on a model, and its per-example token limit."""

    usd_per_1m_tokens: float = Field(ge=0, description="Training price per million tokens.")
    context_limit: int = Field(ge=1, description="Longest training example, in tokens.")


class ExportConfig(Section):
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


class LinksConfig(Section):
    """A folder that is served over HTTP or synced to object storage, and its URL: artifacts
    link to run folders and datasets under it (elsewhere they show the path as text)."""

    root: str = Field(description="The local folder, e.g. /srv/datagen.")
    url: str = Field(pattern=r"^(https?|s3|gs)://",
                     description="Where `root` is seen, e.g. https://files.example.com/datagen.")


class OrchestrationConfig(Section):
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


class PreferenceConfig(Section):
    """Preference (DPO) pairs: several answers per instruction, scored by the judge; the best
    and a worse one form a pair when their scores differ by at least `margin`."""

    candidates: int = Field(
        default=2, description="Answers asked per instruction (>= 2); each is a record.")
    margin: float = Field(
        default=1.0, allow_inf_nan=False,
        description="Least judge-score difference (on its 1-10 scale) between the chosen and "
                    "the rejected answer.")
    temperature_step: float = Field(
        default=0.25, ge=0, le=1,
        description="Each further candidate is asked at this much more temperature (at most 2).")

    @field_validator("candidates")
    @classmethod
    def _candidates(cls, value: int) -> int:
        if not 2 <= value <= 16:
            raise ValueError(f"{value} answers make no pair: ask for 2 to 16 candidates per "
                             "instruction")
        return value

    @field_validator("margin")
    @classmethod
    def _margin(cls, value: float) -> float:
        if not 0 < value <= 9:
            raise ValueError(f"{value} is outside the judge's scale: scores run 1-10, so a "
                             "margin lies in (0, 9]")
        return value


class RunConfig(Section):
    """Everything a run needs. Saved resolved into the run folder."""

    seeds: list[str] = Field(default_factory=list, description="Seed files or folders.")
    source_roots: list[str] = Field(
        default_factory=list,
        description="Folders grounded seeds may read sources from, beside each seed's own "
        "folder (never /proc, /sys or /dev).")
    out: str = Field(default="outputs/run", description="The run folder.")
    pairs: int | None = Field(default=None, ge=1, le=1_000_000,  # a seed's own bound
                              description="Override every seed's `pairs`.")
    seed: int = Field(default=0, description="Random seed: sampling, split, language detection.")
    llm: LLMConfig = Field(
        default_factory=LLMConfig,
        description="The model of every role that `roles:` does not give another; its "
        "max_cost_usd and max_failed_share hold for the whole run.")
    models: dict[str, LLMConfig] = Field(
        default_factory=dict,
        description="Named endpoints (the keys of `llm:` each) that `roles:` gives to stages.")
    roles: RolesConfig = Field(default_factory=RolesConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    curation: CurationConfig = Field(default_factory=CurationConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    preference: PreferenceConfig | None = Field(
        default=None, description="Preference (DPO) pairs besides the SFT pairs; unset: none.")
    allow_empty: bool = Field(
        default=False, description="A run that keeps no pair ends well (exit 0), not exit 7.")
    allow_short: bool = Field(
        default=False, description="A run short of its target ends well (exit 0), not exit 8.")
    append_to: str | None = Field(
        default=None,
        description="A published dataset folder: new pairs are deduplicated against it and "
        "appended; existing records keep their split.",
    )

    @field_validator("models")
    @classmethod
    def _models(cls, value: dict[str, LLMConfig]) -> dict[str, LLMConfig]:
        for name, model in value.items():
            if name == DEFAULT_MODEL:
                raise ValueError(f"{name!r} names the `llm:` section: give this model "
                                 "another name, or set its keys under `llm:`")
            for run_wide in ("max_cost_usd", "max_failed_share", "batch"):
                if getattr(model, run_wide) != LLMConfig.model_fields[run_wide].default:
                    raise ValueError(
                        f"{name}.{run_wide} holds for the whole run, every role together: "
                        f"set llm.{run_wide} instead")
        return value

    @field_validator("roles")
    @classmethod
    def _roles_named(cls, roles: RolesConfig, info: ValidationInfo) -> RolesConfig:
        models = info.data.get("models") or {}
        for role in ROLES:
            name = getattr(roles, role)
            if name is not None and name != DEFAULT_MODEL and name not in models:
                declared = ", ".join(sorted(models)) or "none"
                raise ValueError(
                    f"roles.{role} names model {name!r}, which `models:` does not declare "
                    f"(declared: {declared}); add `models: {{{name}: {{base_url: ..., model: "
                    f"...}}}}` or name a declared one")
        return roles

    def model_name(self, role: str) -> str:
        """The name of the model `role` calls (`llm` for the `llm:` section)."""
        return self.roles.named(role) or DEFAULT_MODEL

    def llm_for(self, role: str) -> LLMConfig:
        """The endpoint section `role` calls, with the run's budget and batch mode (which
        cover every role together)."""
        name = self.model_name(role)
        if name == DEFAULT_MODEL:
            return self.llm
        return self.models[name].model_copy(update={
            "max_cost_usd": self.llm.max_cost_usd, "max_failed_share": self.llm.max_failed_share,
            "batch": self.llm.batch})
