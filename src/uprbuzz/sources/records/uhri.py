"""UHRI (OHCHR's Universal Human Rights Index) export rows, from its JSON or XLSX.

Columns used: Document Symbol, UPR Reccomending States (sic; the corrected spelling is read
too), UPR Position, Themes, Sdgs, Text, whose start is the paragraph ("26.1 Consider ...
(Somalia);"). A column holding the recommendation's UHRI id (Id, UUID, Document Id, UHRI Id)
or its page (Link, URL) gives the page ``https://uhri.ohchr.org/en/document/{id}``. Only a
UUID makes that link (UHRI's ids are UUIDs); an id of another form (an annotation number, a
row number) gives none, and the import warns once per file with a count and an example.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from uprbuzz.sources.records.cells import (
    NumericParagraph,
    cell,
    has_column,
    leading_paragraph,
    paragraph_cell,
    split_list,
    text,
    without_recommenders,
)
from uprbuzz.sources.records.parsed import Parsed
from uprbuzz.sources.records.tables import Row
from uprbuzz.upr_record import UHRI_PAGE, Record, normalise_paragraph

DOC = ("Document Symbol", "Symbol", "documentSymbol")
STATES = ("UPR Reccomending States", "UPR Recommending States", "Recommending States",
          "Recommending State")
POSITION = ("UPR Position", "Position")
ID = ("UUID", "Id", "Document Id", "UHRI Id", "Recommendation Id", "_id")
PAGE = ("Link", "URL", "UHRI Link", "Page")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


def fits(headers: Iterable[str]) -> bool:
    headers = list(headers)
    return has_column(headers, *DOC) and has_column(headers, "Text")


def page(row: Row) -> str:
    link = text(cell(row, *PAGE))
    if link.startswith("https://uhri.ohchr.org/"):
        return link
    uid = text(cell(row, *ID))
    return UHRI_PAGE.format(id=uid) if _UUID.match(uid) else ""


def odd_id(row: Row) -> str:
    """The row's id when it gives one that makes no UHRI link (not a UUID, and no UHRI Link
    column either), else ""."""
    uid = text(cell(row, *ID))
    return uid if uid and not page(row) else ""


def parse(rows: Iterable[Row], doc: str | None, parsed: Parsed) -> None:
    odd: list[tuple[Row, str]] = []
    _parse(rows, doc, parsed, odd)
    if odd:
        row, uid = odd[0]
        many = len(odd) != 1
        parsed.notes.append(
            f"{len(odd)} row{'s' if many else ''} ha{'ve' if many else 's'} an Id that is not a "
            f"UHRI id (a UUID, e.g. 0b0f3c1e-...), so no UHRI link (e.g. {row.label}: "
            f"{uid[:40]!r}); export with the Id column, or add a Link column with the "
            "https://uhri.ohchr.org/en/document/... page")


def _parse(rows: Iterable[Row], doc: str | None, parsed: Parsed,
           odd: list[tuple[Row, str]]) -> None:
    for row in rows:
        row_doc = text(cell(row, *DOC))
        if doc and row_doc != doc:
            parsed.skipped += 1  # the full export holds every State's reports
            continue
        if not row_doc:
            parsed.bad(row, "no Document Symbol: UHRI rows name their report "
                       "(e.g. A/HRC/46/15)")
            continue
        body = text(cell(row, "Text"))
        try:
            para = normalise_paragraph(paragraph_cell(row, "Paragraph"))
        except NumericParagraph as e:
            parsed.bad(row, str(e))
            continue
        found = leading_paragraph(body)
        if found:
            para = para or found[0]
            body = found[1]
        if not para:
            parsed.bad(row, f"Text does not start with a paragraph number ({body[:40]!r}): "
                       "UHRI writes it first, as \"26.1 Consider ...\"")
            continue
        states = split_list(cell(row, *STATES))
        try:
            rec = Record(doc=row_doc, paragraph=para, text=without_recommenders(body, states),
                         states=states, themes=split_list(cell(row, "Themes", "Theme")),
                         sdgs=split_list(cell(row, "Sdgs", "SDG", "SDGs"), "goals"),
                         position=text(cell(row, *POSITION)) or None,
                         links={"uhri": page(row)})
        except ValueError as e:
            parsed.bad(row, str(e))
            continue
        parsed.records.append((row, rec))
        if uid := odd_id(row):
            odd.append((row, uid))
