"""Topic trees (GenQA / DeepFabric style): the LLM maps a seed's domain into depth x degree
subtopics, and generation is conditioned on the leaves, so instructions spread over the
domain instead of piling up on its most obvious corner.

The tree is saved in the run folder (`topics/<seed>.json`); its calls go through the response
cache, so building it again on the next round or on a rerun costs nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from datagen.config import GenerationConfig
from datagen.files import write_json
from datagen.generate.ask import ask_list
from datagen.generate.parse import format_line
from datagen.generate.requests import params_for
from datagen.llm.client import LLMClient
from datagen.llm.wire import LLMCallError
from datagen.prompts import render
from datagen.seeds import SeedTask, TopicsStrategy
from datagen.text import normalize

TREE_PROMPT = "topic_tree.v1"
MAX_TOPIC_CHARS = 80
MAX_TOPIC_WORDS = 10


def tree_request(seed: SeedTask, gen: GenerationConfig, strat: TopicsStrategy, mode: str,
                 path: list[str]) -> tuple[list[dict[str, str]], dict[str, Any]]:
    user = render(TREE_PROMPT, description=seed.description, path=" > ".join(path),
                  node=path[-1], degree=strat.degree,
                  format=format_line(mode, "topics", what="subtopics"))
    params = params_for(gen, strat, mode, strat.degree, key="topics",
                        max_chars=MAX_TOPIC_CHARS)
    return [{"role": "user", "content": user}], params


def _distinct(items: list[str], avoid: list[str], k: int) -> list[str]:
    seen = {normalize(a) for a in avoid}
    out = []
    for item in items:
        item = item.strip().rstrip(".:")
        key = normalize(item)
        # a subtopic is a short noun phrase; a sentence means the model talked instead
        if key and key not in seen and len(key.split()) <= MAX_TOPIC_WORDS \
                and len(item) <= MAX_TOPIC_CHARS:
            seen.add(key)
            out.append(item)
    return out[:k]


async def _expand_node(node: dict[str, Any], seed: SeedTask, client: LLMClient,
                       gen: GenerationConfig, strat: TopicsStrategy, mode: str) -> None:
    messages, params = tree_request(seed, gen, strat, mode, node["path"])
    try:
        asked = await ask_list(client, messages, params, sample=0, mode=mode, key="topics",
                               what="subtopics")
    except LLMCallError as exc:
        node["error"] = exc.reason
        return
    node["parse"] = asked.parse
    for topic in _distinct(asked.items, node["path"], strat.degree):
        node["children"].append({"topic": topic, "path": [*node["path"], topic],
                                 "source": "llm", "children": []})


def leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    if not node["children"]:
        return [{"topic": node["topic"], "path": node["path"]}]
    return [leaf for child in node["children"] for leaf in leaves(child)]


async def build_tree(seed: SeedTask, client: LLMClient, gen: GenerationConfig,
                     strat: TopicsStrategy, mode: str) -> dict[str, Any]:
    """Root = the domain; level 1 = the seed's own topics when it has them, else the LLM's;
    then the LLM expands every node level by level. A node the model fails on stays a leaf."""
    root: dict[str, Any] = {"topic": seed.domain, "path": [seed.domain], "source": "seed",
                            "children": []}
    level = [root]
    for depth in range(strat.depth):
        if depth == 0 and seed.topics:
            root["children"] = [{"topic": t, "path": [seed.domain, t], "source": "seed",
                                 "children": []} for t in seed.topics]
        else:
            await asyncio.gather(*(_expand_node(n, seed, client, gen, strat, mode)
                                   for n in level))
        level = [child for n in level for child in n["children"]]
        if not level:
            break
    return root


def save_tree(folder: str | Path, seed: SeedTask, tree: dict[str, Any],
              strat: TopicsStrategy) -> Path:
    path = Path(folder) / "topics" / f"{seed.id}.json"
    write_json(path, {"seed_id": seed.id, "depth": strat.depth, "degree": strat.degree,
                      "leaves": leaves(tree), "tree": tree})
    return path


def order_leaves(all_leaves: list[dict[str, Any]], kept_by_path: dict[str, int]
                 ) -> list[dict[str, Any]]:
    """Uncovered leaves first (fewest kept records), then tree order: coverage grows first."""
    indexed = list(enumerate(all_leaves))
    indexed.sort(key=lambda p: (kept_by_path.get(" > ".join(p[1]["path"]), 0), p[0]))
    return [leaf for _, leaf in indexed]
