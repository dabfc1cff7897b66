"""langdetect's own answers for many texts at once, 10-20x faster than one `detect_langs`
call per text.

langdetect (a port of Cybozu's detector) scores a text in 7 trials: each draws the text's
n-grams at random from a generator seeded per text and multiplies 55 language probabilities
by each drawn n-gram's profile, normalising every 5 draws until one language passes 0.99999.
In pure Python that is ~5 ms per text, all of it in the per-language loops. Here the texts of
a batch walk their trials side by side and the products run as numpy rows. Every text makes
the same draws in the same order: all generators start from one seed, so the draws are read
off that generator's word stream in bulk (`_Draws`). Every step is the same IEEE operation on
the same numbers (an elementwise multiply, a sequential sum, a divide), so the probabilities
are langdetect's to the last bit (`tests/language/test_langdetect_batch.py` checks them against
`detect_langs` on real texts); `bench/curation.py` prints the speed-up. Text cleaning is
langdetect's own method, and its n-gram extraction is followed step by step with each
character normalised once. Under `ONE_BY_ONE` texts the numpy rows cost more to set up than
they save, so a small batch (a mid-run screen asks for two or three texts) goes through
langdetect's own loop, text by text.

The side-by-side scoring follows langdetect 1.0.9 (pinned in pyproject.toml) and CPython's
`random.Random`, names that are public but whose workings no release promises. So before a
process first uses it, `batch_agrees` scores `PROBE` both ways; if any probability differs
(another langdetect, another Python), every text goes through langdetect's own loop: slower,
the same verdicts, and a warning says so."""

from __future__ import annotations

import functools
import logging
import math
import random
from collections.abc import Callable

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from langdetect.utils.ngram import NGram

Result = tuple[str, dict[str, float]]
TWOPI = 2.0 * math.pi  # as the random module has it
ONE_BY_ONE = 8  # fewer texts run one by one: 1 text 3 ms there, 9 ms as rows; 10: 48 vs 35 ms
log = logging.getLogger(__name__)
# Texts of several scripts, lengths and languages, scored both ways by `batch_agrees`.
PROBE = (
    "The supplier shall keep all confidential information secret for five years.",
    "Le fournisseur doit garder secrètes les informations confidentielles du client.",
    "Der Lieferant muss alle vertraulichen Informationen fünf Jahre geheim halten.",
    "El proveedor debe mantener en secreto toda la información confidencial.",
    "Il fornitore deve mantenere segrete tutte le informazioni riservate.",
    "Поставщик обязан хранить всю конфиденциальную информацию в тайне.",
    "供应商应对所有机密信息保密五年。",
    "Draft an NDA clause. Der Lieferant haftet nicht.",
    "ok",
    "12345 !!!",
)


@functools.cache
def _factory() -> DetectorFactory:
    """langdetect's profiles, loaded once into a factory of our own (its public class)."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


def detect_batch(texts: list[str], seed: int = 0) -> list[Result]:
    """Per text: langdetect's top language and its reported probabilities ("", {} where
    langdetect raises for a text with no features), as `detect_langs` with this seed gives."""
    if len(texts) < ONE_BY_ONE or not batch_agrees():
        return one_by_one(texts, seed)
    return side_by_side(texts, seed)


def one_by_one(texts: list[str], seed: int = 0) -> list[Result]:
    """langdetect's own loop, text by text: the reference the side-by-side scoring follows."""
    factory = _factory()
    factory.set_seed(seed)
    return [_own(text, factory) for text in texts]


@functools.cache
def batch_agrees() -> bool:
    """Whether `side_by_side` gives langdetect's own answers on `PROBE` (checked once per
    process; a warning when not)."""
    same = agrees(side_by_side)
    if not same:
        log.warning("langdetect's texts scored side by side differ from its own answers "
                    "(another langdetect or Python?): each text is scored on its own "
                    "(slower, the same verdicts)")
    return same


def agrees(batch: Callable[[list[str], int], list[Result]]) -> bool:
    """Whether `batch` gives `one_by_one`'s answers, to the last bit, on `PROBE` with two
    seeds. A batch that raises does not agree."""
    for seed in (0, 1):
        try:
            got = batch(list(PROBE), seed)
        except (AttributeError, TypeError, ValueError, IndexError, KeyError):
            return False
        if got != one_by_one(list(PROBE), seed):
            return False
    return True


def side_by_side(texts: list[str], seed: int = 0) -> list[Result]:
    """`one_by_one`'s answers, with the texts' trials run together as numpy rows."""
    factory = _factory()
    factory.set_seed(seed)
    detectors, grams = [], []
    vocab: dict[str, int] = {}
    words: dict[str, list[int]] = {}
    for text in texts:
        d = factory.create()
        d.append(text)
        d.cleaning_text()
        detectors.append(d)
        grams.append(_ngram_ids(d.text, factory.word_lang_prob_map, vocab, words))
    live = [k for k, g in enumerate(grams) if g]
    if live:
        profiles = np.array([factory.word_lang_prob_map[w] for w in vocab], dtype=np.float64)
        probs = _trials([detectors[k] for k in live], [grams[k] for k in live], profiles)
        for k, langprob in zip(live, probs.tolist(), strict=True):
            detectors[k].langprob = langprob
    out: list[Result] = []
    for d, g in zip(detectors, grams, strict=True):
        if not g:
            out.append(("", {}))
            continue
        out.append(_result(d.get_probabilities()))  # langdetect's own threshold and order
    return out


class _Normalized(dict):
    """Character code -> `NGram.normalize` of it, computed once per character (a
    `str.translate` table): langdetect calls it for every character of every text."""

    def __missing__(self, code: int) -> str:
        value = self[code] = NGram.normalize(chr(code))
        return value


_NORMALIZED = _Normalized()


def _ngram_ids(text: str, known: dict[str, list[float]], vocab: dict[str, int],
               words: dict[str, list[int]]) -> list[int]:
    """`Detector._extract_ngrams` of a cleaned text, as ids in `vocab`. The extractor's state
    (its 3-character buffer, its capitals flag) starts afresh after every space, so a text's
    n-grams are its words' (each with the space after it, but the last) in order: each
    distinct word is walked once per batch (`words`), not once per occurrence."""
    pieces = text.translate(_NORMALIZED).split(" ")
    out: list[int] = []
    last = len(pieces) - 1
    for k, piece in enumerate(pieces):
        if not piece:
            continue
        if k < last:
            piece += " "
        got = words.get(piece)
        if got is None:
            got = words[piece] = [vocab.setdefault(w, len(vocab)) for w in _walk(piece, known)]
        out += got
    return out


def _walk(text: str, known: dict[str, list[float]]) -> list[str]:
    """`Detector._extract_ngrams` on normalised characters: the same n-grams in the same
    order, with `NGram.add_char`'s buffer kept in locals."""
    out: list[str] = []
    grams, capital = " ", False
    for ch in text:
        last = grams[-1]
        if last == " ":
            grams, capital = " ", False
            if ch == " ":
                continue
        elif len(grams) >= NGram.N_GRAM:
            grams = grams[1:]
        grams += ch
        if ch.isupper():
            if last.isupper():
                capital = True
        else:
            capital = False
        if capital:
            continue
        for n in (1, 2, 3):
            if len(grams) < n:
                break
            w = grams[-n:]
            if w != " " and w in known:
                out.append(w)
    return out


def _result(langs: list) -> Result:
    return langs[0].lang.split("-")[0], {lang.lang.split("-")[0]: lang.prob for lang in langs}


def _own(text: str, factory: DetectorFactory) -> Result:
    """langdetect's own answer for one text (its loop, its seeded generator)."""
    d = factory.create()
    d.append(text)
    try:
        return _result(d.get_probabilities())
    except LangDetectException:  # no features in the text
        return "", {}


class _Draws:
    """The draws `random.Random(seed)` makes for langdetect, read off its raw 32-bit stream.

    Every text's generator starts from the same seed, so all texts read one stream: numpy's
    MT19937, set to Python's state, gives its words in bulk. `choice` of n items takes the top
    `n.bit_length()` bits of a word and skips values >= n (`_randbelow_with_getrandbits`), and
    `gauss` takes four words every other call (it keeps its second value for the next one):
    the same words, the same draws, without a Python call per draw."""

    def __init__(self, seed: int) -> None:
        state = random.Random(seed).getstate()[1]
        self.bits = np.random.MT19937()
        self.bits.state = {"bit_generator": "MT19937", "state": {
            "key": np.array(state[:624], dtype=np.uint32), "pos": state[624]}}
        self.words = np.zeros(0, dtype=np.uint32)
        self.accepted: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # n -> positions, values

    def _grow(self, size: int) -> None:
        if size > len(self.words):
            more = max(size - len(self.words), len(self.words), 1 << 14)
            self.words = np.concatenate([self.words,
                                         self.bits.random_raw(more).astype(np.uint32)])
            self.accepted.clear()

    def gauss(self, pos: int) -> tuple[float, float]:
        """`gauss(0, 1)` from the four words at `pos`: its value, and the one it keeps."""
        self._grow(pos + 4)
        a, b, c, d = (int(w) for w in self.words[pos:pos + 4])
        u1 = ((a >> 5) * 67108864.0 + (b >> 6)) * (1.0 / 9007199254740992.0)
        u2 = ((c >> 5) * 67108864.0 + (d >> 6)) * (1.0 / 9007199254740992.0)
        x2pi = u1 * TWOPI
        g2rad = math.sqrt(-2.0 * math.log(1.0 - u2))
        return math.cos(x2pi) * g2rad, math.sin(x2pi) * g2rad

    def choices(self, n: int, pos: int, count: int) -> tuple[np.ndarray, int]:
        """The next `count` values of `choice(range(n))` from `pos`, and the position after
        the last word they used."""
        while True:
            positions, values = self._accepted(n)
            first = int(np.searchsorted(positions, pos))
            if first + count <= len(positions):
                return (values[first:first + count],
                        int(positions[first + count - 1]) + 1)
            self._grow(2 * len(self.words))

    def _accepted(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        got = self.accepted.get(n)
        if got is None:
            top = self.words >> np.uint32(32 - n.bit_length())
            positions = np.flatnonzero(top < n)
            got = self.accepted[n] = (positions, top[positions].astype(np.int64))
        return got


def _trials(detectors: list[Detector], grams: list[list[int]],
            profiles: np.ndarray) -> np.ndarray:
    """`Detector._detect_block` for every text at once (the same draws, in the same order)."""
    first = detectors[0]
    draws = _Draws(first.seed)
    n, langs = len(detectors), profiles.shape[1]
    sizes = [len(g) for g in grams]
    ids = [np.asarray(g, dtype=np.int64) for g in grams]
    pos = [0] * n  # each text's place in the stream
    kept: list[float | None] = [None] * n  # gauss's second value, per text
    langprob = np.zeros((n, langs))
    for _ in range(first.n_trial):
        prob = np.full((n, langs), 1.0 / langs)
        weight = np.empty(n)
        for k, d in enumerate(detectors):
            z = kept[k]
            if z is None:
                z, kept[k] = draws.gauss(pos[k])
                pos[k] += 4
            else:
                kept[k] = None
            weight[k] = (d.alpha + z * d.ALPHA_WIDTH) / d.BASE_FREQ
        # the texts still going, compacted: their probabilities, weights and drawn n-grams
        # (rows leave as they converge; a finished row is written back once)
        steps = 0
        active = np.arange(n)
        rows, w = prob, weight[:, None]
        drawn = np.zeros((n, 0), dtype=np.int64)
        used = np.zeros(n, dtype=np.int64)  # draws each text made this trial
        i = 0
        while len(active):
            if i == steps:  # the next block of draws of every text still going
                more = max(64, steps)
                block = np.zeros((len(active), more), dtype=np.int64)
                for r, k in enumerate(active.tolist()):
                    values, _ = draws.choices(sizes[k], pos[k], steps + more)
                    block[r] = ids[k][values[steps:]]
                drawn = np.concatenate([drawn, block], axis=1)
                steps += more
            rows = rows * (w + profiles[drawn[:, i]])
            if i % 5 == 0:
                rows /= np.cumsum(rows, axis=1)[:, -1:]  # a left-to-right sum, as sum() is
                done = (rows.max(axis=1) > first.CONV_THRESHOLD) | (i >= first.ITERATION_LIMIT)
                if done.any():
                    prob[active[done]] = rows[done]
                    used[active[done]] = i + 1
                    going = ~done
                    active, rows, w, drawn = active[going], rows[going], w[going], drawn[going]
            i += 1
        for k in range(n):
            pos[k] = draws.choices(sizes[k], pos[k], int(used[k]))[1]
        langprob += prob / first.n_trial
    return langprob
