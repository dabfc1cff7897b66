"""`repetition`: Gopher's repeated n-gram rules, judged on long answers only."""

from __future__ import annotations

from datagen.checks.heuristics.repetition import RepetitionConfig, repetitive
from tests.curate.helpers import GOOD_RESPONSE, cfg, reason_of

LOOP = ("The receiving party shall keep the information confidential. " * 8).strip()


def test_a_loop_is_dropped() -> None:
    assert reason_of(response=LOOP) == "repetition"


def test_short_ordinary_answers_are_not_judged() -> None:
    # repeated phrases and list frames in short answers are style, not a loop
    assert reason_of(response="Yes, yes, yes: the clause applies to both parties, in every "
                              "case.") is None
    listed = ("1. The party shall notify. 2. The party shall return. 3. The party shall "
              "destroy. 4. The party shall certify.")
    assert reason_of(response=listed) is None


def test_varied_long_answers_are_kept_and_thresholds_come_from_config() -> None:
    varied = (GOOD_RESPONSE + " It also names the exceptions: information that is public, "
              "already known, or independently developed, and disclosures a court orders.")
    assert reason_of(response=varied) is None
    echoed = GOOD_RESPONSE + " Each party must return all copies when the agreement ends." * 3
    assert reason_of(response=echoed) == "repetition"
    loose = cfg(repetition={"max_top_2gram_share": 0.9, "max_repeated_8gram_share": 0.95})
    assert reason_of(loose, response=echoed) is None
    assert reason_of(cfg(repetition={"min_words": 500}), response=LOOP) is None


def test_a_list_of_short_items_that_repeat_is_dropped() -> None:
    ins = "Make a list of adjectives that describe a creative tech startup."
    res = ("Here are some adjectives: innovative, cutting-edge, disruptive, visionary, "
           "innovative, creative, experimental, innovative, disruptive, trailblazing, "
           "experimental, disruptive, trailblazing.")
    assert reason_of(instruction=ins, response=res) == "repetition"
    varied = ("Here are some adjectives: innovative, cutting-edge, disruptive, visionary, "
              "creative, experimental, bold, trailblazing, nimble.")
    assert reason_of(instruction=ins, response=varied) is None


def test_code_is_not_list_repetition() -> None:
    code = ("public class UserData\n{\n    public string Name { get; set; }\n"
            "    public string Email { get; set; }\n    public string Phone { get; set; }\n"
            "    public string City { get; set; }\n}")
    assert reason_of(instruction="Create a class in C# that stores user data.",
                     response=code) is None


def test_lines_that_repeat_one_pattern_are_dropped() -> None:
    ins = "Give me links to answers about removing an item from an array in JavaScript."
    links = "\n".join(f"https://stackoverflow.com/questions/{n}/remove-item-in-array"
                      for n in (2374321, 40616132, 11907981, 34138847, 5767325, 9792927,
                                24806772, 3954438))
    assert reason_of(instruction=ins, response=links) == "repetition"
    varied = ("- MDN, Array.prototype.splice: https://developer.mozilla.org/docs/Web/JavaScript\n"
              "- MDN, Array.prototype.filter: https://developer.mozilla.org/docs/Glossary\n"
              "- javascript.info, Arrays: https://javascript.info/array-methods\n"
              "- Stack Overflow, How can I remove a specific item: "
              "https://stackoverflow.com/questions/5767325\n"
              "- W3Schools, JavaScript Array Methods: https://www.w3schools.com/js/\n"
              "- Eloquent JavaScript, chapter 4: https://eloquentjavascript.net/04_data.html\n"
              "- The ECMAScript specification: https://tc39.es/ecma262/\n"
              "- Lodash's remove: https://lodash.com/docs/#remove")
    assert reason_of(instruction=ins, response=varied) is None


def test_a_table_of_numbers_shares_its_pattern_by_nature() -> None:
    table = "\n".join(f"7 x {n} = {7 * n}" for n in range(1, 11))
    assert not repetitive(table, RepetitionConfig(), table, lines=True)
    assert repetitive(table.replace(" x ", " times "), RepetitionConfig(), table, lines=True)


def test_a_loop_in_chinese_is_dropped_and_a_varied_answer_is_kept() -> None:
    # no spaces between Chinese words: the n-gram rules count characters (two to a word)
    ins = "请解释自然选择的过程。"
    opening = "自然选择是生物演化中的一种重要机制，它通过选择性压力来促进物种的进化。"
    loop = opening + "我们应该保护环境，因为环境是我们共同的家园，也是子孙后代的家园。" * 3
    assert reason_of(instruction=ins, response=loop, language="zh") == "repetition"
    varied = (opening + "个体之间存在遗传变异，适应环境的个体更容易存活并留下后代。"
              "经过许多世代，有利的性状在种群中变得常见，不利的性状逐渐减少。"
              "因此，物种会逐渐适应它所处的环境，这就是进化的基本过程。")
    assert reason_of(instruction=ins, response=varied, language="zh") is None


# Structure that repeats by design, as strong models' published answers show it: each of these
# was dropped as a loop before (5,845 such answers: 97 dropped, most of them by design).
VERSE = ("I'm stuck in suburbia, it's a world so grey\nCouncil houses and corner shops, every "
         "single day\nI dream of London nightlife, of punk and new wave too\n")
CHORUS = ("Chorus:\nOh, the boredom is a killer, it's a slow decay\nI'm just a teenager in "
          "Thatcher's UK, what can I say?\nI'm searching for a meaning, in the streets and in "
          "my head\nBut it's hard to find a purpose, when the future's already dead\n")


def test_a_song_keeps_its_chorus_and_a_stanza_said_over_and_over_is_a_loop() -> None:
    ins = "Write a song about a teenager in 1980s Britain."
    verses = [VERSE.replace("suburbia", place) for place in ("Leeds", "Hull", "Derby", "Wigan")]
    song = "".join(verse + "\n" + CHORUS + "\n" for verse in verses)
    assert reason_of(instruction=ins, response=song) is None
    assert reason_of(instruction=ins, response=(CHORUS + "\n") * 10) == "repetition"
    # outside a song, the same four lines said four times are a loop
    assert reason_of(instruction="Describe life in 1980s Britain.",
                     response=song.replace("Chorus:\n", "")) == "repetition"


def test_a_script_repeats_its_speakers_and_an_outline_its_sub_items() -> None:
    script = "\n\n".join(f"JULIA\n{line}\n\nPAUL\n{reply}" for line, reply in (
        ("Bonjour, my dears! Today we make a boeuf bourguignon.", "Is that smoke?"),
        ("Nonsense, that is the aroma of the wine reducing.", "The pot is moving, Julia."),
        ("A good stew always wants to stir itself a little.", "It has tentacles!"),
        ("Then we shall need a larger pot, and more butter.", "I am calling someone.")))
    assert reason_of(instruction="Write a scene for a cooking show that turns to horror.",
                     response=script) is None
    heads = ("Application Development", "Network Infrastructure", "IT Help Desk",
             "Cybersecurity", "Artificial Intelligence")
    plans = (("Adopt agile delivery", "Automate regression tests", "Pair developers with "
              "the business"), ("Upgrade the core switches", "Monitor links around the clock",
                                "Segment the guest network"),
             ("Centralise tickets in one queue", "Publish answers for self-service",
              "Measure time to resolution"), ("Audit access every quarter", "Require "
                                                "multi-factor sign-in", "Train staff on "
                                                "phishing"),
             ("Pilot AI on document review", "Choose vendors by a scored test", "Teach "
                                                                            "teams the tools"))
    outline = "II. Gap Analysis Summary\n" + "".join(
        f"   {chr(65 + k)}. {head}\n      1. Current state assessment\n"
        f"      2. Identified gaps and challenges\n      3. Opportunities for improvement\n"
        for k, head in enumerate(heads)) + "\nIII. Action Plans\n" + "".join(
        f"   {chr(65 + k)}. {head}\n" + "".join(f"      {n}. {step}\n"
                                                 for n, step in enumerate(steps, 1))
        for k, (head, steps) in enumerate(zip(heads, plans, strict=True)))
    assert reason_of(instruction="Write an outline for an IT strategic plan with a gap "
                                 "analysis per department.", response=outline) is None


def test_fields_and_shared_places_are_no_repeated_items() -> None:
    places = ("Carnegie Mellon University, Pittsburgh, PA, USA", "MIT, Cambridge, MA, USA",
              "Stanford University, Stanford, CA, USA", "UC Berkeley, Berkeley, CA, USA",
              "Georgia Tech, Atlanta, GA, USA", "University of Michigan, Ann Arbor, MI, USA",
              "Cornell University, Ithaca, NY, USA", "Caltech, Pasadena, CA, USA")
    listed = "\n".join(f"{k}. {place}" for k, place in enumerate(places, 1))
    assert reason_of(instruction="What are the best universities for robotics?",
                     response=listed) is None
    triples = "\n\n".join(f"{k}. Subject: Orkney Islands\n   Predicate: {p}\n   Object: {o}"
                          for k, (p, o) in enumerate((
                              ("is considering", "alternative forms of governance"),
                              ("is made up of", "about 70 islands"),
                              ("has a population of", "22,000 people"),
                              ("were part of", "Norway until 1472"),
                              ("lies off", "the north coast of Scotland"),
                              ("is led by", "council leader James Stockan"),
                              ("was neglected by", "the Scottish government"),
                              ("was neglected by", "the British government")), 1))
    assert reason_of(instruction="Represent this news story as RDF triples.",
                     response=triples) is None


def test_code_is_held_to_its_own_bar() -> None:
    ins = "Write a first person controller in GDScript for Godot 3, then show it for Godot 4."
    body = ("var speed = 10.0\nvar gravity = -9.8\nvar velocity = Vector3.ZERO\n\n"
            "func _physics_process(delta):\n    velocity.x = 0\n    velocity.z = 0\n"
            "    if Input.is_action_pressed(\"ui_right\"):\n        velocity.x += speed\n"
            "    if Input.is_action_pressed(\"ui_left\"):\n        velocity.x -= speed\n"
            "    velocity.y += gravity * delta\n")
    two = (f"For Godot 3:\n\n```gdscript\nextends KinematicBody\n\n{body}    velocity = "
           f"move_and_slide(velocity, Vector3.UP)\n```\n\nFor Godot 4, the node is "
           f"CharacterBody3D:\n\n```gdscript\nextends CharacterBody3D\n\n{body}    "
           f"move_and_slide()\n```")
    assert reason_of(instruction=ins, response=two) is None
    stuck = "Here it is:\n\n```python\n" + "import tensorflow as tf\nimport numpy as np\n" * 30
    assert reason_of(instruction="Write a Keras model that classifies images.",
                     response=stuck + "```") == "repetition"
