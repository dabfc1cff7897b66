"""The one verdict contract every curation check follows.

A `Check` declares its name, the drop reasons it may give, the record columns it reads, its
config section and its level (`instruction`: every record, before any answer is paid for;
`pair`: answered records only). Its `run(ctx)` returns `Verdicts` for the rows it was shown:
a drop reason or None per row, named scores, column values (a detected language, a masked
text, a duplicate cluster) and, for a record dropped as a copy, the id of the record it lost
to. A check never writes to the frame: the runner (`datagen.curate.runner`) applies verdicts
in the declared order, so the first reason wins and the funnel reads in that order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel

from datagen.records import user_turns
from datagen.shape import expected_shapes
from datagen.text import code_views, json_document, normalize, task_part, word_counts

if TYPE_CHECKING:
    from datagen.curate.outside import References

Level = Literal["instruction", "pair"]
TEXT_COLUMNS = ("instruction", "response")  # read through `Texts`, never from a check's frame
SNAKE = re.compile(r"[a-z][a-z0-9_]*")
# The assembled `datagen.config.CurationConfig`: it is built from the checks' declarations,
# so a check cannot import it (the config would import itself through the checks).
CurationConfig = Any


def plain(values: pd.Series, missing: str | None = "") -> pd.Series:
    """A text column as Python strings in an object Series (`missing` for NA): the checks'
    loops over a pyarrow-backed column pay ~2.5 us a value in its iterator, here ~0.05."""
    return pd.Series(values.to_numpy(dtype=object, na_value=missing), index=values.index,
                     dtype=object)


class _View:
    """A per-row view, computed once per curation pass over every row of the pass and sliced
    for each check's rows: checks shown fewer and fewer rows share one computation."""

    def __init__(self, fn: Callable[[Texts], Any]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Texts | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        if self.name not in obj.__dict__:
            root = obj.root
            obj.__dict__[self.name] = (self.fn(obj) if root is obj
                                       else obj.sliced(getattr(root, self.name)))
        return obj.__dict__[self.name]


class Texts:
    """Per-row views of the rows a check sees, computed once per curation pass and sliced
    for each check (lowercasing first is ~7x faster than case-insensitive regexes)."""

    def __init__(self, frame: pd.DataFrame, root: Texts | None = None,
                 made: dict[str, Any] | None = None) -> None:
        self.frame = frame
        self._root = root  # None for the root itself: a reference to itself would be a
        # cycle, and the views of a million records would wait for the garbage collector

        self.made = made or {}  # per check, what its `prepare` made for the root's rows

    @property
    def root(self) -> Texts:
        """The pass's `Texts`, whose views every slice of it shares."""
        return self._root or self

    @_View
    def instruction(self) -> pd.Series:
        return plain(self.frame["instruction"])

    @_View
    def response(self) -> pd.Series:
        return plain(self.frame["response"])

    @_View
    def answered(self) -> pd.Series:
        """Whether the record has a response (a check's frame carries no texts)."""
        return self.frame["response"].notna().astype(bool)

    @_View
    def instruction_lc(self) -> pd.Series:
        return self.instruction.str.lower()

    @_View
    def response_lc(self) -> pd.Series:
        return self.response.str.lower()

    @_View
    def instruction_normal(self) -> pd.Series:
        """Normalised (`datagen.text.normalize`): what dedup and echo compare."""
        return pd.Series([normalize(t) for t in self.instruction], index=self.frame.index,
                         dtype=object)

    @_View
    def user_turns(self) -> list[list[str]]:
        """Per row, its user side turn by turn (`datagen.records.user_turns`): the
        instruction, later user turns and tool calls, which the reference and eval checks
        match one by one."""
        return [user_turns(text, meta) if ("turns" in meta or "calls" in meta) else [text]
                for text, meta in zip(self.instruction, self.metadata, strict=True)]

    @_View
    def conversation_normal(self) -> pd.Series:
        """The whole user side normalised: what dedup compares (two requests that call
        different tools, or two conversations that go different ways, are not copies)."""
        out = [normalize(" ".join(turns)) if len(turns) > 1 else text
               for text, turns in zip(self.instruction_normal, self.user_turns, strict=True)]
        return pd.Series(out, index=self.frame.index, dtype=object)

    @_View
    def response_normal(self) -> pd.Series:
        return pd.Series([normalize(t) for t in self.response], index=self.frame.index,
                         dtype=object)

    @_View
    def instruction_words(self) -> pd.Series:
        return word_counts(self.instruction)

    @_View
    def response_words(self) -> pd.Series:
        return word_counts(self.response)

    @_View
    def task(self) -> pd.Series:
        """The instruction without the input it carries."""
        return pd.Series([task_part(t) for t in self.instruction], index=self.frame.index,
                         dtype=object)

    @_View
    def response_prose(self) -> pd.Series:
        """The response with its code taken out."""
        return self._response_code["prose"]

    @_View
    def response_json(self) -> pd.Series:
        """Whether the response is one JSON object or array (`datagen.text.json_document`)."""
        return pd.Series([json_document(r) for r in self.response.tolist()],
                         index=self.frame.index, dtype=bool)

    @_View
    def response_has_code(self) -> pd.Series:
        return self._response_code["has_code"]

    @_View
    def _response_code(self) -> pd.DataFrame:
        has_code, prose_of = code_views(self.response.tolist())
        return pd.DataFrame({"has_code": pd.Series(has_code, index=self.frame.index, dtype=bool),
                             "prose": pd.Series(prose_of, index=self.frame.index, dtype=object)})

    @_View
    def metadata(self) -> list[dict[str, Any]]:
        return [json.loads(m) if isinstance(m, str) and m not in ("", "{}") else {}
                for m in self.frame["metadata"].tolist()]

    @_View
    def shape(self) -> pd.Series:
        """The answer each instruction expects (see `datagen.shape`)."""
        hints = [m.get("answer") for m in self.metadata]
        return pd.Series(expected_shapes(self.instruction.tolist(), hints),
                         index=self.frame.index, dtype=object)

    def stored(self, column: str) -> pd.Series:
        """A text column of these rows as stored: missing values, and ones that are not
        text, as they are (for the checks that judge or rewrite the stored values)."""
        values = self.root.frame[column]
        return values if self.root is self else values.loc[self.frame.index]

    def sliced(self, value: Any) -> Any:
        """A view of the root's rows cut down to this one's."""
        if isinstance(value, pd.Series):
            return value.loc[self.frame.index]
        pos = self.root.frame.index.get_indexer(self.frame.index)
        if hasattr(value, "take"):
            return value.take(pos)
        return [value[p] for p in pos]

    def carried(self, check: str) -> Any:
        """What `check`'s `prepare` made for these rows on the slices of the pass, or None.
        It is handed over once: the pass lets it go (a sketch is ~400 bytes a record) as
        soon as the check does."""
        made = self.root.made.pop(check, None)
        if made is None or self.root is self:
            return made
        return made.take(self.root.frame.index.get_indexer(self.frame.index))

    def forget(self) -> None:
        """Let every view and everything prepared go: the frame's texts changed (PII masking
        rewrote them), and views are made anew from the new texts when next read."""
        for name in [k for k in self.__dict__ if isinstance(vars(Texts).get(k), _View)]:
            del self.__dict__[name]
        self.made.clear()

    def take(self, frame: pd.DataFrame) -> Texts:
        """The same views for the rows of `frame`, a cut of the root's (computed once, on the
        pass's rows); the root's own when the cut holds every row."""
        root = self.root.frame
        whole = frame is root or (len(frame) == len(root) and frame.index.equals(root.index))
        return self.root if whole else Texts(frame, root=self.root)


@dataclass
class Context:
    """What a check may read: the rows under judgement, their text views, the config, the
    outside texts (seed examples, reference and eval sets, a published dataset), the scores
    given so far, the run's random seed, and the per-seed targets (final pass only).

    The runner's `frame` carries the columns the pass's checks read but not the texts
    (`TEXT_COLUMNS`): a check reads those through `texts`, whose views are made once per pass,
    so cutting the live rows copies no text (~0.55 GB at a million records)."""

    frame: pd.DataFrame
    texts: Texts
    cfg: CurationConfig
    refs: References
    scores: pd.Series  # per row, the scores so far (a dict each; judge scores included)
    seed: int = 0
    targets: dict[str, int] | None = None
    # the drop reason (or NA) the engine's answer checks give each row of a frame of fresh
    # records: how the `turns` check judges the later turns of a conversation
    answers: Callable[[pd.DataFrame], pd.Series] | None = None


@dataclass
class Verdicts:
    """A check's answer for the rows of its context (indexed like `ctx.frame`)."""

    reason: pd.Series
    scores: dict[str, pd.Series] = field(default_factory=dict)
    columns: dict[str, pd.Series] = field(default_factory=dict)
    lost_to: pd.Series | None = None
    protect: pd.Series | None = None  # True: kept, and no later check judges it (a human keep)

    @classmethod
    def none(cls, index: pd.Index) -> Verdicts:
        return cls(pd.Series(None, index=index, dtype="object"))

    @classmethod
    def recorded(cls, ctx: Context, reasons: tuple[str, ...]) -> Verdicts:
        """The verdicts generation recorded in `metadata.verdict` (a strategy's, a shape's)
        that are among `reasons`: generation decides them, curation keeps them on record."""
        known = {str(r) for r in reasons}
        verdicts = cls.none(ctx.frame.index)
        for idx, meta in zip(ctx.frame.index, ctx.texts.metadata, strict=True):
            if meta.get("verdict") in known:
                verdicts.reason[idx] = meta["verdict"]
        return verdicts

    @classmethod
    def where(cls, mask: pd.Series, reason: str, **extra: Any) -> Verdicts:
        """`reason` where `mask` is True."""
        values = pd.Series(None, index=mask.index, dtype="object")
        values[mask.fillna(False).astype(bool)] = str(reason)
        return cls(values, **extra)

    @classmethod
    def first_of(cls, index: pd.Index, masks: list[tuple[str, pd.Series]],
                 **extra: Any) -> Verdicts:
        """Per row, the first reason whose mask is True."""
        values = pd.Series(None, index=index, dtype="object")
        for reason, mask in masks:
            free = values.isna() & mask.reindex(index, fill_value=False).astype(bool)
            values[free] = str(reason)
        return cls(values, **extra)


@dataclass(frozen=True)
class Check:
    """One curation check, declared once in its module (`CHECK`, or `CHECKS` for a module
    holding several): what it is called, what it drops for and the funnel stage those reasons
    count under, what it reads, where its settings live (`curation.<section>`, and the
    pydantic model of that section when this check owns it), where it runs in a pass
    (`order`: lower first; a third-party check without one runs after the built-ins), which
    records it judges, and the function that judges them. `datagen.checks.registry` builds
    the pass's order, the reason catalogue and the curation config from these declarations."""

    name: str
    reasons: tuple[str, ...]
    inputs: tuple[str, ...]
    section: str | None
    level: Level
    run: Callable[[Context], Verdicts]
    stage: str = "other"
    order: float | None = None
    config: type[BaseModel] | None = None
    # e.g. only with eval sets configured; reads the config, outside texts and targets only
    # (never the rows: it is asked before they are cut)
    active: Callable[[Context], bool] = lambda ctx: True
    # a check that compares records may do its record-by-record part beforehand, on the
    # slices of a large pass: (texts, config, rows in the pass) -> a value with `take(positions)`
    # and `concat(parts)`, which `Texts.carried` hands back to `run`
    prepare: Callable[[Texts, CurationConfig, int], Any] | None = None

    def __post_init__(self) -> None:
        wrong = [r for r in (self.name, *self.reasons) if not SNAKE.fullmatch(str(r))]
        if wrong:
            raise ValueError(f"check {self.name!r}: names and drop reasons are short "
                             f"snake_case words, not {wrong}")
        if self.config is not None and self.section is None:
            raise ValueError(f"check {self.name!r}: a config model needs its `section` name")
