"""The "nothing is due" fast path of ``uprbuzz tick`` (stdlib only: no click, YAML or SDKs).

A cron tick runs every few minutes and almost always finds nothing to do. After every full run
the scheduler stores a *due index*: a fingerprint of the project's source files (path, size,
mtime) and the earliest moment something could become due. The next tick stats the files, and
when nothing changed and that moment is still ahead, it is done without parsing a single post.
Anything unusual (changed files, deferred retries due, claims left in flight) falls through to
the full path, which is always correct: this index only ever skips work that provably isn't there.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uprbuzz.config import Config

INDEX_KEY = "due_index"
INDEX_VERSION = 1


def fingerprint(config: "Config") -> str:
    """Hash of every source file's path, size and mtime (uprbuzz.toml, posts/, schedules/)."""
    h = hashlib.sha1()
    root = config.root
    cfg = root / "uprbuzz.toml"
    if cfg.exists():
        st = cfg.stat()
        h.update(f"uprbuzz.toml\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for rel in (config.posts_dir, config.schedules_dir):
        _walk(root / rel, rel, h)
    return h.hexdigest()


def _walk(path: Path, rel: str, h: "hashlib._Hash") -> None:
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for e in entries:
        name = f"{rel}/{e.name}"
        if e.is_dir(follow_symlinks=False):
            _walk(Path(e.path), name, h)
        else:
            try:
                st = e.stat()
            except OSError:
                continue
            h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())


def write_index(conn: sqlite3.Connection, fp: str, next_due: datetime | None,
                next_poll: datetime | None = None) -> None:
    value = json.dumps({
        "version": INDEX_VERSION,
        "fingerprint": fp,
        "next_due": next_due.isoformat() if next_due else None,
        "next_poll": next_poll.isoformat() if next_poll else None,
    })
    conn.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (INDEX_KEY, value),
    )


def nothing_due(config: "Config", now: datetime) -> bool:
    """True only when the stored index proves that a full tick would do nothing now."""
    path = config.state_path
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT value FROM kv WHERE key = ?", (INDEX_KEY,)).fetchone()
            if row is None:
                return False
            index = json.loads(row[0])
            if index.get("version") != INDEX_VERSION:
                return False
            # Claims left in flight need reconciling; deferred work may have come due.
            busy = conn.execute(
                "SELECT 1 FROM publications WHERE state IN ('claimed', 'unknown') "
                "OR (state = 'deferred' AND (not_before IS NULL OR not_before <= ?)) LIMIT 1",
                (now.isoformat(),),
            ).fetchone()
        finally:
            conn.close()
    except (sqlite3.Error, ValueError):
        return False
    if busy:
        return False
    for key in ("next_due", "next_poll"):
        when = index.get(key)
        if when and datetime.fromisoformat(when) <= now:
            return False
    return bool(index.get("fingerprint") == fingerprint(config))
