"""The store's one seam: ``Database``, SQLite here and PostgreSQL in ``pg_db.py``.

``uprbuzz.store.open_database(where)`` picks the backend: a ``postgresql://`` URL (the ``state`` setting or
``UPRBUZZ_STATE``) opens PostgreSQL, anything else is a SQLite file (the default). Both offer
the same interface, and the rest of the store writes its SQL once, for both:

- ``transaction()`` yields a handle whose ``.execute(sql, params)`` / ``.executemany`` return a
  cursor (``fetchone``, ``fetchall``, ``rowcount``, iteration); writes go through it, one writer
  at a time (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock, see pg_db.py), so a
  daemon, a cron tick and the live console, on one machine or several, can share one ledger;
- ``query(sql, params)`` reads rows that answer ``r["col"]``, ``r[0]`` and ``dict(r)``;
- ``execute(sql, params)`` is a one-statement transaction; ``lock`` serialises the threads
  sharing the connection; ``migrate()``, ``version``, ``close()``; ``path`` names the database
  in messages (a URL with its password masked).

Write portable SQL: ``?`` placeholders, ``INSERT ... ON CONFLICT``, no ``PRAGMA``, no SQLite
date functions (times are ISO-8601 text). pg_db.translate() maps the few remaining differences.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from uprbuzz.config import is_database_url
from uprbuzz.errors import StoreError
from uprbuzz.store.migrations import MIGRATIONS

Params = tuple[Any, ...] | dict[str, Any]


class Row(Protocol):
    """A result row, as sqlite3.Row: by column name, by position, ``dict(row)``."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Handle(Protocol):
    """What ``transaction()`` yields (and ``Database.conn`` is): statements on the connection."""

    def execute(self, sql: str, params: Params = (), /) -> Cursor: ...

    def executemany(self, sql: str, seq: Iterable[tuple[Any, ...]], /) -> Cursor: ...


def mask_url(where: str | Path) -> str:
    """``where`` fit to print: a URL's password (in its user part or a ``password=``
    parameter) becomes ``***``; a path is returned as it is."""
    import re

    s = str(where)
    if not is_database_url(s):
        return s
    # up to the last @: a password with an unencoded @ or / is still hidden (at worst, the
    # host with it)
    s = re.sub(r"^([a-z]+://[^:@/?#]*):.*@", r"\1:***@", s, flags=re.I)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", s, flags=re.I)


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def lock_timeout() -> float:
    """Seconds to wait for another process's write lock before giving up (default 30)."""
    try:
        return max(0.0, float(os.environ.get("UPRBUZZ_LOCK_TIMEOUT", "30")))
    except ValueError:
        return 30.0


def store_error(e: BaseException, path: str) -> StoreError | None:
    """The StoreError a SQLite failure stands for, naming the file and what to do; None for
    errors that are not the file's condition (constraint violations, programming errors)."""
    if isinstance(e, StoreError):
        return e
    if isinstance(e, OSError) and not isinstance(e, sqlite3.Error):
        return StoreError(f"cannot create the state store's folder: {e.strerror}: check the "
                          "`state` setting and the folder's permissions", path)
    if not isinstance(e, sqlite3.DatabaseError) or isinstance(e, sqlite3.IntegrityError):
        return None
    msg = str(e).lower()
    if ("readonly" in msg or "unable to open" in msg or "read-only" in msg) and _read_only(path):
        msg = "readonly"
    if "not a database" in msg or "malformed" in msg or "file is encrypted" in msg:
        what = ("is not a readable SQLite database (corrupt or overwritten): move it aside and "
                "restore a backup; uprbuzz refuses to start a new ledger over it")
    elif "readonly" in msg or "read-only" in msg:
        what = ("is read-only: give this user write permission on it and on its folder (SQLite "
                "writes a -wal file beside it)")
    elif "locked" in msg or "busy" in msg:
        what = (f"is locked by another uprbuzz process (waited {lock_timeout():g} s): wait for "
                "it to finish, or stop it")
    elif "disk is full" in msg or "database or disk is full" in msg:
        what = "cannot be written: the disk is full; free some space and run again"
    elif "unable to open" in msg or "disk i/o" in msg:
        what = f"cannot be opened or written ({e}): check the path, permissions and disk"
    else:
        return None
    return StoreError(f"the state store {what}", path)


def _read_only(path: str) -> bool:
    """The file or its folder cannot be written (permissions, a read-only mount)."""
    p = Path(path)
    return (p.exists() and not os.access(p, os.W_OK)) or not os.access(p.parent, os.W_OK)


class Database:
    """SQLite (WAL): the default, and the seam every store module codes against."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, timeout: float | None = None) -> None:
        self.path = str(path)
        self.timeout = lock_timeout() if timeout is None else timeout
        self.lock = threading.RLock()  # one connection shared by threads: serialise use
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.migrate()
        except (OSError, sqlite3.Error) as e:
            err = store_error(e, self.path)
            if err is None:
                raise
            raise err from e

    def migrate(self) -> None:
        with self.lock:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in self.conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in MIGRATIONS:
                if version in done:
                    continue
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    # re-check inside the lock: another process may have just migrated
                    if self.conn.execute(
                        "SELECT 1 FROM schema_migrations WHERE version=?", (version,)
                    ).fetchone():
                        self.conn.execute("COMMIT")
                        continue
                    for stmt in _split_sql(sql):
                        self.conn.execute(stmt)
                    self.conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?)", (version, utcnow_iso())
                    )
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise

    @property
    def version(self) -> int:
        row = self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction (one writer at a time) yielding a ``Handle`` (typed Any so that
        callers written against sqlite3.Connection, as schedule/fast_path, still check)."""
        with self.lock, self._named():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        with self.lock, self._named():
            return self.conn.execute(sql, params).fetchall()

    def tuples(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """``query`` as plain tuples (no names: faster for many rows)."""
        with self.lock, self._named():
            cur = self.conn.execute(sql, params)
            cur.row_factory = None  # plain tuples: ~3x faster than sqlite3.Row for 10k rows
            return cur.fetchall()

    def tables(self) -> list[str]:
        """The ledger's tables (``schema_migrations`` included), sorted by name."""
        return [r[0] for r in self.query(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]

    def columns(self, table: str) -> list[str]:
        with self.lock, self._named():
            cur = self.conn.execute(f'SELECT * FROM "{table}" LIMIT 0')
            return [d[0] for d in cur.description]

    def after_copy(self, c: Handle, table: str) -> None:
        """After rows with explicit ids were written (``state copy``): nothing to do here
        (SQLite moves its AUTOINCREMENT counter on insert)."""

    @contextmanager
    def _named(self) -> Iterator[None]:
        """SQLite's bare 'database is locked' becomes a StoreError naming this file."""
        try:
            yield
        except sqlite3.Error as e:
            err = store_error(e, self.path)
            if err is None:
                raise
            raise err from e

    def execute(self, sql: str, params: Params = ()) -> None:
        with self.transaction() as c:
            c.execute(sql, params)

    def reopened(self) -> Database:
        """A new connection to this ledger (migrated already)."""
        return Database(self.path, self.timeout)

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _split_sql(sql: str) -> list[str]:
    out = []
    for chunk in sql.split(";"):
        lines = [ln for ln in chunk.splitlines() if not ln.strip().startswith("--")]
        stmt = "\n".join(lines).strip()
        if stmt:
            out.append(stmt)
    return out
