"""The project's own table of recommendations (as ../shared/data/upr2020): one row each with
``paragraph``, ``recommending_states`` ("Rwanda; Bahamas"), ``position`` (``supported``,
``noted``, ``supported_noted``, empty while pending), ``ohchr_primary_theme``, ``text``; an
optional ``doc`` column, ``themes`` and ``sdgs``. CSV or XLSX alike."""

from __future__ import annotations

from collections.abc import Iterable

from uprbuzz.sources.records.cells import (
    NumericParagraph,
    cell,
    has_column,
    paragraph_cell,
    split_list,
    text,
)
from uprbuzz.sources.records.parsed import Parsed
from uprbuzz.sources.records.tables import Row
from uprbuzz.upr_record import Record, normalise_paragraph

PARAGRAPH = ("paragraph", "para", "paragraph_number", "recommendation_number")
DOC = ("doc", "document", "document_symbol", "symbol")
STATES = ("recommending_states", "recommending_state", "states", "state")
THEMES = ("themes", "theme", "ohchr_primary_theme", "ohchr_themes")


def fits(headers: Iterable[str]) -> bool:
    headers = list(headers)
    return has_column(headers, *PARAGRAPH) and has_column(headers, "text", "recommendation")


def names_doc(cells: dict[str, object]) -> bool:
    return has_column(cells, *DOC)


def parse(rows: Iterable[Row], doc: str | None, parsed: Parsed) -> None:
    for row in rows:
        row_doc = text(cell(row, *DOC)) or doc
        if doc and row_doc != doc:
            parsed.skipped += 1
            continue
        try:
            para = normalise_paragraph(paragraph_cell(row, *PARAGRAPH))
        except NumericParagraph as e:
            parsed.bad(row, str(e))
            continue
        body = text(cell(row, "text", "recommendation"))
        if not row_doc:
            parsed.bad(row, "no document for this recommendation: give the report's symbol "
                       "with --doc (e.g. --doc A/HRC/46/15) or add a doc column")
            continue
        if not para or not body:
            parsed.bad(row, f"a recommendation needs its {'paragraph' if not para else 'text'}")
            continue
        try:
            rec = Record(doc=row_doc, paragraph=para, text=body,
                         states=split_list(cell(row, *STATES)),
                         themes=split_list(cell(row, *THEMES)),
                         sdgs=split_list(cell(row, "sdgs", "sdg"), "goals"),
                         position=text(cell(row, "position", "response")) or None,
                         comment=text(cell(row, "comment", "explanation")))
        except ValueError as e:
            parsed.bad(row, str(e))
            continue
        parsed.records.append((row, rec))
