"""The training data of a run folder: its exported splits, config and manifest.

Fine-tuning and evaluation start here, so a folder that cannot be trained on (not a run, not
exported, no validation split) is refused once, with the fix, before anything is uploaded,
trained or paid for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagen.config import RunConfig, validated
from datagen.errors import ConfigError
from datagen.files import read_json, write_json
from datagen.run.folder import RunFolder, is_run_folder

NO_VALIDATION_FIX = ("give the run a validation split: set split.validation (e.g. 0.2) or "
                     "split.min_validation in the run config and rerun `datagen run` with it "
                     "(answers already paid for come from the run's cache)")


@dataclass
class TrainingData:
    """Paths and settings of one run folder's current export."""

    folder: RunFolder
    config: RunConfig
    manifest: dict[str, Any]

    @property
    def root(self) -> Path:
        """Where fine-tuning state lives: beside the generations, so a re-curation that writes
        a new export keeps the job ids and adapters already paid for."""
        return self.folder.root / "finetune"

    @property
    def train(self) -> Path:
        return self.folder.openai / "train.jsonl"

    @property
    def validation(self) -> Path:
        return self.folder.openai / "validation.jsonl"

    @property
    def preference_train(self) -> Path:
        return self.folder.openai / "preference_train.jsonl"

    @property
    def preference_validation(self) -> Path:
        return self.folder.openai / "preference_validation.jsonl"

    def files(self, method: str = "sft") -> tuple[Path, Path]:
        """The (train, validation) files a method trains on: the SFT splits, or for `dpo`
        the preference pairs; a ConfigError before anything is called when a DPO run has
        none."""
        if method != "dpo":
            return self.train, self.validation
        if count_lines(self.preference_train) == 0:
            raise ConfigError(
                f"{self.folder.root}: no preference pairs to train DPO on "
                f"({self.preference_train.name} is missing or empty)",
                hint="make the run with `datagen run ... --preference` (config `preference: "
                     "{candidates: 2}`) and a judge, or train SFT (drop --method dpo)")
        return self.preference_train, self.preference_validation

    @property
    def generation(self) -> str | None:
        return self.manifest.get("generation_id")

    def record(self, section: str, data: dict[str, Any]) -> None:
        """Put `data` under `finetune.<section>` of the current manifest (written atomically
        through its link), so the run's one manifest tells what was trained from it."""
        manifest = read_json(self.folder.manifest, what="manifest")
        manifest.setdefault("finetune", {})[section] = data
        write_json(self.folder.manifest, manifest)
        self.manifest = manifest


def count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def training_data(run_dir: str | Path, *, need_validation: bool = True) -> TrainingData:
    """The run folder's training data, or a ConfigError saying what to do."""
    root = Path(run_dir)
    if not is_run_folder(root):
        raise ConfigError(f"{root}: not a datagen run folder",
                          hint="pass a folder written by `datagen run`")
    folder = RunFolder(root)
    fix = "the run did not finish exporting: rerun `datagen run` with the same arguments"
    manifest = read_json(folder.manifest, what="manifest", fix=fix)
    data = folder.read_config()
    config = validated({**data["config"], "out": str(folder.root)}, str(folder.config))
    out = TrainingData(folder=folder, config=config, manifest=manifest)
    if count_lines(out.train) == 0:
        raise ConfigError(f"{out.train}: no training examples", hint=fix)
    if need_validation and count_lines(out.validation) == 0:
        raise ConfigError(f"{root}: the run has no validation split ({out.validation.name} is "
                          "missing or empty); fine-tuning and eval measure on it",
                          hint=NO_VALIDATION_FIX)
    return out
