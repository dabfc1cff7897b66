"""Expand seeds into instructions with combinable strategies; answer them.

    parse.py     structured output: bounded schemas, strict and lenient parsing
    ask.py       one list-making call with one repair step
    requests.py  each strategy's messages and sampling parameters (prompts in datagen/prompts)
    topics.py    topic trees (depth x degree), saved in the run folder
    personas.py  who is asking: given or generated personas
    evolve.py    Evol-Instruct's eliminator
    work.py      what a round asks for, and when a seed stops
    expand.py    the expansion stage
    respond.py   answers, and the optional follow-up turn
"""

from datagen.generate.expand import (
    MAX_INSTRUCTION_CHARS,
    expand,
    expand_calls_needed,
    expand_request,
)
from datagen.generate.parse import parse_list, response_format, structured_mode
from datagen.generate.requests import EXPAND_PROMPT, LANGUAGE_NAMES
from datagen.generate.respond import follow_up, respond, respond_messages
from datagen.generate.work import Call, ExpandWork, plan_expansion, seed_state

__all__ = [
    "EXPAND_PROMPT", "LANGUAGE_NAMES", "MAX_INSTRUCTION_CHARS", "Call", "ExpandWork",
    "expand", "expand_calls_needed", "expand_request", "follow_up",
    "parse_list", "plan_expansion", "respond", "respond_messages", "response_format",
    "seed_state", "structured_mode",
]
