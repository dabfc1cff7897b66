"""`length`: empty, too short and too long, with the response minimum set by the task."""

from __future__ import annotations

import pytest

from tests.curate.helpers import cfg, reason_of


@pytest.mark.parametrize(("row", "reason"), [
    ({"instruction": "   "}, "empty"),
    ({"instruction": "Summarise."}, "too_short"),  # one word: below min_instruction_words
    ({"instruction": " ".join(["word"] * 1501)}, "too_long"),
    ({"response": ""}, "empty"),
    ({"response": "   "}, "empty"),
    ({"response": "x" * 30_001}, "too_long"),  # one huge word: long in characters
    # a long-form task answered in a few words
    ({"instruction": "Write an essay on why confidentiality clauses matter to startups.",
      "response": "They protect secrets."}, "too_short"),
    ({"instruction": "Explain how a non-compete clause is enforced in California.",
      "response": "It is not."}, "too_short"),
])
def test_drops_with_its_reason(row: dict, reason: str) -> None:
    assert reason_of(**row) == reason


@pytest.mark.parametrize(("instruction", "response"), [
    # real short answers (from the dev set's kinds): labels, names, numbers, an emoji
    ("Classify this email as spam or not spam: 'You won a free cruise, click here!'", "Spam"),
    ("Identify the part of speech of the word 'quickly' in this sentence.", "Adverb"),
    ("Is the following review positive or negative? 'Terrible food, rude staff.'",
     "Negative"),
    ("Suggest a name for a bakery that sells only sourdough.", "Crumb & Crust"),
    ("What is the capital of Australia?", "Canberra"),
    ("Calculate 17 times 23.", "391"),
    ("Respond with an emoji that shows you agree.", "👍"),
    ("Translate 'good morning' into Spanish.", "Buenos días"),
    ("Define NDA.", "A non-disclosure agreement."),
])
def test_short_answers_to_short_tasks_are_kept(instruction: str, response: str) -> None:
    assert reason_of(instruction=instruction, response=response) is None


def test_thresholds_come_from_the_length_section() -> None:
    strict = cfg(length={"min_instruction_words": 4, "min_response_words": 3})
    assert reason_of(strict, instruction="Define NDA now.") == "too_short"
    assert reason_of(strict, instruction="What is the capital of Australia?",
                     response="Canberra") == "too_short"
    loose = cfg(length={"min_long_response_words": 2})
    assert reason_of(loose, instruction="Explain how a non-compete clause is enforced.",
                     response="It is not.") is None


@pytest.mark.parametrize(("language", "instruction", "response"), [
    # short answers to asks in other languages and to asks the long-form cues used to claim
    ("en", "How do you say 'thank you' in French?", "Merci."),
    ("en", "Rate this review from 1 to 5 stars: 'The food was cold and the waiter rude.'",
     "1 star"),
    ("zh", "判断下面这句话的情感是正面还是负面：这家餐厅的服务太差了。", "负面"),
    ("fr", "Classez ce courriel comme spam ou non : « Vous avez gagné une croisière ! »",
     "Spam"),
    ("de", "Übersetze ins Englische: „Der Vertrag endet am ersten Mai.“",
     "The contract ends on the first of May."),
])
def test_short_answers_to_short_asks_are_kept(language: str, instruction: str,
                                              response: str) -> None:
    assert reason_of(instruction=instruction, response=response, language=language) is None


@pytest.mark.parametrize("response", [
    '{"total": 12}',
    '[{"sku": "A1", "qty": 2}]',
    '{"customer": "Ann", "total": 5, "items": ["lamp"]}',
])
def test_a_json_answer_is_data_not_prose(response: str) -> None:
    # a structured answer (a seed's `output_schema`) is judged by its schema, not by words
    # or language: an order summary asked for at length is still one small JSON object
    instruction = ("Explain in detail what this customer ordered and what they owe: Ann "
                   "bought a lamp for five dollars, delivered last Tuesday to her office.")
    assert reason_of(instruction=instruction, response=response) is None
    assert reason_of(instruction=instruction, response=response[:-1]) == "too_short"


@pytest.mark.parametrize(("instruction", "response"), [
    # real non-answers, as weak and strong models wrote them: assent, and nothing after it
    ("Could you modify this slot machine code to pay $5 for three lemons?\n\n"
     "import random\nfruits = ['lemon', 'cherry', 'bar']\ndial = random.choice(fruits)",
     "Sure!"),
    ("Write a short poem about the sea at night.", "Sure, I can do that."),
    ("Can you draft a clause that limits our liability to the fees paid?", "Of course!"),
    ("Give me three names for a bakery.", "Sure, here you go!"),
])
def test_an_acknowledgement_alone_is_no_answer(instruction: str, response: str) -> None:
    assert reason_of(instruction=instruction, response=response) == "too_short"
    assert reason_of(instruction="写一首关于秋天的短诗。", response="好的", language="zh") \
        == "too_short"


@pytest.mark.parametrize(("instruction", "response"), [
    # a yes/no question is answered by an assent; an answer that goes on is an answer
    ("Is an NDA signed by both parties binding on both of them?", "Certainly."),
    ("Does a mutual NDA protect both parties' information?", "Of course!"),
    ("Is the following review positive? 'Great food.'", "Yes"),
    ("Give me a name for a bakery.", "Sure: Crumb & Crust."),
])
def test_an_assent_that_answers_is_kept(instruction: str, response: str) -> None:
    assert reason_of(instruction=instruction, response=response) is None
