"""Post versions seen (by content hash) and posts that live only in the store (feeds, live).

``published_ids`` is what ``check`` asks to tell a missed post from a published one: a post
counts as published once any part landed or may have landed (sent, retracted, in flight).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from uprbuzz.model import Post, post_from_dict, post_to_dict
from uprbuzz.store.db import Database, utcnow_iso

LANDED = ("sent", "retracted", "claimed", "unknown")


class PostStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record_seen(self, post: Post) -> None:
        self.record_seen_many([post])

    def record_seen_many(self, posts: Iterable[Post]) -> None:
        now = utcnow_iso()
        rows = [(p.id, p.content_hash(), p.source.path if p.source else "", now, now) for p in posts]
        if not rows:
            return
        with self.db.transaction() as c:
            c.executemany(
                "INSERT INTO post_versions (post_id, hash, source, first_seen, last_seen) "
                "VALUES (?,?,?,?,?) ON CONFLICT (post_id, hash) DO UPDATE SET "
                "last_seen=excluded.last_seen, source=excluded.source", rows)

    def versions(self, post_id: str) -> list[dict[str, str]]:
        """Versions of a post seen so far, oldest first."""
        rows = self.db.query("SELECT hash, source, first_seen, last_seen FROM post_versions "
                             "WHERE post_id=? ORDER BY first_seen", (post_id,))
        return [dict(r) for r in rows]

    def stored(self) -> list[Post]:
        rows = self.db.query("SELECT data FROM stored_posts ORDER BY created_at, post_id")
        return [post_from_dict(json.loads(r["data"])) for r in rows]

    def get_stored(self, post_id: str) -> Post | None:
        rows = self.db.query("SELECT data FROM stored_posts WHERE post_id=?", (post_id,))
        return post_from_dict(json.loads(rows[0]["data"])) if rows else None

    def put_stored(self, post: Post) -> None:
        self.db.execute(
            "INSERT INTO stored_posts (post_id, origin, data, created_at) VALUES (?,?,?,?) "
            "ON CONFLICT (post_id) DO UPDATE SET origin=excluded.origin, data=excluded.data",
            (post.id, post.origin, json.dumps(post_to_dict(post), ensure_ascii=False), utcnow_iso()))

    def delete_stored(self, post_id: str) -> None:
        self.db.execute("DELETE FROM stored_posts WHERE post_id=?", (post_id,))

    def published_ids(self) -> set[str]:
        marks = ",".join("?" * len(LANDED))
        rows = self.db.query(f"SELECT DISTINCT post_id FROM publications WHERE state IN ({marks})",
                             LANDED)
        return {r[0] for r in rows}
