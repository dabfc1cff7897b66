"""`garbled`: words run together, random capitals and pipeline artefacts; code is not judged."""

from __future__ import annotations

from tests.curate.helpers import reason_of

INS = "What are the five most common causes of stress among people?"


def test_run_together_words_and_artefacts_are_dropped() -> None:
    joined = ("1. Work burdenWorkload and schedule changes cause fatigueThe pressure grows. "
              "2. Family problemsFamily disputes affect emotionsIn addition divorce matters.")
    assert reason_of(instruction=INS, response=joined) == "garbled"
    assert reason_of(instruction=INS, response="Work, money [split] [split] and health.") \
        == "garbled"
    assert reason_of(instruction="Create alliterations from: David wears a hat.",
                     response="DaVid wears a HAt eAcTicAtiOn. DaviD weARS a hairt eAcTicAtiOn. "
                              "DaviD weARS a hAiT eAcTicAtiOn.") == "garbled"


def test_code_and_ordinary_names_are_not_garbled() -> None:
    code = ("```js\nconst userName = getUserName();\nconst userEmail = getUserEmail();\n"
            "sendWelcomeMail(userName, userEmail);\n```")
    assert reason_of(instruction="Write JavaScript that greets a new user by email.",
                     response=code) is None
    assert reason_of(instruction=INS, response="Money, work, health, family and the iPhone "
                     "that never stops ringing, says the McKinsey survey.") is None


def test_an_answer_that_opens_on_a_stray_mark_is_garbled() -> None:
    ins = "为什么要多喝水？"
    body = "水能帮助身体调节体温、运输养分和排出废物，缺水会让人疲劳、头痛。"
    assert reason_of(instruction=ins, language="zh", response=body) is None
    assert reason_of(instruction=ins, language="zh", response="。\n" + body) == "garbled"
    assert reason_of(instruction=ins, language="zh", response="，" + body) == "garbled"
    # a CSV may open with a comma
    table = ",Q1,Q2,Q3\nSales,120,135,150\nCosts,80,85,90"
    assert reason_of(instruction="Put these quarterly figures in a CSV table with a header.",
                     response=table) is None
