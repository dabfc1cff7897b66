"""`no_code`: a code task answered without code; any code, even one line, is enough."""

from __future__ import annotations

import pytest

from tests.curate.helpers import reason_of


def test_a_code_task_without_code_is_dropped() -> None:
    assert reason_of(instruction="Write me a testing framework in Cypress that uses Docker.",
                     response="The testing framework has been created and is now available. It "
                              "integrates seamlessly with Docker.") == "no_code"


@pytest.mark.parametrize(("instruction", "response"), [
    ("Generate the regular expression for strings that start with a digit.", "^[0-9].*$"),
    ("Write a MySQL query to select all students aged 18 or more.",
     "SELECT *\nFROM students\nWHERE age >= 18;"),
    ("Create a Python dictionary about your favourite movie.",
     'movie = {\n    "title": "The Godfather",\n    "year": 1972\n}'),
    ("How can you remove an element from an array in JavaScript?",
     "Use splice, which takes an index and a count:\n\narray.splice(1, 1); // [3, 8, 11]"),
])
def test_code_answers_are_kept(instruction: str, response: str) -> None:
    assert reason_of(instruction=instruction, response=response) is None
