"""Secrets never reach a file, a log, a Prefect parameter or an error message.

- **URLs.** A base URL may carry a password (`http://user:pw@host/v1`) or a key in its query
  string (`?api-key=...`). Only the redacted URL (`redact_url`) is stored in a config, a
  manifest or flow parameters. The full one reaches the client from the environment: given
  on the command line, it is kept in `$DATAGEN_LLM_BASE_URL` for this process and its
  children (`stash`), and `reveal` gives it back for the redacted URL it belongs to. A run
  config file whose `llm.base_url` carries a secret is refused (see `config.LLMConfig`).
- **Key variables.** `llm.api_key_env` must name a variable ending in `_API_KEY` (such as
  `OPENAI_API_KEY`, `VLLM_API_KEY`, `AZURE_OPENAI_API_KEY`): a shared config cannot make
  datagen send `HF_TOKEN`, a cloud or a git token as the Bearer header of some endpoint.
- **Logs.** `redact_logs` installs a logging filter that replaces every known secret (keys
  and URL passwords seen by this process) with `***` in every record, the HTTP client's
  request lines included.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

SECRET_URL_ENV = "DATAGEN_LLM_BASE_URL"
KEY_ENV = re.compile(r"^[A-Z][A-Z0-9_]*_API_KEY$")
MASK = "***"
_KNOWN: set[str] = set()


def parse_url(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an endpoint URL, or ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must start with http:// or https://")
    port = parts.port  # raises ValueError on a bad port or IPv6 literal
    if not parts.hostname:
        raise ValueError("has no host")
    return parts.scheme, parts.hostname, port


def has_secret(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return bool(parts.username or parts.password or parts.query)
    except ValueError:  # not a URL at all: validation says so
        return False


def redact_url(url: str) -> str:
    """The URL without user:password@ and without its query string."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<unparseable URL>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def remember(secret: str | None) -> None:
    """Mask this value in every log record from now on."""
    if secret and len(secret) >= 4:
        _KNOWN.add(secret)


def remember_url(url: str) -> None:
    """Mask the secret parts of an endpoint URL: its password, its query string and each
    query value (the SDK sends them as parameters of its own, in its own order)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    remember(parts.password)
    remember(parts.query)
    for _, value in parse_qsl(parts.query, keep_blank_values=True):
        remember(value)


def stash(url: str) -> str:
    """Keep a secret-bearing URL in the environment only; return what may be stored."""
    if not has_secret(url):
        return url
    os.environ[SECRET_URL_ENV] = url
    remember_url(url)
    remember(url)
    return redact_url(url)


def reveal(url: str | None) -> str | None:
    """The full URL for a stored (redacted) one, when this process was given it."""
    full = os.environ.get(SECRET_URL_ENV)
    if full and (url is None or redact_url(full) == url):
        remember_url(full)
        remember(full)
        return full
    return url


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with the given and every known secret replaced by `***`."""
    for secret in sorted({s for s in (*secrets, *_KNOWN) if s and len(s) >= 4}, key=len,
                         reverse=True):
        text = text.replace(secret, MASK)
        if len(secret) >= 8:
            text = text.replace(secret[:8], MASK)
    return text


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _KNOWN:
            message = record.getMessage()
            clean = scrub(message)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_FILTER = _Redact()


def redact_logs() -> None:
    """Mask known secrets in every handler of the root logger and of the noisy libraries."""
    for name in ("", "httpx", "httpcore", "openai", "prefect"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
