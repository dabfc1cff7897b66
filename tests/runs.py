"""Run the real `generate_dataset` flow in-process and read its summary, whatever the
outcome (a Failed state carries it in its `RunIncomplete` error)."""

from __future__ import annotations

import asyncio
from typing import Any

from datagen.config import RunConfig
from datagen.run.result import RunIncomplete


def flow_summary(config: RunConfig) -> dict[str, Any]:
    from flows.generate_dataset import generate_dataset

    state = asyncio.run(generate_dataset(config, return_state=True))
    data = state.result(raise_on_failure=False)
    if isinstance(data, RunIncomplete):
        return data.summary
    if isinstance(data, BaseException):
        raise data
    return data
