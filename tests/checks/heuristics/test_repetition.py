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
