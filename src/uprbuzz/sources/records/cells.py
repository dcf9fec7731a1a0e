"""Reading one cell of a record row: columns found by any of their names, multi-valued cells
split the way each field is written, the paragraph number at the start of a recommendation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from uprbuzz.sources.records.tables import Row, folded


def cell(row: Row, *names: str) -> Any:
    """The first non-empty cell among ``names`` (compared folded: case, spaces, punctuation
    ignored), or "" when none is there."""
    by_name = row.by_folded_name
    for name in names:
        v = by_name.get(folded(name))
        if v not in (None, "", []):
            return v
    return ""


def has_column(headers: Iterable[str], *names: str) -> bool:
    have = {folded(h) for h in headers}
    return any(folded(n) in have for n in names)


def text(value: Any) -> str:
    """A cell as one line of text (numbers as written: 26.1, not 26.100000001)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


# Lists in a cell: ";", "|" or new lines everywhere. Commas too, for States and themes, but
# only outside brackets and before a capital ("Chile, Peru" is two States; "Venezuela
# (Bolivarian Republic of)" and "Economic, social & cultural rights" are one each), and for
# SDGs only before the next goal's number ("16 - PEACE, JUSTICE AND STRONG INSTITUTIONS, 5 -
# GENDER EQUALITY" is two goals).
_HARD = re.compile(r"\s*(?:;|\||\r?\n)\s*")
_COMMA_NAMES = re.compile(r",\s*(?=[A-Z\u00C0-\u024F])(?![^()]*\))")
_COMMA_GOALS = re.compile(r",\s*(?=(?:SDG\s*)?\d{1,2}\b)", re.I)


def split_list(value: Any, kind: str = "names") -> tuple[str, ...]:
    """A multi-valued cell as a tuple: a JSON list (UHRI's JSON, Uwazi's ``[{"label": ...}]``)
    as it is, a string split as above. ``kind`` is "names" (States, themes) or "goals"."""
    if isinstance(value, list | tuple):
        items = [labelled(v) for v in value]
    else:
        items = []
        comma = _COMMA_GOALS if kind == "goals" else _COMMA_NAMES
        for part in _HARD.split(text_keep_lines(value)):
            items.extend(comma.split(part))
    out: list[str] = []
    for item in items:
        item = text(item).strip(" ,")
        if item and item not in out:
            out.append(item)
    return tuple(out)


def text_keep_lines(value: Any) -> str:
    return "" if value is None else str(value).strip()


def labelled(value: Any) -> str:
    """An Uwazi metadata value (``{"value": ..., "label": ...}``): its label, else its value."""
    if isinstance(value, dict):
        return text(value.get("label") or value.get("value") or "")
    return text(value)


_LEADING_PARAGRAPH = re.compile(r"^\s*(?:¶\s*)?(\d{1,3}(?:\.\d{1,3}){1,2})\.?(?:\s+|$)(.*)$",
                                re.S)


def leading_paragraph(value: str) -> tuple[str, str] | None:
    """``"26.1 Consider ratifying ..."`` -> ("26.1", "Consider ratifying ..."); None when the
    text does not start with a paragraph number."""
    m = _LEADING_PARAGRAPH.match(value)
    if not m:
        return None
    return m.group(1), m.group(2).strip()


_TRAILING_GROUP = re.compile(r"\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*[;.,]?\s*$")


def without_recommenders(value: str, states: Iterable[str]) -> str:
    """The text without the trailing "(Somalia);" or "(Rwanda, Bahamas)" that names its
    recommending States (UHRI and UPR Info keep it; the project CSV does not). Other brackets
    at the end stay: "(ACT Group)" is part of the recommendation."""
    names = [_words(s) for s in states]
    every = frozenset().union(*names) if names else frozenset()
    out = value.strip()
    while names:
        m = _TRAILING_GROUP.search(out)
        if not m:
            break
        group = _words(m.group(1))
        if not group or not group <= every or not any(n <= group for n in names):
            break
        out = out[:m.start()].rstrip()
    return out.rstrip(" ;,")


def _words(s: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", s.casefold().replace("’", "'")))


def comparable(value: str) -> str:
    """A recommendation's words for matching one source's text to another's: no paragraph
    number, no trailing bracketed States, quotes and spacing unified, case folded."""
    found = leading_paragraph(value)
    body = found[1] if found else value
    while True:
        m = _TRAILING_GROUP.search(body)
        if not m:
            break
        body = body[:m.start()]
    body = body.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(re.findall(r"\w+", body.casefold()))


class NumericParagraph(ValueError):
    """A paragraph stored as a number: 26.10 and 26.1 are the same number, so it cannot be
    trusted whatever its display format says."""


def paragraph_cell(row: Row, *names: str) -> str:
    """The paragraph as text. A spreadsheet (or JSON) number is refused, never guessed: Excel
    stores a typed 26.10 as 26.1, and the number format that shows "26.10" is the same for a
    typed 26.1 shown with two decimals."""
    value = cell(row, *names)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise NumericParagraph(
            f"paragraph {text(value)} is a number, not text (a spreadsheet turns 26.10 into "
            "26.1, so it cannot be trusted): format the paragraph column as Text in Excel and "
            "retype the paragraphs, or save the sheet as CSV")
    return text(value)
