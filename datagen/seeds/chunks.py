"""Chunking a document by its structure: headings and paragraphs, up to a size, with overlap.

A chunk is an exact span `[start, end)` of the document's text (so provenance can point at it)
and carries the heading path it falls under. A new chunk starts at a heading once the current
one is a third full, or when the next paragraph would not fit; a break for size (not at a
heading) starts the next chunk `overlap` characters back, moved to the next sentence start.
A paragraph longer than a chunk is cut at sentence ends, else at a space. Headings stay with
the text under them, so a chunk may pass the size by its heading lines.

Text splitters in the usual libraries (LangChain's, semchunk) return strings, not spans, and
bring a framework along; the span and the heading path are what provenance needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BLOCK = re.compile(r"\S(?:.*?\S)?(?=\n\s*\n|\s*\Z)", re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    heading: str  # "Policy > Retention", or "" before the first heading


def _blocks(text: str) -> list[tuple[int, int, int | None, str]]:
    """Paragraph-like blocks: (start, end, heading level or None, heading text)."""
    out = []
    for m in _BLOCK.finditer(text):
        first = m.group().split("\n", 1)[0]
        h = _HEADING.match(first)
        if h and "\n" in m.group():  # a heading line glued to its paragraph: two blocks
            cut = m.start() + len(first)
            out.append((m.start(), cut, len(h.group(1)), h.group(2)))
            rest = re.search(r"\S", text[cut:m.end()])
            if rest:
                out.append((cut + rest.start(), m.end(), None, ""))
            continue
        out.append((m.start(), m.end(), len(h.group(1)) if h else None,
                    h.group(2) if h else ""))
    return out


def _cut_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """A block longer than `size`, cut at sentence ends (else spaces) into pieces <= size."""
    pieces = []
    while end - start > size:
        window = text[start:start + size]
        ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() > size // 3]
        cut = ends[-1] if ends else (window.rfind(" ") + 1 or size)
        pieces.append((start, start + len(window[:cut].rstrip())))
        start += cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def _back(text: str, end: int, overlap: int, floor: int) -> int:
    """Where a chunk that follows one ending at `end` starts: `overlap` characters back,
    moved forward to a sentence or word start, never at or before `floor`."""
    if overlap <= 0:
        return end
    at = max(end - overlap, floor + 1)
    m = _SENTENCE_END.search(text, at, end)
    if m and m.end() < end:
        return m.end()
    space = text.find(" ", at, end)
    return space + 1 if 0 <= space < end - 1 else end


def chunk(text: str, size: int, overlap: int) -> list[Span]:
    """The chunks of `text`, in order; every character of a block is in some chunk."""
    path: list[tuple[int, str]] = []
    pieces: list[tuple[int, int, bool, str]] = []  # start, end, starts a section, heading path
    for start, end, level, title in _blocks(text):
        if level is not None:
            path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        where = " > ".join(t for _, t in path)
        for i, (s, e) in enumerate(_cut_long(text, start, end, size)):
            pieces.append((s, e, level is not None and i == 0, where))
    spans: list[Span] = []
    cur: list[tuple[int, int, bool, str]] = []

    def close(next_start: int | None, for_size: bool) -> int | None:
        if not cur:
            return None
        s, e = cur[0][0], cur[-1][1]
        spans.append(Span(s, e, cur[0][3]))
        cur.clear()
        return _back(text, e, overlap, s) if for_size and next_start is not None else None

    for piece in pieces:
        s, e, heading, where = piece
        if cur and not all(p[2] for p in cur):  # headings alone never make a chunk
            length = e - cur[0][0]
            if heading and (cur[-1][1] - cur[0][0]) >= size // 3:
                close(s, False)
            elif length > size:
                back = close(s, True)
                if back is not None and back < s and e - back <= size:
                    cur.append((back, s, False, where))
        cur.append(piece)
    close(None, False)
    return [Span(sp.start, sp.end, sp.heading) for sp in spans]
