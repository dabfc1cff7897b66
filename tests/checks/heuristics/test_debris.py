"""`debris`: fragments and echoes of the generation prompt are dropped; real tasks are not."""

from __future__ import annotations

import pytest

from datagen.curate import References
from tests.curate.helpers import reasons, records, run

SEED_TASK = ("Ask a legal assistant to draft one specific clause of a non-disclosure "
             "agreement, naming the parties' situation and what the clause must cover.")


@pytest.mark.parametrize("instruction", [
    "5 (another detail request)",
    "Another detail that is unique, one-to-one list will allow you to provide 20 requests",
    "You are given the following example of a specific request about an NDA.",
    "Please provide one more example of a different request which differs from the others",
    "Each one must differ from the examples and from the others in situation and detail.",
    "Write 5 new requests of this kind about data privacy.",
    "Request 3:",
    SEED_TASK,
])
def test_prompt_debris_is_dropped(instruction: str) -> None:
    refs = References(seed_tasks=[SEED_TASK])
    assert reasons(run(records({"instruction": instruction}), refs=refs)) == ["prompt_debris"]


@pytest.mark.parametrize("instruction", [
    "List 5 examples of renewable energy sources.",
    "Generate 3 questions a journalist could ask a mayor about housing.",
    "Sort the list in ascending order.\n\nInput: [3, 1, 2]",
    "Give another example of a metaphor, different from 'time is money'.",
    "Draft a mutual NDA clause on the return of materials when the agreement ends.",
    "10 tips for a first job interview: write them as a numbered list.",
    # how a user asks to expand a sentence
    "Rewrite this sentence with more detail: 'The parties signed the agreement.'",
    "Add more details to the clause below so that it names the return deadline.",
])
def test_real_tasks_are_not_debris(instruction: str) -> None:
    refs = References(seed_tasks=[SEED_TASK])
    assert reasons(run(records({"instruction": instruction}), refs=refs)) == [None]
