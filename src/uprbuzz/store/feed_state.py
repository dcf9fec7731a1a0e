"""Feed cursors (ETag, Last-Modified, subscription time) and the items already handled.

A row in ``feed_items`` means "this item has been dealt with": it made the post ``post_id``,
or it was deliberately skipped (older than the subscription, filtered out) with no post_id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from uprbuzz.store.db import Database


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FeedState:
    feed: str
    etag: str | None
    last_modified: str | None
    subscribed_at: datetime
    last_polled: datetime | None  # last successful fetch-and-parse; None = never


class FeedStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def state(self, feed: str) -> FeedState | None:
        rows = self.db.query("SELECT * FROM feed_state WHERE feed=?", (feed,))
        if not rows:
            return None
        r = rows[0]
        return FeedState(r["feed"], r["etag"], r["last_modified"],
                         datetime.fromisoformat(r["subscribed_at"]),
                         datetime.fromisoformat(r["last_polled"]) if r["last_polled"] else None)

    def subscribe(self, feed: str, now: datetime) -> FeedState:
        """The feed's state, created (subscribed at ``now``) on first sight."""
        self.db.execute("INSERT INTO feed_state (feed, subscribed_at) VALUES (?, ?) "
                        "ON CONFLICT (feed) DO NOTHING", (feed, _iso(now)))
        st = self.state(feed)
        assert st is not None
        return st

    def polled(self, feed: str, etag: str | None, last_modified: str | None,
               now: datetime) -> None:
        self.db.execute("UPDATE feed_state SET etag=?, last_modified=?, last_polled=? "
                        "WHERE feed=?", (etag, last_modified, _iso(now), feed))

    def seen_keys(self, feed: str) -> set[str]:
        return {r[0] for r in self.db.query("SELECT item_key FROM feed_items WHERE feed=?", (feed,))}

    def record(self, feed: str, key: str, post_id: str | None, published: datetime | None,
               now: datetime) -> bool:
        """Mark an item handled; False when it already was (another poller got there first)."""
        with self.db.transaction() as c:
            cur = c.execute(
                "INSERT INTO feed_items (feed, item_key, post_id, published, seen_at) "
                "VALUES (?,?,?,?,?) ON CONFLICT (feed, item_key) DO NOTHING",
                (feed, key, post_id, _iso(published) if published else None, _iso(now)))
            return cur.rowcount == 1

    def post_id_owner(self, post_id: str) -> tuple[str, str] | None:
        """(feed, item key) of the item that made ``post_id``, if any."""
        rows = self.db.query("SELECT feed, item_key FROM feed_items WHERE post_id=?", (post_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def items(self, feed: str) -> list[dict[str, object]]:
        return [dict(r) for r in self.db.query(
            "SELECT item_key, post_id, published, seen_at FROM feed_items WHERE feed=? "
            "ORDER BY seen_at, item_key", (feed,))]

    def reset(self, feed: str) -> None:
        """Forget a subscription (the next poll starts a new one)."""
        with self.db.transaction() as c:
            c.execute("DELETE FROM feed_items WHERE feed=?", (feed,))
            c.execute("DELETE FROM feed_state WHERE feed=?", (feed,))
