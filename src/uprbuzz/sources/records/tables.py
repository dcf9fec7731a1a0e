"""Rows of a record file, each with where it is: a CSV line, an XLSX row, a JSON index and line.

Every reader yields ``Row`` values (the cells by header, and ``where`` for messages) and never
interprets them: the shapes (project CSV, UHRI, UPR Info, responses) live in their own modules.
A file that cannot be read at all is a ``RecordFileError`` naming it.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from uprbuzz.errors import UprbuzzError


class RecordFileError(UprbuzzError):
    """A record or response file that cannot be read or holds a bad row; nothing is stored."""

    code = "record-file"


@dataclass(frozen=True)
class Row:
    cells: dict[str, Any]  # header as written -> value (str for CSV, as stored for XLSX/JSON)
    line: int  # CSV: the line the row starts on; XLSX: the sheet row; JSON: the element's line
    label: str  # how a message names it: "line 12", "row 5", "rows[3]"

    @cached_property
    def by_folded_name(self) -> dict[str, Any]:
        """The cells by ``folded`` header (built once a row: a UHRI export has 200,000)."""
        return {folded(k): v for k, v in self.cells.items()}


@functools.lru_cache(maxsize=1024)
def folded(name: str) -> str:
    """A header reduced to letters and digits, lower case: "UPR Reccomending States" ->
    "uprreccomendingstates", "document_symbol" -> "documentsymbol"."""
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


Headers = Callable[[list[str]], None]


def csv_rows(path: Path, on_header: Headers | None = None) -> Iterator[Row]:
    """A CSV with a header row (UTF-8, an Excel BOM allowed; comma, semicolon or tab).
    ``on_header`` sees the header first (it may refuse it), even when no row follows."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise RecordFileError(f"not UTF-8 text (byte {e.start}): save it as CSV UTF-8",
                              str(path)) from e
    except OSError as e:
        raise RecordFileError(f"cannot read it: {e.strerror or e}", str(path)) from e
    # the header decides the delimiter (Excel writes ";" in some locales): the rows' free text
    # holds commas and semicolons alike, so sniffing them would guess
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    header: list[str] | None = None
    start = 1
    try:
        for values in reader:
            line, start = start, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if header is None:
                header = [v.strip() for v in values]
                if on_header:
                    on_header(header)
                continue
            yield Row(dict(zip(header, values, strict=False)), line, f"line {line}")
    except csv.Error as e:
        raise RecordFileError(f"not readable as CSV: {e}", str(path), reader.line_num) from e


def xlsx_rows(path: Path, on_header: Headers | None = None) -> Iterator[Row]:
    """The first sheet of a workbook; its first non-empty row is the header."""
    from uprbuzz.errors import require

    require("openpyxl")
    import zipfile

    import openpyxl  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise RecordFileError(f"not readable as an .xlsx workbook: {e}", str(path)) from e
    try:
        sheet = book.worksheets[0]
        header: list[str] | None = None
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if header is None:
                header = ["" if v is None else str(v).strip() for v in values]
                if on_header:
                    on_header(header)
                continue
            cells = {h: ("" if v is None else v) for h, v in zip(header, values, strict=False)}
            yield Row(cells, number, f"row {number}")
    finally:
        book.close()


_ARRAY_KEYS = ("rows", "data", "results", "items", "records")


def json_rows(path: Path) -> Iterator[Row]:
    """The objects of a JSON array: the whole file (UHRI's export) or the ``rows`` of an object
    (an Uwazi search answer; also ``data``, ``results``, ``items``, ``records``). Elements are
    decoded one at a time, so each is named by its index and line and a large export is never
    held twice."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise RecordFileError(f"not UTF-8 JSON (byte {e.start})", str(path)) from e
    except OSError as e:
        raise RecordFileError(f"cannot read it: {e.strerror or e}", str(path)) from e
    scan = _Scanner(text, str(path))
    start = scan.skip()
    if text.startswith("[", start):
        yield from scan.array(start, "")
        return
    if not text.startswith("{", start):
        raise scan.error(start, "expected a JSON array of rows, or an object with \"rows\"")
    yield from scan.rows_of_object(start)


class _Scanner:
    """Just enough of a JSON reader to find the rows array and decode its elements one by one
    (json.JSONDecoder.raw_decode), knowing each one's line."""

    def __init__(self, text: str, path: str) -> None:
        self.text, self.path = text, path
        self.decoder = json.JSONDecoder()
        self._line_at, self._line = 0, 1  # line counting moves forward only

    def line(self, pos: int) -> int:
        if pos < self._line_at:
            self._line_at, self._line = 0, 1
        self._line += self.text.count("\n", self._line_at, pos)
        self._line_at = pos
        return self._line

    def skip(self, pos: int = 0) -> int:
        while pos < len(self.text) and self.text[pos] in " \t\r\n":
            pos += 1
        return pos

    def error(self, pos: int, msg: str) -> RecordFileError:
        return RecordFileError(msg, self.path, self.line(pos))

    def decode(self, pos: int) -> tuple[Any, int]:
        try:
            return self.decoder.raw_decode(self.text, pos)
        except json.JSONDecodeError as e:
            raise RecordFileError(f"not valid JSON: {e.msg}", self.path, e.lineno,
                                  e.colno) from e

    def expect(self, pos: int, char: str) -> int:
        pos = self.skip(pos)
        if not self.text.startswith(char, pos):
            raise self.error(pos, f"not valid JSON: expected {char!r}")
        return pos + 1

    def rows_of_object(self, start: int) -> Iterator[Row]:
        pos = self.skip(start + 1)
        seen: list[str] = []
        while not self.text.startswith("}", pos):
            key, pos = self.decode(pos)
            pos = self.skip(self.expect(pos, ":"))
            if key in _ARRAY_KEYS and self.text.startswith("[", pos):
                yield from self.array(pos, key)
                return
            seen.append(str(key))
            _, pos = self.decode(pos)
            pos = self.skip(pos)
            if self.text.startswith(",", pos):
                pos = self.skip(pos + 1)
        raise self.error(start, "no \"rows\" array in this JSON object (keys: "
                         f"{', '.join(seen[:8]) or 'none'}): expected an Uwazi search answer "
                         "{\"rows\": [...]} or a UHRI export [...]")

    def array(self, start: int, name: str) -> Iterator[Row]:
        pos = self.skip(start + 1)
        index = 0
        while not self.text.startswith("]", pos):
            line = self.line(pos)
            value, pos = self.decode(pos)
            label = f"{name or ''}[{index}]"
            if not isinstance(value, dict):
                raise RecordFileError(f"{label}: expected an object (a row), found "
                                      f"{type(value).__name__}", self.path, line)
            yield Row(value, line, label)
            index += 1
            pos = self.skip(pos)
            if self.text.startswith(",", pos):
                pos = self.skip(pos + 1)
            elif not self.text.startswith("]", pos):
                raise self.error(pos, "not valid JSON: expected ',' or ']'")
