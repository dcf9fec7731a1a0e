"""The ledger's identity and high-water mark, kept beside the project in ``uprbuzz.ledger``.

A ledger that was emptied, deleted, truncated, replaced by an older copy or separated from its
``-wal`` file still opens as a valid ledger, one that never published: the publish loop would
send everything again. So the project folder remembers which ledger it publishes through (an id
kept in the ledger's ``kv`` table) and the last event that ledger recorded. Before sending, the
ledger must be that one and at least that far; otherwise publishing stops with a message until
``uprbuzz state rebuild`` has reconciled the ledger from the platforms.

The mark only ever trails the ledger (it is written after the ledger commits), so a crash
between the two leaves a weaker check, never a false alarm.
"""

from __future__ import annotations

import os
import threading
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from uprbuzz.errors import UprbuzzError

if TYPE_CHECKING:
    from uprbuzz.store import Store

MARK_FILE = "uprbuzz.ledger"
_writing = threading.Lock()
_ID_KEY = "ledger_id"
_HEADER = """\
# uprbuzz: the ledger this project publishes through, and the last event it recorded.
# Written by uprbuzz after each run; if the ledger is lost or replaced by an older copy,
# publishing stops instead of sending everything again (see `uprbuzz state rebuild --help`).
"""


class LedgerMismatch(UprbuzzError):
    """The ledger is not the one this project published through, or is behind it."""


@dataclass(frozen=True)
class Mark:
    ledger: str
    events: int


def mark_path(root: Path) -> Path:
    return root / MARK_FILE


def ledger_id(store: Store) -> str | None:
    rows = store.db.query("SELECT value FROM kv WHERE key=?", (_ID_KEY,))
    return str(rows[0]["value"]) if rows else None


def high_water(store: Store) -> int:
    """The last event the ledger recorded (events only ever grow: every claim, send and
    state change appends one)."""
    rows = store.db.query("SELECT MAX(id) AS n FROM events")
    return int(rows[0]["n"] or 0)


def read_mark(path: Path) -> Mark | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise UprbuzzError(f"cannot read the ledger mark: {e.strerror}", path=str(path)) from e
    try:
        data = tomllib.loads(text)
        return Mark(str(data["ledger"]), int(data["events"]))
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise UprbuzzError(
            f"the ledger mark is damaged ({e}); restore it from version control, or run "
            "`uprbuzz state rebuild` to make a new one", path=str(path)) from e


def write_mark(path: Path, mark: Mark) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(f'{_HEADER}ledger = "{mark.ledger}"\nevents = {mark.events}\n',
                   encoding="utf-8")
    os.replace(tmp, path)  # atomic: a reader sees the old mark or the new one


def advance(store: Store, root: Path) -> Mark:
    """Record that the ledger got this far (giving a new ledger its id)."""
    with _writing:  # one process's lanes finish together: one writer at a time
        return _advance(store, root)


def _advance(store: Store, root: Path) -> Mark:
    lid = ledger_id(store)
    if lid is None:
        lid = uuid.uuid4().hex
        store.db.execute("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                         (_ID_KEY, lid))
        lid = ledger_id(store) or lid  # another process may have named it first
    mark = Mark(lid, high_water(store))
    path = mark_path(root)
    if not root.is_dir():  # a config built in memory (tests, tools): no project folder to mark
        return mark
    if read_mark_quietly(path) != mark:
        try:
            write_mark(path, mark)
        except OSError as e:
            raise UprbuzzError(f"cannot write the ledger mark: {e.strerror}", path=str(path)) from e
    return mark


def read_mark_quietly(path: Path) -> Mark | None:
    try:
        return read_mark(path)
    except UprbuzzError:
        return None


def problem(store: Store, root: Path, where: str) -> str | None:
    """Why this ledger must not be published through, or None when it is the project's own.
    ``where`` names the ledger (a URL's password is masked)."""
    from uprbuzz.store.db import mask_url

    where = mask_url(where)
    mark = read_mark(mark_path(root))
    if mark is None:
        return None
    lid, hw = ledger_id(store), high_water(store)
    if lid == mark.ledger and hw >= mark.events:
        return None
    file = store.db.dialect == "sqlite"
    if lid is None and hw == 0:
        what = ("is empty (it was deleted, emptied or truncated)" if file else
                "is empty (its tables were emptied, or this is another database)")
    elif lid is None:
        what = ("has lost its identity (it was copied without its -wal file)" if file else
                "has lost its identity (its kv table was emptied)")
    elif lid != mark.ledger:
        what = "is a different ledger (it was replaced)"
    else:
        what = (f"stops at event {hw} of {mark.events} (an older copy, or one copied without "
                "its -wal file)" if file else
                f"stops at event {hw} of {mark.events} (an older copy, restored from a backup?)")
    return (f"the ledger {where} {what}, but this project published through ledger "
            f"{mark.ledger[:8]} up to event {mark.events} ({MARK_FILE}). Nothing was sent, so "
            "nothing is sent twice: run `uprbuzz state rebuild` to recover what was published "
            "from the platforms, then publish again")


def verify(store: Store, root: Path, where: str) -> None:
    """Raise LedgerMismatch when publishing through this ledger could send things twice."""
    why = problem(store, root, where)
    if why:
        raise LedgerMismatch(why, path=str(mark_path(root)))
