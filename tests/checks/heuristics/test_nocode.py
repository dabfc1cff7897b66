"""`no_code`: a code task answered without code; any code, even one line, is enough."""

from __future__ import annotations

import pytest

from tests.curate.helpers import reason_of


def test_a_code_task_without_code_is_dropped() -> None:
    assert reason_of(instruction="Write me a testing framework in Cypress that uses Docker.",
                     response="The testing framework has been created and is now available. It "
                              "integrates seamlessly with Docker.") == "no_code"


def test_a_short_question_back_is_a_clarification_and_a_long_one_is_not() -> None:
    ask = "Can you show me how to implement a code in Python?"
    back = ("Of course, I'd be happy to help! What task would you like to implement in "
            "Python?")
    assert reason_of(instruction=ask, response=back) is None
    # prose about code that merely ends on a question is still an answer without code
    prose = ("Python is a versatile language used for web development, data analysis, "
             "automation and machine learning. You write a program in a text file, save it "
             "with the .py extension and run it with the interpreter, which reads each "
             "statement in turn and executes it. Most programs import modules from the "
             "standard library. Would you like to know more?")
    assert reason_of(instruction=ask, response=prose) == "no_code"


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


@pytest.mark.parametrize(("instruction", "response"), [
    # spreadsheet functions are no software: their names answer the task
    ("Which Excel functions can I use to add up the values of a column?",
     "SUM adds up a range; SUMIF and SUMIFS add up only the cells that meet conditions."),
    ("Explain the Google Sheets formulas for looking up a value in a table.",
     "VLOOKUP searches the first column of a range and returns the value from a column you "
     "name in the same row; INDEX with MATCH does the same in any direction, and XLOOKUP "
     "combines both in one function with a default for missing values."),
])
def test_spreadsheet_functions_are_no_code_task(instruction: str, response: str) -> None:
    assert reason_of(instruction=instruction, response=response) is None
