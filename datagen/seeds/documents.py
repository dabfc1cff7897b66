"""Reading a user's document as Markdown-like text: Markdown and plain text as they are, HTML
through markdownify (headings become `#` lines), PDF through pypdf (page by page), DOCX through
python-docx (heading styles become `#` lines, tables become `|` rows).

These three are small pure-Python converters; heavier ones (docling, markitdown with its
model-based file sniffing) would add hundreds of MB for the same headings and paragraphs.
Every failure is a SeedError naming the file and what to do, raised before any call is paid.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from datagen.errors import SeedError
from datagen.seeds.limits import check_file, read_bounded

TEXT = (".md", ".markdown", ".txt")
HTML = (".html", ".htm")
SUFFIXES = (*TEXT, *HTML, ".pdf", ".docx")
_WRAPPED = re.compile(r"(?<![.:;!?])[ \t]*\n(?=[a-z(])")


def _decoded(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeedError(
            f"{path}: not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})",
            hint="save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`) and run again",
        ) from None


def _html(text: str) -> str:
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["head", "script", "style", "noscript", "template", "img"]):
        tag.decompose()
    return MarkdownConverter(heading_style="ATX").convert_soup(soup)


def _pdf(path: Path, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError:
        raise SeedError(f"{path}: the PDF is encrypted",
                        hint="save an unencrypted copy (e.g. `qpdf --decrypt in.pdf out.pdf`) "
                             "and point the seed at it") from None
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise SeedError(f"{path}: not a readable PDF ({exc})",
                        hint="open and re-save it, or export it again as PDF") from None
    if not any(p.strip() for p in pages):
        raise SeedError(f"{path}: the PDF has no text layer (a scanned document?)",
                        hint="run OCR on it first (e.g. `ocrmypdf`), or give its text as .md")
    # a PDF breaks lines where the page wrapped them: a line going on in lower case continues
    return "\n\n".join(_WRAPPED.sub(" ", p.strip()) for p in pages)


def _docx(path: Path, data: bytes) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SeedError(f"{path}: not a readable DOCX file ({exc})",
                        hint="open and re-save it as .docx, or export its text as .md") from None
    lines: list[str] = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = re.fullmatch(r"Heading (\d)", style)
        if level:
            lines.append("#" * int(level.group(1)) + " " + text)
        elif style == "Title":
            lines.append("# " + text)
        else:
            lines.append(text)
    for table in document.tables:
        for row in table.rows:
            lines.append("| " + " | ".join(c.text.strip() for c in row.cells) + " |")
    return "\n\n".join(lines)


def read_document(path: Path, *, max_bytes: int) -> tuple[str, bytes]:
    """The document's text (Markdown-like), and its raw bytes (for the content hash)."""
    suffix = check_file(path, SUFFIXES, "documents", max_bytes, "split the document")
    data = read_bounded(path, max_bytes)
    if suffix == ".pdf":
        text = _pdf(path, data)
    elif suffix == ".docx":
        text = _docx(path, data)
    else:
        text = _decoded(path, data)
        if suffix in HTML:
            text = _html(text)
    text = re.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n")).strip()
    if not text:
        raise SeedError(f"{path}: the document is empty", hint="remove it from the seed's "
                        "`sources.documents`, or give it some text")
    return text, data
