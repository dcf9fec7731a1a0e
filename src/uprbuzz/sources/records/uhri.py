"""UHRI (OHCHR's Universal Human Rights Index) export rows, from its JSON or XLSX.

Columns used: Document Symbol, UPR Reccomending States (sic; the corrected spelling is read
too), UPR Position, Themes, Sdgs, Text, whose start is the paragraph ("26.1 Consider ...
(Somalia);"). A column holding the recommendation's UHRI id (Id, UUID, Document Id, UHRI Id)
or its page (Link, URL) gives the page ``https://uhri.ohchr.org/en/document/{id}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from uprbuzz.sources.records.cells import (
    cell,
    has_column,
    leading_paragraph,
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


def parse(rows: Iterable[Row], doc: str | None, parsed: Parsed) -> None:
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
        para = normalise_paragraph(text(cell(row, "Paragraph")))
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
