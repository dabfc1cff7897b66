"""Each heuristic filter drops hand-written texts with its exact reason, and keeps good ones."""

from __future__ import annotations

import pytest

from datagen.config import CurationConfig
from tests.curation.helpers import GOOD_INSTRUCTION, GOOD_RESPONSE, reason_of

LOOP = ("The receiving party shall keep the information confidential. " * 6).strip()


def test_a_good_pair_is_kept() -> None:
    assert reason_of() is None


@pytest.mark.parametrize(("row", "reason"), [
    ({"instruction": "   "}, "empty"),
    ({"instruction": "Define NDA."}, "too_short"),  # 2 words: Self-Instruct wants > 3
    ({"instruction": "Explain NDAs briefly."}, "too_short"),  # 3 words
    ({"instruction": " ".join(["word"] * 151)}, "too_long"),  # Self-Instruct: <= 150 words
    ({"instruction": "Draw a diagram of the parties to this agreement."}, "blacklist_keyword"),
    ({"instruction": "Go to the registry and fetch the filed agreement."}, "blacklist_keyword"),
    ({"instruction": "Summarise the attached files about the merger."}, "blacklist_keyword"),
    ({"instruction": "- explain the term of this agreement to a client"}, "bad_start"),
    ({"instruction": "Éxplain the term of this agreement to a client please."}, "bad_start"),
    ({"response": ""}, "empty"),
    ({"finish_reason": "length"}, "truncated"),
    ({"response": "It depends."}, "too_short"),
    ({"response": "As an AI language model, I cannot give legal advice on this clause."},
     "refusal"),
    ({"response": "I\u2019m sorry, but I can\u2019t help with drafting that clause for you."},
     "refusal"),
    ({"response": "Dear [Your Name], the clause binds both parties to secrecy for five years."},
     "placeholder"),
    ({"response": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod."},
     "placeholder"),
    ({"response": GOOD_INSTRUCTION}, "echo"),  # output equals input
    ({"response": GOOD_INSTRUCTION.upper() + "!"}, "echo"),
    ({"response": LOOP}, "repetition"),
])
def test_filter_drops_with_its_reason(row: dict, reason: str) -> None:
    assert reason_of(**row) == reason


def test_thresholds_come_from_config() -> None:
    cfg = CurationConfig(min_instruction_words=2, min_response_words=1)
    assert reason_of(cfg, instruction="Define NDAs.") is None
    assert reason_of(cfg, response="It depends on the jurisdiction.") is None
    echoed = GOOD_RESPONSE + " Each party must return all copies when the agreement ends." * 2
    assert reason_of(response=echoed) == "repetition"  # 45 % of characters in repeated 5-grams
    loose = CurationConfig(max_top_ngram_fraction=0.5, max_duplicate_ngram_fraction=0.6)
    assert reason_of(loose, response=echoed) is None
    assert reason_of(CurationConfig(keyword_blacklist=[]),
                     instruction="Draw the structure of this agreement for me.") is None


def test_repetition_spares_short_and_varied_texts() -> None:
    assert reason_of(response="Yes, yes, yes: the clause applies to both parties.") is None
    varied = (GOOD_RESPONSE + " It also names the exceptions: information that is public, "
              "already known, or independently developed, and disclosures a court orders.")
    assert reason_of(response=varied) is None


def test_a_foreign_language_seed_may_start_with_an_accent() -> None:
    ins = "Élaborez une clause de confidentialité mutuelle pour un contrat de services."
    res = ("La clause oblige chaque partie à garder secrètes les informations de l'autre, à "
           "ne les utiliser que pour l'objet du contrat et à les restituer à la fin.")
    assert reason_of(language="fr", instruction=ins, response=res) is None
