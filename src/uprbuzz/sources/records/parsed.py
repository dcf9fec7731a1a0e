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

    def bad(self, row: Row, message: str) -> None:
        self.problems.append(Problem(row, message))

    def raise_problems(self, path: str) -> None:
        """One line for the first bad row, the others by where they are; nothing is stored."""
        if not self.problems:
            return
        first, rest = self.problems[0], self.problems[1:]
        more = ""
        if rest:
            named = ", ".join(p.row.label for p in rest[:5])
            more = (f" (and {len(rest)} more bad row{'s' if len(rest) > 1 else ''}: {named}"
                    f"{', ...' if len(rest) > 5 else ''})")
        where = "" if first.row.label.startswith("line ") else f"{first.row.label}: "
        raise RecordFileError(f"{where}{first.message}{more}; nothing was imported",
                              path, first.row.line)
