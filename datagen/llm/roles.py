"""Model roles: which endpoint each stage of a run calls.

A run names its models once (`llm:`, and `models:` by name) and `roles:` gives each stage that
calls a model (`ROLES`) one of them; a role left unset calls `llm:` (a generation strategy's
role, `STRATEGY_ROLES`, the expand role's model: `RolesConfig.named`). Roles that name the same
model share one endpoint (the embedded model starts once) and its limits; each role still has
its own client, progress row, tokens and cost. The response cache keys every answer by the
endpoint's identity, the model, the messages and the sampling params, so the same request to
two models never shares an answer, and a rerun finds each role's answers again.

    open_roles(config) -> {role: Endpoint}     every role's endpoint, opened once per model
    describe(endpoints) -> {role: {...}}       what the manifest may show of each
    self_judged(roles) -> bool                 the judge is the model that wrote the answers
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from datagen.config import ROLES, RunConfig
from datagen.llm.endpoint import Endpoint, configured_base_url, open_endpoint


@contextlib.contextmanager
def open_roles(config: RunConfig, *, roles: tuple[str, ...] = ROLES,
               retries: int = 1) -> Iterator[dict[str, Endpoint]]:
    """Every role's endpoint (of `roles`), each model opened once, all closed at the end."""
    with contextlib.ExitStack() as stack:
        opened: dict[str, Endpoint] = {}
        embedded: Endpoint | None = None  # one embedded server, whichever models use it
        out: dict[str, Endpoint] = {}
        for role in roles:
            name = config.model_name(role)
            if name not in opened:
                llm = config.llm_for(role)
                if configured_base_url(llm) is None and embedded is not None:
                    endpoint = embedded
                else:
                    endpoint = stack.enter_context(open_endpoint(llm, retries=retries))
                if endpoint.kind == "embedded":
                    embedded = endpoint
                opened[name] = dataclasses.replace(endpoint, name=name)
            out[role] = opened[name]
        yield out


def describe(endpoints: dict[str, Endpoint]) -> dict[str, dict[str, str]]:
    """Per role: the model's config name, the model, the endpoint kind, the public base URL
    (only OpenAI's: see `Endpoint.public`) and the endpoint identity (a hash, no URL), which
    tells whether two roles called the same model."""
    return {role: {"name": e.name, **e.public, "identity": e.identity}
            for role, e in endpoints.items()}


def self_judged(roles: dict[str, dict[str, Any]]) -> bool:
    """Whether the judge is the very model that wrote the answers (the same endpoint and
    model name): such a judge is known to favour its own answers."""
    judge, respond = roles.get("judge"), roles.get("respond")
    if not judge or not respond:
        return False
    return (judge.get("identity"), judge.get("model")) == (respond.get("identity"),
                                                           respond.get("model"))


def with_usage(roles: dict[str, dict[str, Any]],
               by_stage: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each role's description with its own requests, tokens and cost."""
    out = {}
    for role, info in roles.items():
        used = by_stage.get(role, {})
        out[role] = {**info, **{k: used.get(k, 0) for k in (
            "requests", "cache_hits", "failures", "prompt_tokens", "completion_tokens")},
            "cost_usd": round(float(used.get("cost_usd", 0.0)), 6)}
    return out
