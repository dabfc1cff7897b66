"""A PEFT LoRA adapter of the embedded model, written as a llama.cpp LoRA adapter (GGUF), so
the embedded llama.cpp server answers with base + adapter through the same client as every
other candidate (eval candidate (c)).

Why not serve it with transformers: llama.cpp is the server the embedded model already runs
on, it generated 1.6x the tokens per second of transformers + PEFT and loaded in 5 s instead
of 18 s (`bench/adapter_serving.py`), and the adapter applies at load time with no merged
copy of the base. The packages of the `train` extra ship no converter, so this module
is one: it maps the attention projections to llama.cpp's tensor names and applies to each B
matrix of q and k the row permutation that llama.cpp's GGUF files apply to q and k weights
(transformers undoes it when it loads the GGUF, so the adapter was trained unpermuted).
Only adapters on the attention projections (`LORA_TARGETS`) are converted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from datagen.errors import ConfigError
from datagen.files import atomic_path, read_json

_KEY = re.compile(r"layers\.(\d+)\.self_attn\.([qkvo])_proj\.lora_([AB])\.weight$")
_NAMES = {"q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output"}


def permute_rows(weights: Any, heads: int) -> Any:
    """llama.cpp's q/k row order: per head, the two rotary halves interleaved."""
    return (weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def _field(reader: Any, key: str) -> Any:
    field = reader.fields[key]
    return field.parts[field.data[0]]


def write_gguf_adapter(adapter: Path, base_gguf: Path, out: Path) -> Path:
    """Convert `adapter` (PEFT folder) for the llama.cpp model `base_gguf`; return `out`."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    config = read_json(adapter / "adapter_config.json", what="adapter config")
    reader = gguf.GGUFReader(str(base_gguf))
    arch = bytes(_field(reader, "general.architecture")).decode()
    heads = int(_field(reader, f"{arch}.attention.head_count")[0])
    kv_heads = int(_field(reader, f"{arch}.attention.head_count_kv")[0])
    tensors = load_file(str(adapter / "adapter_model.safetensors"))
    writer_tensors: list[tuple[str, Any]] = []
    for key in sorted(tensors):
        match = _KEY.search(key)
        if match is None:
            raise ConfigError(f"{adapter}: cannot serve adapter tensor {key} with llama.cpp",
                              hint="train adapters on q/k/v/o projections only (the default)")
        layer, proj, ab = match.groups()
        data = tensors[key].astype(np.float32)
        if ab == "B" and proj in ("q", "k"):
            data = permute_rows(data, heads if proj == "q" else kv_heads)
        name = f"blk.{layer}.{_NAMES[proj]}.weight.lora_{ab.lower()}"
        writer_tensors.append((name, np.ascontiguousarray(data)))
    with atomic_path(out) as tmp:
        writer = gguf.GGUFWriter(str(tmp), arch)
        writer.add_string(gguf.Keys.General.TYPE, gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
        for name, data in writer_tensors:
            writer.add_tensor(name, data)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return out
