"""Grounded seeds' sources: reading every document format, chunking by structure with exact
spans, stable ids, table rows, and one clear error (file, field, fix) per kind of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from datagen.seeds import load_seed
from datagen.seeds.chunks import chunk
from datagen.seeds.documents import read_document
from datagen.seeds.sources import units
from tests.cli import cli
from tests.conftest import SEEDS

POLICY_SEED = SEEDS / "legal" / "privacy_policy_qa.yaml"
CATALOG_SEED = SEEDS / "ecommerce" / "catalog_questions.yaml"
DOCS = SEEDS / "legal" / "northwind"
MB = 1_000_000


def test_every_format_reads_as_text_with_its_headings() -> None:
    html, _ = read_document(DOCS / "subprocessors.html", max_bytes=MB)
    assert html.startswith("# Subprocessor Management Standard")
    assert "## Notice to customers" in html and "| Cloudhaven GmbH |" in html
    assert "console.log" not in html and "font-family" not in html  # script, style, head
    docx, _ = read_document(DOCS / "remote-work.docx", max_bytes=MB)
    assert docx.startswith("# Remote Work and Personal Data") and "## Networks" in docx
    pdf, _ = read_document(DOCS / "incident-response.pdf", max_bytes=MB)
    assert "Customers are notified within 36 hours" in pdf.replace("\n", " ")
    md, raw = read_document(DOCS / "privacy-policy.md", max_bytes=MB)
    assert md == raw.decode().strip()


def test_chunks_are_exact_spans_that_follow_headings_and_overlap_on_size_breaks() -> None:
    text, _ = read_document(DOCS / "privacy-policy.md", max_bytes=MB)
    spans = chunk(text, 300, 80)
    assert len(spans) >= 6
    headings = max(len(line) + 2 for line in text.splitlines() if line.startswith("#"))
    assert all(s.end - s.start <= 300 + headings for s in spans)
    assert all(not text[s.start:s.end].strip().startswith("#")
               or "\n\n" in text[s.start:s.end].strip() for s in spans)  # never a lone heading
    covered = set()
    for s in spans:
        covered.update(range(s.start, s.end))
    words = [i for i, c in enumerate(text) if not c.isspace()]
    assert all(i in covered for i in words)  # no text is lost between chunks
    retention = next(s for s in spans if text[s.start:s.end].startswith("## 5. Retention"))
    assert retention.heading.endswith("> 5. Retention")
    overlaps = [b for a, b in zip(spans, spans[1:], strict=False) if b.start < a.end]
    assert overlaps, "a break for size repeats the previous chunk's tail"
    assert all(text[b.start - 1] in " \n" or text[b.start - 2] in ".:;!?" for b in overlaps)


def test_unit_ids_are_stable_and_follow_the_content(tmp_path: Path) -> None:
    seed = load_seed(POLICY_SEED)
    first = units(seed, 0)
    assert [u.id for u in first] == [u.id for u in units(seed, 0)]
    assert len({u.id for u in first}) == len(first)
    assert {u.file for u in first} == {
        "northwind/privacy-policy.md", "northwind/subprocessors.html",
        "northwind/incident-response.pdf", "northwind/remote-work.docx"}
    assert sorted(u.id for u in units(seed, 1)) == sorted(u.id for u in first)  # order only
    copy = tmp_path / "legal"
    shutil.copytree(POLICY_SEED.parent, copy)
    policy = copy / "northwind" / "privacy-policy.md"
    policy.write_text(policy.read_text().replace("30 days", "45 days"))
    changed = {u.id for u in units(load_seed(copy / POLICY_SEED.name), 0)
               if u.file.endswith(".md")}
    assert changed.isdisjoint(u.id for u in first if u.file.endswith(".md"))


def test_table_rows_become_units_with_their_fields() -> None:
    rows = units(load_seed(CATALOG_SEED), 0)
    assert len(rows) == 16 and sorted(u.row for u in rows) == list(range(16))
    assert all(u.kind == "row" and u.fields["product_name"] in u.text for u in rows)


def _seed(tmp_path: Path, sources: str, task: str = "Ask about the policy.",
          example: str = "How long are tickets kept?") -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(f"""id: grounded
domain: legal
description: A grounded test seed.
system: You answer from the company's policies.
task: {task}
examples:
  - instruction: {example}
sources:
{sources}
""")
    return path


def _encrypted_pdf(path: Path) -> None:
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Tickets are kept for two years.")
    plain = path.with_suffix(".plain.pdf")
    pdf.output(str(plain))
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="secret", owner_password="owner")
    with path.open("wb") as f:
        writer.write(f)
    plain.unlink()


def _bad(tmp_path: Path, kind: str) -> tuple[Path, str, str]:
    """A seed with one kind of bad source: (seed file, what the error names, its fix)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    if kind == "missing file":
        return _seed(tmp_path, "  documents: [docs/gone.md]"), "no such file 'docs/gone.md'", \
            "check the path"
    if kind == "glob matches nothing":
        return _seed(tmp_path, "  documents: ['docs/*.pdf']"), "'docs/*.pdf' matches no file", \
            "check the pattern"
    if kind == "encrypted pdf":
        _encrypted_pdf(docs / "locked.pdf")
        return _seed(tmp_path, "  documents: [docs/locked.pdf]"), "locked.pdf: the PDF is " \
            "encrypted", "qpdf --decrypt"
    if kind == "unreadable pdf":
        (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
        return _seed(tmp_path, "  documents: [docs/broken.pdf]"), "broken.pdf: not a " \
            "readable PDF", "re-save it"
    if kind == "too large":
        (docs / "big.md").write_text("# Big\n\n" + "word " * 5000)
        return _seed(tmp_path, "  documents: [docs/big.md]\n  max_file_mb: 0.01"), \
            "big.md: 0.0 MB, over the limit of 0.0 MB", "sources.max_file_mb"
    if kind == "not utf-8":
        (docs / "latin.txt").write_bytes("Données personnelles conservées".encode("latin-1"))
        return _seed(tmp_path, "  documents: [docs/latin.txt]"), "latin.txt: not UTF-8 text", \
            "save the file as UTF-8"
    if kind == "empty table":
        (docs / "empty.csv").write_text("product_name,price\n")
        return _seed(tmp_path, "  table: docs/empty.csv", task="Ask about {product_name}."), \
            "empty.csv: the table has no rows", "at least one row"
    if kind == "placeholder the table lacks":
        (docs / "items.csv").write_text("product_name,price\nKettle,20\n")
        return _seed(tmp_path, "  table: docs/items.csv", task="Ask about {product_name}.",
                     example="Is the {colour} one in stock?"), \
            "field `examples.0.instruction` uses {colour}, which", "rename the placeholder"
    raise AssertionError(kind)


KINDS = ("missing file", "glob matches nothing", "encrypted pdf", "unreadable pdf", "too large",
         "not utf-8", "empty table", "placeholder the table lacks")


@pytest.mark.parametrize("kind", KINDS)
def test_bad_sources_fail_with_the_file_and_the_fix(tmp_path: Path, kind: str) -> None:
    seed, names, fix = _bad(tmp_path, kind)
    code, out = cli("seeds", "validate", seed)
    assert code == 2, out
    flat = " ".join(out.split())
    assert names in flat and fix in flat, flat
    assert "Traceback" not in out
