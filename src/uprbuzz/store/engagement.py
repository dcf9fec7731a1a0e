"""Engagement snapshots read back from the platforms (table ``engagement``, migration 5)."""

from __future__ import annotations

from uprbuzz.store.db import Database


class Engagement:
    def __init__(self, db: Database) -> None:
        self.db = db
