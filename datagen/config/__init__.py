"""Run configuration: one pydantic model, loadable from YAML, also the Prefect flow's form.

    run.py        RunConfig and its LLM, generation, split, export, orchestration sections
    curation.py   the curation section, one sub-section per check
    files.py      reading a config file, validating plain data, a flow run's parameters
    section.py    the base of every section (`extra="forbid"`: a misspelt key fails by name)
"""

from datagen.config.curation import (
    CurationConfig,
    DedupConfig,
    FaithfulnessConfig,
    JudgeConfig,
    KeywordsConfig,
    LanguageConfig,
    LengthConfig,
    PIIConfig,
    PlaceholderConfig,
    ReferencesConfig,
    RepetitionConfig,
)
from datagen.config.files import (
    FLAGS,
    PATH_KEYS,
    check_utf8,
    from_parameters,
    load_config,
    merge,
    read_config_file,
    resolve_paths,
    validated,
)
from datagen.config.run import (
    ROLES,
    ExportConfig,
    FineTunePrice,
    GenerationConfig,
    LinksConfig,
    LLMConfig,
    ModelPrice,
    OrchestrationConfig,
    PreferenceConfig,
    RolesConfig,
    RunConfig,
    SplitConfig,
)

__all__ = [
    "FLAGS", "ROLES", "PATH_KEYS", "CurationConfig", "DedupConfig", "ExportConfig",
    "FaithfulnessConfig", "FineTunePrice",
    "GenerationConfig", "JudgeConfig", "KeywordsConfig", "LLMConfig", "LanguageConfig",
    "LengthConfig", "LinksConfig", "ModelPrice", "OrchestrationConfig", "PIIConfig",
    "PlaceholderConfig", "PreferenceConfig", "ReferencesConfig", "RepetitionConfig",
    "RolesConfig", "RunConfig", "SplitConfig",
    "check_utf8", "from_parameters", "load_config", "merge", "read_config_file",
    "resolve_paths", "validated",
]
