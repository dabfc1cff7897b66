"""`shape`: the answer an instruction expects, from a hint or from its wording."""

from __future__ import annotations

import pytest

from datagen.shape import expected_shape


@pytest.mark.parametrize(("instruction", "shape"), [
    ("Classify the sentiment of this tweet: 'I love Mondays'.", "label"),
    ("Which of the following is a mammal? A) shark B) dolphin", "label"),
    ("Is this sentence grammatical? 'Him go store.'", "label"),
    ("Extract the dates from the text below.\n\nInput: Signed on 3 May, due 1 June.", "label"),
    ("Explain photosynthesis in one sentence.", "short"),
    ("Suggest a name for a coffee shop.", "short"),
    ("Translate 'thank you' into German.", "short"),
    ("Write a Python function that reverses a string.", "code"),
    ("Write a cover letter template for a junior designer.", "document"),
    ("Draft an NDA clause on data privacy.", "document"),
    ("Explain how vaccines train the immune system.", "long"),
    ("Write a short story about a lighthouse keeper.", "long"),
    ("Hello there", "any"),
])
def test_shape_from_the_wording(instruction: str, shape: str) -> None:
    assert expected_shape(instruction) == shape


def test_a_hint_wins() -> None:
    assert expected_shape("Explain how vaccines work.", "label") == "label"
    assert expected_shape("Explain how vaccines work.", "classification") == "label"
    assert expected_shape("Explain how vaccines work.", "unknown-hint") == "long"


@pytest.mark.parametrize(("instruction", "shape"), [
    ("Create a signature line for the following email.", "short"),
    ("Write a subject line for a newsletter about spring sales.", "short"),
    ("Rearrange the words to form a valid sentence.\n\nInput: state the and issue firmly",
     "any"),
])
def test_brief_objects_and_verbs_are_not_documents(instruction: str, shape: str) -> None:
    assert expected_shape(instruction) == shape


@pytest.mark.parametrize(("instruction", "shape"), [
    ("Complete the following function so that it returns the sum of a list.", "code"),
    ("Write the complete code for a Flask endpoint that returns JSON.", "code"),
    ("Write a clause that says how the tax code applies to the buyer.", "document"),
    ("Explain how a code of conduct clause binds a complete employee.", "long"),
    ("Assess how a complete employee can limit shared code exposure.", "long"),
])
def test_code_means_software(instruction: str, shape: str) -> None:
    assert expected_shape(instruction) == shape


@pytest.mark.parametrize(("instruction", "shape"), [
    # what the task asks fixes a short answer before the long-form cues ("how do", "review")
    ("How do you say 'thank you' in French?", "short"),
    ("Rate this review from 1 to 5 stars: 'The food was cold and the waiter rude.'", "label"),
    ("Traduisez cette phrase en anglais : « Le contrat prend fin le 1er mai. »", "short"),
    ("Klassifiziere die Stimmung dieses Satzes: „Das Essen war großartig.“", "label"),
    ("Clasifica el sentimiento de esta reseña: «El servicio fue lento».", "label"),
    ("判断下面这句话的情感是正面还是负面：这家餐厅的服务太差了。", "label"),
    ("请把下面的句子翻译成英文：合同于五月一日终止。", "short"),
    ("次の文章から人名を抽出してください。", "short"),
    ("List the planets of the solar system.", "short"),
    ("Which Excel functions sum the values of a column?", "short"),
    # a code task asked in another language
    ("PythonでCSVファイルを読み込む関数を書いてください。", "code"),
    ("用Python编写一个函数，计算列表的平均值。", "code"),
])
def test_shape_from_what_the_task_asks_in_any_language(instruction: str, shape: str) -> None:
    assert expected_shape(instruction) == shape
