"""Where the semantic check should draw its line: hand-written pairs of instructions, each with
the opening of an answer, in two kinds, across domains (cooking, code, law, health, travel,
finance, history, science, writing, languages, maths, business):

- SAME: one request in other words (a semantic duplicate: one of the two should go);
- OTHER: a different request on the same topic (both should stay).

    python bench/semantic_pairs.py            # the transformer's settings and a static model
    python bench/semantic_pairs.py --sweep    # static models of several distillation settings

For each way of embedding (the shipped transformer, all-MiniLM-L6-v2, at float32 and bfloat16
with mean or CLS pooling; a static model distilled from it with model2vec,
bench/static_model.py), on the instruction alone or the instruction with the first words of
its answer, it prints the similarity ranges of both kinds, the threshold with the best F1 on
all pairs with its precision and recall of "is a duplicate", precision and recall at the
shipped threshold (`curation.semantic.threshold`), and the honest figure: a threshold chosen
on the tuning part (the even-numbered pairs of each kind) with precision and recall on the
test part (the odd-numbered), plain and with a model's boilerplate opening every answer. All
models run in one process, on the same pairs. The test's pairs
(tests/checks/duplicates/test_semantic.py) are other texts.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench import static_model  # noqa: E402
from datagen.checks.duplicates.semantic import (  # noqa: E402
    SemanticConfig,
    meaning_texts,
)
from datagen.similarity import embed  # noqa: E402

# (instruction, answer opening, the same request in other words, its answer opening)
SAME = [
    ("How long should I boil an egg for a runny yolk?", "About six minutes in boiling water",
     "What's the boiling time for a soft-boiled egg with a liquid yolk?",
     "Six minutes gives a set white and a runny yolk"),
    ("Write a Python function that checks whether a number is prime.",
     "def is_prime(n): if n < 2: return False",
     "Implement a prime-number test in Python.", "Here is a simple primality check in Python"),
    ("What is the capital of Australia?", "The capital of Australia is Canberra",
     "Which city is Australia's capital?", "Canberra is the capital city of Australia"),
    ("Explain what a non-compete clause is.",
     "A non-compete clause stops an employee from working for competitors",
     "What does a non-competition clause in a contract mean?",
     "It is a contract term that bars a worker from joining a rival"),
    ("What are common symptoms of dehydration?", "Thirst, dark urine, dizziness and fatigue",
     "How can I tell if I am dehydrated?", "Signs include feeling thirsty, dark yellow urine"),
    ("Suggest a three-day itinerary for Rome.", "Day 1: the Colosseum and the Forum",
     "Plan three days of sightseeing in Rome for me.", "Start with ancient Rome on the first day"),
    ("How does compound interest work?", "Interest is earned on the principal and on past interest",
     "Explain the idea of compounding interest.",
     "Compounding means your interest itself earns interest"),
    ("Why did the Roman Empire fall?", "Historians cite economic decline, invasions and division",
     "What caused the collapse of the Roman Empire?",
     "Several causes combined: invasions, overspending and political instability"),
    ("Explain photosynthesis in simple terms.",
     "Plants use sunlight to turn water and CO2 into sugar",
     "Describe how photosynthesis works, simply.",
     "Photosynthesis is how plants make food from light"),
    ("Write a haiku about autumn leaves.", "Crimson leaves drifting / on the cold October wind",
     "Compose a haiku on falling leaves in autumn.",
     "Golden leaves let go / spinning softly to the ground"),
    ("How do you say 'thank you' in Japanese?", "Arigatou gozaimasu is the polite form",
     "What is the Japanese word for 'thank you'?", "In Japanese, thank you is arigatou"),
    ("Solve for x: 2x + 6 = 14.", "Subtract 6 from both sides: 2x = 8, so x = 4",
     "Find x if 2x plus 6 equals 14.", "x = 4, because 2 times 4 plus 6 is 14"),
    ("Give me tips for writing a cover letter.", "Address it to a person, open with the role",
     "How do I write a good cover letter?", "Tailor it to the job and keep it to one page"),
    ("What is the difference between a list and a tuple in Python?",
     "Lists are mutable while tuples are immutable",
     "How do Python lists differ from tuples?",
     "A tuple cannot be changed after creation, a list can"),
    ("Recommend some exercises to strengthen my lower back.",
     "Try bridges, bird dogs and planks",
     "Which exercises help build a stronger lower back?",
     "Good options are the bird dog, glute bridge and plank"),
    ("Summarise the main ideas of stoicism.",
     "Stoicism teaches that virtue is the only good",
     "What are the core principles of Stoic philosophy?",
     "The Stoics held that we control only our judgements"),
    ("How can I reduce my monthly grocery bill?", "Plan meals, buy store brands and avoid waste",
     "What are ways to spend less on groceries each month?",
     "Make a list, cook at home and buy in bulk"),
    ("What is a SWOT analysis?", "A SWOT analysis lists strengths, weaknesses, opportunities",
     "Explain what SWOT analysis means in business.",
     "It is a planning tool that looks at strengths and weaknesses"),
    ("How do vaccines work?", "Vaccines train the immune system to recognise a pathogen",
     "Explain how a vaccine protects the body.",
     "A vaccine shows your immune system a harmless piece of a germ"),
    ("Convert 100 degrees Fahrenheit to Celsius.", "100 F is about 37.8 C",
     "What is 100 °F in Celsius?", "That is roughly 37.8 degrees Celsius"),
    ("Write a SQL query that returns the ten most recent orders.",
     "SELECT * FROM orders ORDER BY created_at DESC LIMIT 10;",
     "Give me SQL to fetch the latest 10 rows from the orders table.",
     "Use ORDER BY on the date column descending with LIMIT 10"),
    ("What should I pack for a week of hiking in the Alps?",
     "Layers, a waterproof jacket, sturdy boots",
     "Make a packing list for a seven-day Alpine hiking trip.",
     "Essentials: boots, rain shell, warm layers"),
    ("Who wrote Pride and Prejudice?", "Jane Austen wrote Pride and Prejudice in 1813",
     "Who is the author of the novel Pride and Prejudice?",
     "The novel was written by Jane Austen"),
    ("How do I get rid of aphids on my roses?",
     "Spray them off with water or use insecticidal soap",
     "What's the best way to remove aphids from rose bushes?",
     "A strong jet of water and neem oil work well"),
    ("Explain the difference between weather and climate.",
     "Weather is short-term; climate is the long-term average",
     "What distinguishes climate from weather?",
     "Climate describes patterns over decades, weather over days"),
    ("What does a limited liability company protect the owners from?",
     "An LLC shields the owners' personal assets from business debts",
     "How does forming an LLC protect its members?",
     "Members are not personally liable for the company's debts"),
    ("Rewrite this sentence in the passive voice: The cat chased the mouse.",
     "The mouse was chased by the cat.",
     "Put 'The cat chased the mouse' into passive voice.", "The mouse was chased by the cat."),
    ("How many hours of sleep does an adult need?", "Most adults need seven to nine hours",
     "What is the recommended amount of sleep for grown-ups?",
     "Adults should sleep between seven and nine hours a night"),
    ("Give me a recipe for vegetarian chili.", "Saute onions and peppers, add beans and tomatoes",
     "How do I make a meat-free chili?", "Use kidney beans, black beans and plenty of spices"),
    ("What is the Pythagorean theorem?",
     "In a right triangle, a squared plus b squared equals c squared",
     "State the theorem of Pythagoras.",
     "The square of the hypotenuse equals the sum of the squares"),
    ("How do I centre a div horizontally with CSS?", "Give it a width and set margin: 0 auto",
     "What CSS centres a block element horizontally?",
     "Use margin-left and margin-right auto, or flexbox"),
    ("What are the benefits of meditation?", "Meditation can lower stress and improve focus",
     "Why is meditating good for you?",
     "Regular meditation reduces anxiety and sharpens attention"),
    ("Translate 'where is the train station' into Spanish.", "¿Dónde está la estación de tren?",
     "How would I ask 'where is the train station' in Spanish?",
     "You would say: ¿Dónde está la estación de tren?"),
    ("Draft a polite email asking my landlord to fix the heating.",
     "Dear Mr Smith, I am writing to let you know the heating",
     "Write a courteous message to my landlord requesting a heating repair.",
     "Hello, I hope you are well. The heating in my flat has stopped"),
]

# (instruction, answer opening, a different request on the same topic, its answer opening)
OTHER = [
    ("How long should I boil an egg for a runny yolk?", "About six minutes in boiling water",
     "How long should I boil an egg for a hard yolk?", "Ten to twelve minutes for a firm yolk"),
    ("Write a Python function that checks whether a number is prime.",
     "def is_prime(n): if n < 2: return False",
     "Write a Python function that returns the nth Fibonacci number.",
     "def fib(n): a, b = 0, 1"),
    ("What is the capital of Australia?", "The capital of Australia is Canberra",
     "What is the largest city in Australia?", "Sydney is Australia's largest city"),
    ("Explain what a non-compete clause is.",
     "A non-compete clause stops an employee from working for competitors",
     "Explain what a non-solicitation clause is.",
     "It stops a former employee from poaching clients or staff"),
    ("What are common symptoms of dehydration?", "Thirst, dark urine, dizziness and fatigue",
     "How much water should I drink each day?", "Around two litres for most adults"),
    ("Suggest a three-day itinerary for Rome.", "Day 1: the Colosseum and the Forum",
     "Suggest a three-day itinerary for Paris.", "Day 1: the Louvre and a walk along the Seine"),
    ("How does compound interest work?", "Interest is earned on the principal and on past interest",
     "How does a mortgage interest rate get set?", "Lenders start from the central bank rate"),
    ("Why did the Roman Empire fall?", "Historians cite economic decline, invasions and division",
     "How did the Roman Empire begin?", "It began when Augustus became the first emperor"),
    ("Explain photosynthesis in simple terms.",
     "Plants use sunlight to turn water and CO2 into sugar",
     "Explain cellular respiration in simple terms.", "Cells break down sugar to release energy"),
    ("Write a haiku about autumn leaves.", "Crimson leaves drifting / on the cold October wind",
     "Write a limerick about autumn leaves.", "There once was a leaf on a tree"),
    ("How do you say 'thank you' in Japanese?", "Arigatou gozaimasu is the polite form",
     "How do you say 'thank you' in Korean?", "Gamsahamnida is the polite form"),
    ("Solve for x: 2x + 6 = 14.", "Subtract 6 from both sides: 2x = 8, so x = 4",
     "Solve for x: x squared minus 9 = 0.", "x squared = 9, so x = 3 or x = -3"),
    ("Give me tips for writing a cover letter.", "Address it to a person, open with the role",
     "Give me tips for preparing for a job interview.",
     "Research the company and practise answers"),
    ("What is the difference between a list and a tuple in Python?",
     "Lists are mutable while tuples are immutable",
     "What is the difference between a list and a set in Python?",
     "A set holds unique items with no order"),
    ("Recommend some exercises to strengthen my lower back.",
     "Try bridges, bird dogs and planks",
     "Recommend some stretches to relieve lower back pain.",
     "Try the child's pose and knee-to-chest stretch"),
    ("Summarise the main ideas of stoicism.",
     "Stoicism teaches that virtue is the only good",
     "Summarise the main ideas of existentialism.",
     "Existentialism holds that existence precedes essence"),
    ("How can I reduce my monthly grocery bill?", "Plan meals, buy store brands and avoid waste",
     "How can I reduce my monthly electricity bill?",
     "Switch to LED bulbs and unplug idle devices"),
    ("What is a SWOT analysis?", "A SWOT analysis lists strengths, weaknesses, opportunities",
     "What is a PESTLE analysis?", "PESTLE looks at political, economic, social factors"),
    ("How do vaccines work?", "Vaccines train the immune system to recognise a pathogen",
     "What are the common side effects of vaccines?", "A sore arm, mild fever and tiredness"),
    ("Convert 100 degrees Fahrenheit to Celsius.", "100 F is about 37.8 C",
     "Convert 100 kilometres to miles.", "100 km is about 62.1 miles"),
    ("Write a SQL query that returns the ten most recent orders.",
     "SELECT * FROM orders ORDER BY created_at DESC LIMIT 10;",
     "Write a SQL query that counts orders per customer.",
     "SELECT customer_id, COUNT(*) FROM orders GROUP BY customer_id;"),
    ("What should I pack for a week of hiking in the Alps?",
     "Layers, a waterproof jacket, sturdy boots",
     "What is the best season for hiking in the Alps?",
     "Late June to September, when passes are open"),
    ("Who wrote Pride and Prejudice?", "Jane Austen wrote Pride and Prejudice in 1813",
     "What is Pride and Prejudice about?", "It follows Elizabeth Bennet and Mr Darcy"),
    ("How do I get rid of aphids on my roses?",
     "Spray them off with water or use insecticidal soap",
     "How do I prune my roses in spring?", "Cut out dead wood and trim above an outward bud"),
    ("Explain the difference between weather and climate.",
     "Weather is short-term; climate is the long-term average",
     "Explain what causes the seasons.", "The tilt of Earth's axis changes the angle of sunlight"),
    ("What does a limited liability company protect the owners from?",
     "An LLC shields the owners' personal assets from business debts",
     "How are limited liability companies taxed?", "By default an LLC's profits pass through"),
    ("Rewrite this sentence in the passive voice: The cat chased the mouse.",
     "The mouse was chased by the cat.",
     "Rewrite this sentence in the future tense: The cat chased the mouse.",
     "The cat will chase the mouse."),
    ("How many hours of sleep does an adult need?", "Most adults need seven to nine hours",
     "How many hours of sleep does a newborn need?", "Newborns sleep fourteen to seventeen hours"),
    ("Give me a recipe for vegetarian chili.", "Saute onions and peppers, add beans and tomatoes",
     "Give me a recipe for cornbread to serve with chili.", "Mix cornmeal, flour, milk and an egg"),
    ("What is the Pythagorean theorem?",
     "In a right triangle, a squared plus b squared equals c squared",
     "What is the area of a triangle?", "Half the base times the height"),
    ("How do I centre a div horizontally with CSS?", "Give it a width and set margin: 0 auto",
     "How do I make a div scroll when its content overflows?",
     "Set overflow: auto and a fixed height"),
    ("What are the benefits of meditation?", "Meditation can lower stress and improve focus",
     "How do I start a daily meditation habit?",
     "Begin with five minutes at the same time each day"),
    ("Translate 'where is the train station' into Spanish.", "¿Dónde está la estación de tren?",
     "Translate 'where is the train station' into German.", "Wo ist der Bahnhof?"),
    ("Draft a polite email asking my landlord to fix the heating.",
     "Dear Mr Smith, I am writing to let you know the heating",
     "Draft a polite email giving my landlord notice that I am moving out.",
     "Dear Mr Smith, I am writing to give you notice"),
]


TUNE, TEST = slice(0, None, 2), slice(1, None, 2)  # fixed halves of SAME and of OTHER
Encoder = Callable[[list[str]], np.ndarray]  # texts -> unit vectors
OPENER = "Certainly! Here is a clear answer to your question. "  # a model's boilerplate
GRID = np.round(np.arange(0.30, 0.99, 0.01), 2)


def similarities(pairs: list[tuple[str, str, str, str]], encoder: Encoder, *, answer: bool,
                 opener: str = "") -> np.ndarray:
    """Cosine similarity of each pair's two sides (each answer after `opener`)."""
    left = meaning_texts([p[0] for p in pairs],
                         [opener + p[1] if answer else None for p in pairs])
    right = meaning_texts([p[2] for p in pairs],
                          [opener + p[3] if answer else None for p in pairs])
    return (encoder(left) * encoder(right)).sum(1)


def scores(same: np.ndarray, other: np.ndarray, threshold: float) -> tuple[float, float]:
    """Precision and recall of "a duplicate" (similarity >= threshold)."""
    caught = int((same >= threshold).sum())
    wrong = int((other >= threshold).sum())
    return caught / max(1, caught + wrong), caught / len(same)


def best_threshold(same: np.ndarray, other: np.ndarray) -> float:
    """The threshold with the best F1 on these pairs (the lowest of equals)."""
    f1 = [2 * p * r / max(1e-9, p + r) for p, r in (scores(same, other, t) for t in GRID)]
    return float(GRID[int(np.argmax(f1))])


def tuned_threshold(encoder: Encoder) -> float:
    """The threshold an encoder gets from the tuning part (instruction and answer opening)."""
    return best_threshold(similarities(SAME[TUNE], encoder, answer=True),
                          similarities(OTHER[TUNE], encoder, answer=True))


def minilm(dtype: str, pooling: str) -> Encoder:
    return lambda texts: embed.encode(texts, dtype=dtype, pooling=pooling)


def row(name: str, encoder: Encoder, answer: bool, shipped: float | None) -> list[str]:
    """One line of the table: the ranges and best threshold on every pair, precision and
    recall at the shipped threshold, the threshold chosen on the tuning part with precision
    and recall on the test part, and the same on the test part with boilerplate openers."""
    same = similarities(SAME, encoder, answer=answer)
    other = similarities(OTHER, encoder, answer=answer)
    best = best_threshold(same, other)
    tuned = best_threshold(same[TUNE], other[TUNE])
    cells = [f"{name:<46}", f"{same.min():>6.2f}-{same.max():.2f}",
             f"{other.min():>6.2f}-{other.max():.2f}", f"{best:>6.2f}",
             *(f"{x:>6.2f}" for x in scores(same, other, best))]
    cells += ([f"{x:>8.2f}" for x in scores(same, other, shipped)] if shipped is not None
              else [f"{'-':>8}"] * 2)
    cells += [f"{tuned:>7.2f}", *(f"{x:>6.2f}" for x in scores(same[TEST], other[TEST], tuned))]
    if answer:
        noisy = (similarities(SAME[TEST], encoder, answer=True, opener=OPENER),
                 similarities(OTHER[TEST], encoder, answer=True, opener=OPENER))
        cells += [f"{x:>8.2f}" for x in scores(*noisy, tuned)]
    else:
        cells += [f"{'-':>8}"] * 2
    return cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweep", action="store_true",
                    help="static models of every distillation setting in bench/static_model.py "
                         "(each distilled once, ~45 s, then cached)")
    args = ap.parse_args()
    shipped = SemanticConfig.model_fields["threshold"].default
    print(f"{len(SAME)} pairs asking the same thing, {len(OTHER)} different requests on one "
          f"topic (tuning part: the even-numbered pairs, test part: the odd-numbered); shipped "
          f"threshold {shipped}; 'boiler': the test part with {OPENER.strip()!r} before every "
          "answer, at the tuned threshold")
    print(f"\n{'embedding':<46}{'same':>13}{'other':>13}{'best':>6}{'P':>6}{'R':>6}"
          f"{'P@ship':>8}{'R@ship':>8}{'tuned':>7}{'Ptest':>6}{'Rtest':>6}{'Pboiler':>8}"
          f"{'Rboiler':>8}")
    for dtype in ("float32", "bfloat16"):
        for pooling in ("mean", "cls"):
            for answer in (False, True):
                name = (f"MiniLM {dtype} {pooling}, "
                        f"{'instr+answer' if answer else 'instruction'}")
                print("".join(row(name, minilm(dtype, pooling), answer, shipped)))
    lacking = static_model.missing()
    if lacking:
        print(f"static models: not measured ({', '.join(lacking)} not installed)")
    else:
        for setting in static_model.SWEEP if args.sweep else (static_model.DEFAULT,):
            model, took = static_model.load(setting)
            made = f" (distilled in {took:.0f} s)" if took else ""
            for answer in (False, True) if setting == static_model.DEFAULT else (True,):
                print("".join(row(f"{setting.describe()}, "
                                  f"{'instr+answer' if answer else 'instruction'}",
                                  functools.partial(static_model.encode, model), answer, None))
                      + made)
    # the shipped embedding: where bfloat16's verdicts differ from float32's, and the misses
    got = {dtype: (similarities(SAME, minilm(dtype, "mean"), answer=True),
                   similarities(OTHER, minilm(dtype, "mean"), answer=True))
           for dtype in ("float32", "bfloat16")}
    differ = sum(int(((a >= shipped) != (b >= shipped)).sum())
                 for a, b in zip(got["float32"], got["bfloat16"], strict=True))
    print(f"\nmean, instr+answer at {shipped}: {differ} of {len(SAME) + len(OTHER)} verdicts "
          f"differ between float32 and bfloat16")
    same, other = got[embed.precision()]
    for sim, (a, _, c, _) in zip(same, SAME, strict=True):
        if sim < shipped:
            print(f"  missed paraphrase {sim:.2f}: {a} | {c}")
    for sim, (a, _, c, _) in zip(other, OTHER, strict=True):
        if sim >= shipped:
            print(f"  distinct request taken for one {sim:.2f}: {a} | {c}")


if __name__ == "__main__":
    main()
