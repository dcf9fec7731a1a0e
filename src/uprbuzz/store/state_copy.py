"""``uprbuzz state copy``: a whole ledger from one database to another, SQLite or PostgreSQL,
either way, losing nothing: every table, every row, every column as stored (events keep their
ids, so the project's ledger mark still names the copy).

The source is read inside a write transaction (no other process can change it mid-copy) and
the destination is written in one transaction: a failed copy leaves the destination as it was.
A destination that already holds anything is refused unless ``force`` (then it is emptied
first, in that same transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from uprbuzz.config import is_database_url
from uprbuzz.errors import UprbuzzError
from uprbuzz.store import open_database
from uprbuzz.store.db import Database, mask_url

BATCH = 1000
SKIP = ("schema_migrations",)  # each side keeps its own (both are migrated on opening)


class CopyRefused(UprbuzzError):
    """The destination is not empty, or is the source, or lacks the source's tables."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def same_place(a: str | Path, b: str | Path) -> bool:
    a_s, b_s = str(a), str(b)
    if is_database_url(a_s) or is_database_url(b_s):
        return a_s.strip() == b_s.strip()
    return Path(a_s).resolve() == Path(b_s).resolve()


def copy_state(src: str | Path, dest: str | Path, *, force: bool = False,
               progress: Callable[[Copied], None] | None = None) -> list[Copied]:
    """Open both ledgers (migrating them to this version) and copy ``src`` into ``dest``."""
    if same_place(src, dest):
        raise CopyRefused("the source and the destination are the same ledger", mask_url(src))
    if not is_database_url(str(src)) and not Path(src).is_file():
        raise CopyRefused("no ledger here: give the SQLite file or a postgresql:// URL",
                          str(src))
    a = open_database(src)
    try:
        b = open_database(dest)
        try:
            return copy_ledger(a, b, force=force, progress=progress)
        finally:
            b.close()
    finally:
        a.close()


def copy_ledger(src: Database, dest: Database, *, force: bool = False,
                progress: Callable[[Copied], None] | None = None) -> list[Copied]:
    """Copy every table of ``src`` into ``dest`` (see the module docstring)."""
    if src.version != dest.version:
        raise CopyRefused(f"the ledgers' schemas differ (version {src.version} here, "
                          f"{dest.version} at the destination): run the same uprbuzz on both",
                          src.path)
    tables = [t for t in src.tables() if t not in SKIP]
    missing = sorted(set(tables) - set(dest.tables()))
    if missing:
        raise CopyRefused(f"the destination has no table {', '.join(missing)}", dest.path)
    columns = {t: src.columns(t) for t in tables}
    for t in tables:
        lacking = sorted(set(columns[t]) - set(dest.columns(t)))
        if lacking:
            raise CopyRefused(f"the destination's table {t} has no column "
                              f"{', '.join(lacking)}", dest.path)
    out: list[Copied] = []
    with src.transaction() as s, dest.transaction() as d:
        full = [t for t in tables if d.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()]
        if full and not force:
            raise CopyRefused(
                f"the destination is not empty ({', '.join(full)} hold rows): copy into an "
                "empty database, or give --force to replace what it holds", dest.path)
        for t in full:
            d.execute(f'DELETE FROM "{t}"')
        for t in tables:
            cols = ", ".join(f'"{c}"' for c in columns[t])
            marks = ", ".join("?" * len(columns[t]))
            insert = f'INSERT INTO "{t}" ({cols}) VALUES ({marks})'
            rows = [tuple(r) for r in s.execute(f'SELECT {cols} FROM "{t}"').fetchall()]
            for i in range(0, len(rows), BATCH):
                d.executemany(insert, rows[i:i + BATCH])
            dest.after_copy(d, t)
            done = Copied(t, len(rows))
            out.append(done)
            if progress is not None:
                progress(done)
    return out
