"""What reading a record file gives: the records with the row each came from, the rows skipped
on purpose, and the bad rows (each named by where it is and what to do)."""

from __future__ import annotations

from dataclasses import dataclass, field

from uprbuzz.sources.records.tables import RecordFileError, Row
from uprbuzz.upr_record import Record


@dataclass(frozen=True)
class Problem:
    row: Row
    message: str


@dataclass
class Parsed:
    records: list[tuple[Row, Record]] = field(default_factory=list)
    skipped: int = 0  # rows of other documents (``--doc``) or other mechanisms
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings: one line each, nothing stops

    def bad(self, row: Row, message: str) -> None:
        self.problems.append(Problem(row, message))

    def raise_problems(self, path: str) -> None:
        """Raise ``BadRows`` for the bad rows, if any; nothing is stored then."""
        if self.problems:
            raise BadRows(self.problems, path)


SHOWN = 10  # bad rows named one by one; the rest are counted


class BadRows(RecordFileError):
    """Every bad row of a file, one line each (``FILE:LINE:1: what is wrong and what to do``)
    for the first ten, then a count; the first line is the error's own, so the command line
    prints it as any other."""

    def __init__(self, problems: list[Problem], path: str) -> None:
        first = problems[0]
        super().__init__(_said(first), path, first.row.line)
        self.problems = problems
        lines = [f"{path}:{p.row.line}:1: {_said(p)}" for p in problems[1:SHOWN]]
        n = len(problems)
        if n > SHOWN:
            lines.append(f"{path}: ... and {n - SHOWN} more bad rows")
        if n == 1:
            self.message += "; nothing was imported"
        else:
            lines.append(f"{path}: {n} bad rows; nothing was imported")
        self.rest = lines

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *self.rest])


def _said(p: Problem) -> str:
    """A problem with its row named when the line number alone does not say it (an XLSX row
    is its line; a JSON element is named by its index)."""
    return p.message if p.row.label.startswith("line ") else f"{p.row.label}: {p.message}"
