"""The State's answers: a CSV or XLSX with columns ``paragraph,position[,comment]`` (an
optional ``doc`` column; the paragraph may also be written whole, ``A/HRC/46/15 ¶26.1``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from uprbuzz.sources.records.cells import (
    NumericParagraph,
    cell,
    has_column,
    paragraph_cell,
    text,
)
from uprbuzz.sources.records.parsed import Problem
from uprbuzz.sources.records.tables import RecordFileError, Row
from uprbuzz.store.records import Response
from uprbuzz.upr_record import POSITIONS, normalise_position, split_key

PARAGRAPH = ("paragraph", "para", "recommendation", "key")
POSITION = ("position", "response")
COMMENT = ("comment", "explanation", "comments")


@dataclass
class Answers:
    responses: list[tuple[Row, Response]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read(rows: Iterable[Row], doc: str | None,
         resolve: Callable[[str | None, str], str | None]) -> Answers:
    """Every row checked before anything is written: a position each (``supported``,
    ``noted``, ``supported in part``, any spelling ``normalise_position`` knows) and a paragraph
    ``resolve`` finds stored (it returns the document holding it, or None). The header is
    checked by the reader (``check_header``)."""
    out = Answers()
    seen: dict[tuple[str, str], Row] = {}  # (doc, paragraph) -> the row answering it
    for row in rows:
        try:
            key_doc, para = split_key(paragraph_cell(row, *PARAGRAPH))
        except NumericParagraph as e:
            out.problems.append(Problem(row, str(e)))
            continue
        row_doc = key_doc or text(cell(row, "doc", "document", "document_symbol")) or doc
        raw = text(cell(row, *POSITION))
        if not para:
            out.problems.append(Problem(row, "no paragraph (e.g. 26.1)"))
            continue
        try:
            position = normalise_position(raw)
        except ValueError as e:
            out.problems.append(Problem(row, f"¶{para}: {e}"))
            continue
        if position is None:
            out.problems.append(Problem(row, f"¶{para}: no position: write one of "
                                        f"{', '.join(POSITIONS)}"))
            continue
        found = resolve(row_doc, para)
        if found is None:
            where = f" in {row_doc}" if row_doc else ""
            out.problems.append(Problem(row, f"¶{para}: no such recommendation{where} is "
                                        "stored: check the paragraph, or import the "
                                        "recommendations first (uprbuzz records import)"))
            continue
        first = seen.setdefault((found, para), row)
        if first is not row:  # "the last row wins" would hide one of two answers
            out.problems.append(Problem(row, f"¶{para} is answered twice (also at "
                                        f"{first.label}): keep one row per recommendation"))
            continue
        out.responses.append((row, Response(found, para, position,
                                            text(cell(row, *COMMENT)))))
    return out


def check_header(headers: list[str], path: str) -> None:
    if not has_column(headers, *PARAGRAPH) or not has_column(headers, *POSITION):
        raise RecordFileError(
            f"the first row must name the columns paragraph,position[,comment] (found: "
            f"{', '.join(h for h in headers if h)[:80] or 'nothing'})", path, 1)
