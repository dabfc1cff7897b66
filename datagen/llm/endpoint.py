"""Which endpoint a run talks to. Endpoints are configuration, not classes.

Resolution order: `llm.base_url` (or `--base-url`), then `$OPENAI_BASE_URL`, then the embedded
model on loopback. The key is read from the env variable named by `llm.api_key_env` and lives
only in the `Endpoint` object: it is never printed, logged, cached or written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import openai

from datagen.config import LLMConfig
from datagen.errors import EndpointError
from datagen.llm import embedded
from datagen.secrets import redact_url, remember, remember_url, reveal

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
_NO_KEY = "sk-no-key-needed"


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    model: str
    kind: str  # "embedded" | "openai" | "local" | "remote"
    identity: str  # stable across runs: part of every cache key
    api_key: str = field(repr=False, default=_NO_KEY)
    key_found: bool = False
    name: str = "llm"  # the run config's name for it (`llm`, or a key of `models:`)

    @property
    def limits_key(self) -> str:
        """What its concurrency gate and rate limits are shared under: roles that name the
        same model share them, roles that name different models have their own."""
        return f"{self.name}@{self.identity}"

    def sdk_args(self) -> dict[str, Any]:
        """What the openai SDK's clients are built with (`base_url`, `api_key`,
        `default_query`): see `sdk_url`."""
        base_url, query = sdk_url(self.base_url)
        return {"base_url": base_url, "api_key": self.api_key, "default_query": query or None}

    @property
    def public(self) -> dict[str, str]:
        """What may be shown in manifests and dataset cards: no key, no private URL."""
        out = {"kind": self.kind, "model": self.model}
        if self.kind == "openai":
            out["base_url"] = self.base_url
        return out


def sdk_url(base_url: str) -> tuple[str, dict[str, str]]:
    """The base URL the SDK joins paths to, and the query parameters it sends with every
    request. A gateway's key in the URL (`https://host/v1?api-key=...`) must not reach the
    SDK as part of the base URL: it appends `chat/completions` to the whole string, which
    breaks the path and corrupts the key."""
    parts = urlsplit(base_url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), query


def endpoint_kind(base_url: str) -> str:
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "api.openai.com":
        return "openai"
    if host in _LOCAL_HOSTS or host.startswith("127."):
        return "local"
    return "remote"


def _served_models(base_url: str, api_key: str, timeout: float,
                   retries: int = 1) -> list[str] | None:
    """Model ids the endpoint lists, or None when it has no /models route."""
    url, query = sdk_url(base_url)
    client = openai.OpenAI(base_url=url, api_key=api_key, default_query=query or None,
                           max_retries=retries, timeout=timeout)
    shown = redact_url(base_url)
    try:
        return [m.id for m in client.models.list()]
    except openai.AuthenticationError:
        raise EndpointError(
            f"{shown} refused the API key (401)",
            hint="check the key in the env variable named by llm.api_key_env",
        ) from None
    except openai.NotFoundError:
        return None
    except openai.APITimeoutError:
        raise EndpointError(
            f"{shown} accepted the connection but did not list its models within {timeout:g} s",
            hint="check that the server at this URL is up and not stuck or overloaded (its "
            "log), and that --base-url names its OpenAI-compatible API (often ending in /v1)",
        ) from None
    except openai.APIConnectionError:
        raise EndpointError(
            f"cannot reach the LLM endpoint at {shown}",
            hint="start the server, fix --base-url / $OPENAI_BASE_URL, or unset both to use "
            "the embedded model",
        ) from None
    except openai.APIStatusError as exc:
        raise EndpointError(f"{shown} answered {exc.status_code} when listing models") from None
    finally:
        client.close()


def resolve(cfg: LLMConfig, base_url: str, *, check: bool = True, retries: int = 1) -> Endpoint:
    """Check an endpoint that is already running and pick its model (listing its models
    with `retries` retries)."""
    kind = endpoint_kind(base_url)
    key = os.environ.get(cfg.api_key_env) or None
    remember(key)
    if key is None and kind in ("openai", "remote"):
        raise EndpointError(
            f"no API key for {redact_url(base_url)}: ${cfg.api_key_env} is not set",
            hint=f"export {cfg.api_key_env}=... (or set llm.api_key_env to the variable "
            "that holds it)",
        )
    api_key = key or _NO_KEY
    model = cfg.model
    if check:
        served = _served_models(base_url, api_key, timeout=min(cfg.timeout_s, 30),
                                retries=retries)
        if served is not None:
            if model is None and served:
                model = served[0]
            elif model is not None and served and model not in served:
                raise EndpointError(
                    f"model {model!r} is not served by {redact_url(base_url)}",
                    hint="use one of: " + ", ".join(served[:20]),
                )
    if model is None:
        raise EndpointError(
            f"no model named for {redact_url(base_url)}", hint="pass --model NAME"
        )
    ident = hashlib.sha256(redact_url(base_url).encode()).hexdigest()[:16]
    return Endpoint(base_url=base_url, model=model, kind=kind, identity=f"{kind}:{ident}",
                    api_key=api_key, key_found=key is not None)


def configured_base_url(cfg: LLMConfig) -> str | None:
    """The endpoint a run will use (with the secret parts the CLI or the environment gave),
    or None for the embedded model."""
    url = reveal(cfg.base_url) if cfg.base_url else os.environ.get("OPENAI_BASE_URL") or None
    if url:
        remember_url(url)
    return url


@contextlib.contextmanager
def open_endpoint(cfg: LLMConfig, *, retries: int = 1) -> Iterator[Endpoint]:
    """Yield a usable endpoint; start (and finally stop) the embedded model if none is set."""
    base_url = configured_base_url(cfg)
    if base_url:
        yield resolve(cfg, base_url, retries=retries)
        return
    with embedded.embedded_server() as server:
        yield Endpoint(
            base_url=server.base_url, model=embedded.MODEL_ALIAS, kind="embedded",
            identity=embedded.model_identity(), api_key=_NO_KEY, key_found=False,
        )
