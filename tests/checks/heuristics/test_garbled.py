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
