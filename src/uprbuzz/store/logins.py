"""Platform sessions (e.g. a Bluesky session string) kept between runs."""

from __future__ import annotations

from uprbuzz.store.db import Database, utcnow_iso


class Sessions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, platform: str, account: str) -> str | None:
        rows = self.db.query(
            "SELECT data FROM sessions WHERE platform=? AND account=?", (platform, account)
        )
        return rows[0]["data"] if rows else None

    def save(self, platform: str, account: str, data: str) -> None:
        self.db.execute(
            "INSERT INTO sessions (platform, account, data, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT (platform, account) DO UPDATE SET data=excluded.data, "
            "updated_at=excluded.updated_at",
            (platform, account, data, utcnow_iso()),
        )

    def clear(self, platform: str, account: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE platform=? AND account=?", (platform, account))
