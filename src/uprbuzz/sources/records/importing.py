"""``records import`` and ``records respond``: read the whole file, name every bad row, then
store everything in one transaction, or nothing at all."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from uprbuzz.sources.records import project_table, responses, uhri, uprinfo
from uprbuzz.sources.records.parsed import SHOWN, Parsed, Problem
from uprbuzz.sources.records.tables import (
    Headers,
    RecordFileError,
    Row,
    csv_rows,
    json_rows,
    xlsx_rows,
)
from uprbuzz.store import Store
from uprbuzz.store.records import PositionChange

FORMATS = ("auto", "csv", "xlsx", "uhri-json", "uhri-xlsx", "uprinfo-json")
PROGRESS_EVERY = 20_000  # rows between progress lines on long imports (stderr)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Imported:
    path: str
    count: int
    added: int
    updated: int
    skipped: int
    changed: tuple[PositionChange, ...] = ()  # stored positions this file replaced
    notes: tuple[str, ...] = ()  # warnings about the file, one line each (nothing stopped)

    @property
    def changes_line(self) -> str:
        """``3 positions changed by this file: A/HRC/46/15 ¶26.1 noted -> supported (set by
        answers.csv), ...``, or "" when none was."""
        if not self.changed:
            return ""
        n = len(self.changed)
        shown = ", ".join(f"{c} (set by {c.before_source})" if c.before_source else str(c)
                          for c in self.changed[:SHOWN])
        more = f", and {n - SHOWN} more" if n > SHOWN else ""
        return (f"{n} position{'s' if n != 1 else ''} changed by this file: {shown}{more} "
                "(check them: `uprbuzz records respond` sets them back)")

    @property
    def line(self) -> str:
        """``imported 347 recommendations (347 new, 0 updated) from FILE``"""
        unchanged = self.count - self.added - self.updated
        counts = f"{self.added} new, {self.updated} updated"
        if unchanged:
            counts += f", {unchanged} unchanged"
        skipped = (f"; {self.skipped} row{'s' if self.skipped != 1 else ''} of other documents "
                   "skipped") if self.skipped else ""
        plural = "s" if self.count != 1 else ""
        return f"imported {self.count} recommendation{plural} ({counts}) from {self.path}{skipped}"


def container(path: Path, fmt: str) -> str:
    """csv, xlsx or json: from ``--format``, else from the file's name."""
    if fmt != "auto":
        return fmt.rsplit("-", 1)[-1]
    suffix = path.suffix.lower()
    for kind, suffixes in (("csv", (".csv", ".tsv", ".txt")), ("xlsx", (".xlsx", ".xlsm")),
                           ("json", (".json",))):
        if suffix in suffixes:
            return kind
    raise RecordFileError("cannot tell its format from its name: give --format (csv, xlsx, "
                          "uhri-json, uhri-xlsx or uprinfo-json)", str(path))


def rows_of(path: Path, kind: str, progress: Progress | None = None,
            on_header: Headers | None = None) -> Iterator[Row]:
    if not path.is_file():
        raise RecordFileError("no such file", str(path))
    rows = json_rows(path) if kind == "json" else (
        csv_rows(path, on_header) if kind == "csv" else xlsx_rows(path, on_header))
    for n, row in enumerate(rows, start=1):
        if progress and n % PROGRESS_EVERY == 0:
            progress(f"... {n} rows read from {path.name}")
        yield row


def read_records(store: Store, path: Path, fmt: str = "auto", doc: str | None = None,
                 progress: Progress | None = None) -> Parsed:
    """Every recommendation in the file, or RecordFileError for the first bad row (naming the
    others). ``store`` is read only: UPR Info rows are matched to stored recommendations."""
    kind = container(path, fmt)
    rows = rows_of(path, kind, progress)
    first = next(rows, None)
    if first is None:
        raise RecordFileError("no rows: expected a header and one recommendation a row",
                              str(path))
    everything: Iterable[Row] = itertools.chain([first], rows)
    parsed = Parsed()
    shape = _shape(fmt, first, str(path))
    if shape == "uprinfo":
        known = store.records.list(doc=doc)
        uprinfo.parse(everything, doc, known, parsed)
    elif shape == "uhri":
        uhri.parse(everything, doc, parsed)
    else:
        if not doc and not project_table.names_doc(first.cells):
            doc = _only_doc(store, path)
        project_table.parse(everything, doc, parsed)
    _duplicates(parsed)
    parsed.raise_problems(str(path))
    if not parsed.records:
        other = f" (none of its {parsed.skipped} rows is from {doc})" if parsed.skipped else ""
        raise RecordFileError(f"no recommendations in it{other}", str(path))
    return parsed


def import_records(store: Store, path: Path, fmt: str = "auto", doc: str | None = None,
                   progress: Progress | None = None) -> Imported:
    parsed = read_records(store, path, fmt, doc, progress)
    if progress and len(parsed.records) >= PROGRESS_EVERY:
        progress(f"... storing {len(parsed.records)} recommendations")
    changed: list[PositionChange] = []
    added, updated = store.records.upsert((r for _, r in parsed.records), source=str(path),
                                          changed=changed)
    return Imported(str(path), len(parsed.records), added, updated, parsed.skipped,
                    tuple(changed), tuple(parsed.notes))


def respond(store: Store, path: Path, doc: str | None = None) -> int:
    """Every position in the file, all or nothing; the number recorded."""
    kind = container(path, "auto")
    if kind == "json":
        raise RecordFileError("responses are read from CSV or XLSX (paragraph,position"
                              "[,comment])", str(path))
    rows = rows_of(path, kind, on_header=lambda h: responses.check_header(h, str(path)))
    answers = responses.read(rows, doc, store.records.resolve)
    Parsed(problems=answers.problems).raise_problems(str(path))
    if not answers.responses:
        raise RecordFileError("no responses in it: one row per recommendation, "
                              "paragraph,position[,comment]", str(path))
    return store.records.respond_all([r for _, r in answers.responses], source=str(path))


def _only_doc(store: Store, path: Path) -> str:
    """A table without a doc column lists the one report the store holds; with none or several
    stored, the user says which."""
    docs = store.records.docs()
    if len(docs) == 1:
        return docs[0]
    held = f" (the store holds {', '.join(docs)})" if docs else ""
    raise RecordFileError("it has no doc column: say which report it lists with --doc, e.g. "
                          f"--doc A/HRC/46/15{held}", str(path))


def _shape(fmt: str, first: Row, path: str) -> str:
    if fmt.startswith("uhri"):
        return "uhri"
    if fmt == "uprinfo-json":
        if not uprinfo.fits(first):
            raise RecordFileError(f"{first.label}: not an Uwazi row (no sharedId or metadata)",
                                  path, first.line)
        return "uprinfo"
    headers = list(first.cells)
    if fmt == "auto" and uprinfo.fits(first):
        return "uprinfo"
    if uhri.fits(headers):
        return "uhri"
    if project_table.fits(headers):
        return "project"
    raise RecordFileError(
        f"cannot tell what these rows are (columns: {', '.join(headers)[:100]}): expected the "
        "project's columns (paragraph, recommending_states, position, text), a UHRI export "
        "(Document Symbol, Text, ...) or a UPR Info search answer ({\"rows\": [...]})",
        path, first.line)


def _duplicates(parsed: Parsed) -> None:
    seen: dict[tuple[str, str], Row] = {}
    for row, rec in parsed.records:
        k = (rec.doc, rec.paragraph)
        if k in seen:
            parsed.problems.append(Problem(row, f"{rec.key} is listed twice (also at "
                                           f"{seen[k].label}): keep one row per "
                                           "recommendation"))
        else:
            seen[k] = row
