"""How long to wait before a retry: the server's `Retry-After` (any length, capped at an
hour), read from `retry-after-ms` or `retry-after` in seconds or as an HTTP date."""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

MAX_RETRY_AFTER_S = 3600.0  # a longer wait than this is a server bug: wait an hour, then retry


def retry_after_s(headers: Any) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `retry-after` (seconds or
    an HTTP date); values beyond an hour, or not finite, count as an hour."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            continue
        if math.isnan(seconds):
            continue
        return min(MAX_RETRY_AFTER_S, max(0.0, seconds))
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, parsed.timestamp() - time.time()))
