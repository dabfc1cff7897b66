"""Run configuration: one pydantic model, loadable from YAML, also the Prefect flow's form.

    run.py        RunConfig and its LLM, generation, split, export, orchestration sections
    curation.py   the curation section, one sub-section per check (from the checks'
                  declarations)
    files.py      reading a config file, validating plain data, a flow run's parameters

Every section's base is `datagen.settings.Section` (`extra="forbid"`: a misspelt key fails by
name), outside this package so that a check's module can define its own section.
"""

from datagen.config.curation import CurationConfig
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
    "FLAGS", "ROLES", "PATH_KEYS", "CurationConfig", "ExportConfig",
    "FineTunePrice",
    "GenerationConfig", "LLMConfig",
    "LinksConfig", "ModelPrice", "OrchestrationConfig",
    "PreferenceConfig",
    "RolesConfig", "RunConfig", "SplitConfig",
    "check_utf8", "from_parameters", "load_config", "merge", "read_config_file",
    "resolve_paths", "validated",
]
