"""Structured output: strict reading of what was asked, lenient reading of what weak models
write, and the error a retry shows."""

from __future__ import annotations

import pytest

from datagen.generate.parse import list_schema, parse_list


@pytest.mark.parametrize(
    ("text", "mode", "items", "how"),
    [
        ('{"instructions": ["Draft A.", "Draft B."]}', "json_object", ["Draft A.", "Draft B."],
         "json"),
        ("1. Draft A.\n2) Draft B.\n", "text", ["Draft A.", "Draft B."], "list"),
        # JSON inside prose and fences, asked in JSON mode
        ('Here:\n```json\n{"instructions": ["Draft A."]}\n```', "json_object", ["Draft A."],
         "lenient"),
        # cut off by max_tokens: the complete strings survive
        ('{"instructions": ["Draft A.", "Draft B.", "Draft C wit', "json_object",
         ["Draft A.", "Draft B."], "lenient"),
        # raw newlines and a bad escape inside the strings
        ('{"instructions": ["Draft\nA.", "Draft \\q B.", "Dra', "json_object",
         ["Draft\nA.", "Draft \\q B."], "lenient"),
        # bullets where a numbered list was asked
        ("- Draft A.\n* Draft B.", "text", ["Draft A.", "Draft B."], "lenient"),
        # the number alone on its line (no space after it), the item below
        ("1.\nDraft A.\n2.\nDraft B.", "text", ["Draft A.", "Draft B."], "list"),
        ("1. 2\nDraft A.\n\n2. 3\nDraft B.", "text", ["Draft A.", "Draft B."], "list"),
        ("", "text", [], "empty"),
        ("I cannot list anything.", "text", [], "failed"),
        ('{"other": []}', "json_object", [], "failed"),
    ],
)
def test_parse_list(text: str, mode: str, items: list[str], how: str) -> None:
    got, got_how, error = parse_list(text, mode)
    assert (got, got_how) == (items, how)
    assert bool(error) == (how in ("empty", "failed"))


def test_single_item_answers() -> None:
    assert parse_list("Rewritten request: Draft a clause for a bakery.", "text", single=True)[
        :2] == (["Draft a clause for a bakery."], "text")
    assert parse_list('"Draft a clause."\n\nThis adds depth.', "text", single=True)[0] == [
        "Draft a clause."]


def test_schema_is_bounded() -> None:
    schema = list_schema(4, "topics", 80)["properties"]["topics"]
    assert (schema["minItems"], schema["maxItems"], schema["items"]["maxLength"]) == (4, 4, 80)


def test_errors_say_what_was_wrong() -> None:
    assert "not valid JSON" in parse_list("{oops", "json_object")[2]
    assert "no numbered list" in parse_list("nothing here", "text")[2]
