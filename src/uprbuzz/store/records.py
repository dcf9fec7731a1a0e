"""The UPR recommendations and the State's positions (table ``records``, migration 5)."""

from __future__ import annotations

from uprbuzz.store.db import Database


class Records:
    def __init__(self, db: Database) -> None:
        self.db = db
