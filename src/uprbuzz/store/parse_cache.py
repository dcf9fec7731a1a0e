"""Parsed-and-checked post files, keyed by path and a hash of everything that decides the result.

The warm path of ``uprbuzz check`` and ``uprbuzz plan`` reads the whole table in one query and
only re-parses files whose hash changed. ``result`` is opaque bytes to this module (the
checks package encodes it); a stale row is simply overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable

from uprbuzz.store.db import Database, utcnow_iso


class ParseCache:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, path: str, file_hash: str) -> bytes | None:
        rows = self.db.query("SELECT file_hash, result FROM parse_cache WHERE path=?", (path,))
        if rows and rows[0]["file_hash"] == file_hash:
            return bytes(rows[0]["result"])
        return None

    def load_all(self) -> dict[str, tuple[str, bytes]]:
        """path -> (file_hash, result) for every cached file, in one query."""
        return {p: (h, r) for p, h, r in self.db.tuples(
            "SELECT path, file_hash, result FROM parse_cache")}

    def put(self, path: str, file_hash: str, result: bytes) -> None:
        self.put_many([(path, file_hash, result)])

    def put_many(self, rows: Iterable[tuple[str, str, bytes]]) -> None:
        now = utcnow_iso()
        with self.db.transaction() as c:
            c.executemany(
                "INSERT INTO parse_cache (path, file_hash, result, updated_at) VALUES (?,?,?,?) "
                "ON CONFLICT (path) DO UPDATE SET file_hash=excluded.file_hash, "
                "result=excluded.result, updated_at=excluded.updated_at",
                [(p, h, r, now) for p, h, r in rows],
            )

    def drop(self, paths: Iterable[str]) -> int:
        """Remove the rows of these paths (files that no longer exist)."""
        rows = [(p,) for p in paths]
        if rows:
            with self.db.transaction() as c:
                c.executemany("DELETE FROM parse_cache WHERE path=?", rows)
        return len(rows)

    def forget(self, keep: Iterable[str] | None = None) -> int:
        """Drop rows for files no longer present (all rows when ``keep`` is None)."""
        with self.db.transaction() as c:
            if keep is None:
                return c.execute("DELETE FROM parse_cache").rowcount
            gone = {r[0] for r in c.execute("SELECT path FROM parse_cache")} - set(keep)
            c.executemany("DELETE FROM parse_cache WHERE path=?", [(p,) for p in gone])
            return len(gone)
