"""The state store: post versions, the publication ledger, sessions, feed cursors.

``Store`` is a thin facade; each concern lives in its own module and is loaded on first use::

    store = Store.open(config)          # the ledger `state` names (SQLite or PostgreSQL), migrated
    store.publications.claim(...)       # store/publications.py  (publish loop only)
    store.sessions.load("bluesky", h)   # store/sessions.py
    store.cache.get(path, file_hash)    # store/cache.py         (parsed post files)
    store.feeds ...                     # store/feeds.py
    store.posts.record_seen(post)       # store/posts.py         (post versions, stored posts)
    store.records.list(theme=...)       # store/records.py       (UPR recommendations, positions)
    store.engagement.record(...)        # store/engagement.py    (likes, reposts... snapshots)
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from uprbuzz.store.db import Database, utcnow_iso

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store.engagement import Engagement
    from uprbuzz.store.feed_state import FeedStore
    from uprbuzz.store.logins import Sessions
    from uprbuzz.store.parse_cache import ParseCache
    from uprbuzz.store.publications import Publications
    from uprbuzz.store.records import Records
    from uprbuzz.store.stored_posts import PostStore

__all__ = ["Store", "Database", "open_database", "utcnow_iso"]


def open_database(where: str | Path, timeout: float | None = None) -> Database:
    """The ledger at ``where``: a ``postgresql://`` URL opens PostgreSQL (psycopg is imported
    only then, so a SQLite run never loads it), anything else is a SQLite file."""
    from uprbuzz.config import is_database_url

    if isinstance(where, str) and is_database_url(where):
        from uprbuzz.store.pg_db import PgDatabase

        return PgDatabase(where, timeout)
    return Database(where, timeout)


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, where: Config | str | Path) -> Store:
        """The ledger of a project (its ``state``: a SQLite file, or a ``postgresql://`` URL
        for one ledger shared by several machines), or at a path or URL."""
        from uprbuzz.config import Config

        if isinstance(where, Config):
            where = where.state_url or where.state_path
        return cls(open_database(where))

    def close(self) -> None:
        self.db.close()

    def reopened(self) -> Store:
        """A store on a connection of its own to the same ledger (a forked lane worker's: the
        connection it inherited is the parent's, to be neither used nor closed there)."""
        return Store(self.db.reopened())

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @cached_property
    def publications(self) -> Publications:
        from uprbuzz.store.publications import Publications

        return Publications(self.db)

    @cached_property
    def sessions(self) -> Sessions:
        from uprbuzz.store.logins import Sessions

        return Sessions(self.db)

    @cached_property
    def cache(self) -> ParseCache:
        from uprbuzz.store.parse_cache import ParseCache

        return ParseCache(self.db)

    @cached_property
    def feeds(self) -> FeedStore:
        from uprbuzz.store.feed_state import FeedStore

        return FeedStore(self.db)

    @cached_property
    def posts(self) -> PostStore:
        from uprbuzz.store.stored_posts import PostStore

        return PostStore(self.db)

    @cached_property
    def records(self) -> Records:
        from uprbuzz.store.records import Records

        return Records(self.db)

    @cached_property
    def engagement(self) -> Engagement:
        from uprbuzz.store.engagement import Engagement

        return Engagement(self.db)

    def event(self, event: str, detail: str = "", post_id: str | None = None,
              channel: str | None = None, part: int | None = None) -> None:
        """Append to the history (never a secret in ``detail``)."""
        self.db.execute(
            "INSERT INTO events (at, post_id, channel, part, event, detail) VALUES (?,?,?,?,?,?)",
            (utcnow_iso(), post_id, channel, part, event, detail),
        )
