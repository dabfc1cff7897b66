"""The batched langdetect gives langdetect's own answers, to the last bit, on real texts."""

from __future__ import annotations

import json
from pathlib import Path

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from datagen.language.langdetect_batch import (
    PROBE,
    agrees,
    batch_agrees,
    detect_batch,
    side_by_side,
)
from datagen.language.langdetect_batch import (
    one_by_one as own_loop,
)

DEVSET = Path(__file__).resolve().parents[2] / "bench" / "data" / "devset.jsonl"


def one_by_one(text: str, seed: int) -> tuple[str, dict[str, float]]:
    DetectorFactory.seed = seed
    try:
        langs = detect_langs(text)
    except LangDetectException:
        return "", {}
    finally:
        DetectorFactory.seed = None
    return langs[0].lang.split("-")[0], {lang.lang.split("-")[0]: lang.prob for lang in langs}


def test_batch_equals_detect_langs_on_the_dev_set() -> None:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    # real instructions and responses (several languages among them), plus texts with no
    # features, which langdetect refuses
    texts = [r[k] for r in rows[:120] for k in ("instruction", "response")] + ["", "12345 !!"]
    for seed in (0, 11):
        got = detect_batch(texts, seed)
        assert got == [one_by_one(t, seed) for t in texts]
        # small batches (langdetect's loop, text by text) give the same answers
        assert [r for lo in range(0, 14, 7) for r in detect_batch(texts[lo:lo + 7], seed)] \
            == got[:14]
        assert detect_batch(texts[-2:], seed) == got[-2:]
    assert len({top for top, _ in got} - {""}) >= 3  # the sample holds several languages
    assert got[-2:] == [("", {}), ("", {})]


def test_the_pinned_langdetect_passes_the_self_check() -> None:
    """The side-by-side scoring is used (not the slower fallback) on the pinned version."""
    import re
    from importlib.metadata import version

    pyproject = (DEVSET.parents[2] / "pyproject.toml").read_text()
    assert f'"langdetect=={version("langdetect")}"' in pyproject
    assert re.search(r'"langdetect==[\d.]+"', pyproject)
    assert batch_agrees()


def test_a_batch_that_drifted_fails_the_self_check() -> None:
    """Answers that differ in any bit (here: another seed's draws), or a batch that raises
    (a renamed attribute), fail `agrees`; `detect_batch` then scores text by text."""
    assert agrees(side_by_side)
    assert not agrees(lambda texts, seed: side_by_side(texts, seed + 1))

    def moved(texts: list[str], seed: int) -> list[tuple[str, dict[str, float]]]:
        raise AttributeError("'Detector' object has no attribute 'ALPHA_WIDTH'")

    assert not agrees(moved)
    texts = list(PROBE)
    assert own_loop(texts, 3) == side_by_side(texts, 3) == detect_batch(texts, 3)
