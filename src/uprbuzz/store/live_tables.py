"""The live console's own tables (migration 3): sessions, syncs, marks, posts, cues.

The publication ledger (exactly-once) stays the publish loop's; these rows are what the console
shows and what a restart resumes from. A post row is written before any platform is called.

With a PostgreSQL ledger, every write here also sends ``NOTIFY uprbuzz_live, '<session key>'``
in its own transaction (delivered on commit), so that every console on that session, on any
machine, refreshes its pages (``uprbuzz.store.pg_db.listen_live``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from uprbuzz.store.db import Database, Row, utcnow_iso

DONE_STATES = ("sent", "failed", "skipped")
LIVE_CHANNEL = "uprbuzz_live"  # the PostgreSQL notification channel; the payload: a session key


@dataclass
class LivePost:
    session: str
    n: int
    post_id: str
    kind: str
    text: str
    data: dict[str, Any]
    speaker: str | None
    offset: float | None
    cue_id: str | None
    state: str
    platforms: dict[str, dict[str, Any]] = field(default_factory=dict)
    submitted_at: str = ""
    updated_at: str = ""
    client_id: str | None = None
    # set by ``uprbuzz live align`` (migration 5): the start of the speaker's statement in the
    # transcript, and the speaker it was matched to; None until aligned
    aligned_offset: float | None = None
    aligned_speaker: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "post_id": self.post_id, "kind": self.kind, "text": self.text,
                "speaker": self.speaker, "offset": self.offset, "cue_id": self.cue_id,
                "state": self.state, "platforms": self.platforms,
                "submitted_at": self.submitted_at, "updated_at": self.updated_at,
                "card": self.data.get("card")}


def _row(r: Row) -> LivePost:
    return LivePost(r["session"], r["n"], r["post_id"], r["kind"], r["text"], json.loads(r["data"]),
                    r["speaker"], r["offset"], r["cue_id"], r["state"], json.loads(r["platforms"]),
                    r["submitted_at"], r["updated_at"], r["client_id"], r["aligned_offset"],
                    r["aligned_speaker"])


class LiveStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.shared = getattr(db, "dialect", "sqlite") == "postgresql"

    def data_version(self) -> int | None:
        """SQLite: a number that changes when another connection (another ``uprbuzz live`` on
        this file) commits a write, never for this process's own; None on PostgreSQL."""
        if self.shared:
            return None
        return int(self.db.query("PRAGMA data_version")[0][0])

    def _notify(self, c: Any, key: str) -> None:
        """Inside a write transaction: tell the consoles of other processes (PostgreSQL)."""
        if self.shared:
            c.execute(f"SELECT pg_notify('{LIVE_CHANNEL}', ?)", (key,))

    def _write(self, key: str, sql: str, params: tuple[Any, ...]) -> None:
        with self.db.transaction() as c:
            c.execute(sql, params)
            self._notify(c, key)

    # --- sessions, syncs, marks -------------------------------------------------------------
    def ensure_session(self, key: str, source: str, title: str, start: datetime) -> datetime:
        """Create the session row on first use; returns the stored broadcast start."""
        now = utcnow_iso()
        with self.db.transaction() as c:
            c.execute("INSERT INTO live_sessions (session, source, title, start_at, created_at, "
                      "updated_at) VALUES (?,?,?,?,?,?) ON CONFLICT (session) DO NOTHING",
                      (key, source, title, start.isoformat(), now, now))
            row = c.execute("SELECT start_at FROM live_sessions WHERE session=?", (key,)).fetchone()
        return datetime.fromisoformat(row["start_at"])

    def sessions(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query("SELECT * FROM live_sessions ORDER BY created_at")]

    def template(self, key: str) -> str | None:
        rows = self.db.query("SELECT template FROM live_sessions WHERE session=?", (key,))
        return rows[0]["template"] if rows else None

    def set_template(self, key: str, template: str) -> None:
        self._write(key, "UPDATE live_sessions SET template=?, updated_at=? WHERE session=?",
                    (template, utcnow_iso(), key))

    def add_sync(self, key: str, at: datetime, shown: float, start: datetime) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT INTO live_syncs (session, at, shown, start_at) VALUES (?,?,?,?)",
                      (key, at.isoformat(), shown, start.isoformat()))
            c.execute("UPDATE live_sessions SET start_at=?, updated_at=? WHERE session=?",
                      (start.isoformat(), utcnow_iso(), key))
            self._notify(c, key)

    def start_at(self, key: str) -> datetime | None:
        """The session's broadcast start as stored (moved by every sync, from any console)."""
        rows = self.db.query("SELECT start_at FROM live_sessions WHERE session=?", (key,))
        return datetime.fromisoformat(rows[0]["start_at"]) if rows else None

    def syncs(self, key: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query(
            "SELECT at, shown, start_at FROM live_syncs WHERE session=? ORDER BY id", (key,))]

    def add_mark(self, key: str, entry: int, name: str, offset: float) -> None:
        self._write(key, "INSERT INTO live_marks (session, entry, name, offset, at) "
                    "VALUES (?,?,?,?,?)", (key, entry, name, offset, utcnow_iso()))

    def marks(self, key: str) -> dict[int, float]:
        """Latest mark per timeline entry."""
        out: dict[int, float] = {}
        for r in self.db.query("SELECT entry, offset FROM live_marks WHERE session=? ORDER BY id",
                               (key,)):
            out[r["entry"]] = r["offset"]
        return out

    # --- posts ------------------------------------------------------------------------------
    def add_post(self, key: str, *, kind: str, text: str, data_for: Any, speaker: str | None,
                 offset: float | None, cue_id: str | None = None, client_id: str | None = None,
                 n: int | None = None) -> tuple[LivePost, bool]:
        """Store a submitted post; ``data_for(n, post_id)`` builds its Post JSON.

        Returns (post, created). A repeated ``client_id`` returns the existing post unchanged.
        """
        now = utcnow_iso()
        with self.db.transaction() as c:
            if client_id:
                row = c.execute("SELECT * FROM live_posts WHERE session=? AND client_id=?",
                                (key, client_id)).fetchone()
                if row:
                    return _row(row), False
            if n is None:
                n = c.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM live_posts WHERE session=?",
                              (key,)).fetchone()[0]
            else:
                row = c.execute("SELECT * FROM live_posts WHERE session=? AND n=?", (key, n)).fetchone()
                if row:
                    return _row(row), False
            post_id = f"live/{key}/{'anchor' if n == 0 else n}"
            data = data_for(n, post_id)
            c.execute("INSERT INTO live_posts (session, n, post_id, kind, client_id, text, data, "
                      "speaker, offset, cue_id, state, platforms, submitted_at, updated_at) "
                      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (key, n, post_id, kind, client_id, text, json.dumps(data), speaker, offset,
                       cue_id, "submitted", "{}", now, now))
            row = c.execute("SELECT * FROM live_posts WHERE session=? AND n=?", (key, n)).fetchone()
            self._notify(c, key)
        return _row(row), True

    def post(self, key: str, n: int) -> LivePost | None:
        rows = self.db.query("SELECT * FROM live_posts WHERE session=? AND n=?", (key, n))
        return _row(rows[0]) if rows else None

    def posts(self, key: str) -> list[LivePost]:
        return [_row(r) for r in self.db.query(
            "SELECT * FROM live_posts WHERE session=? ORDER BY n", (key,))]

    def pending(self, key: str) -> list[LivePost]:
        """Posts not finished everywhere: what a restart must (re)send."""
        return [p for p in self.posts(key) if p.state not in DONE_STATES]

    def update_platform(self, key: str, n: int, platform: str, targets: tuple[str, ...],
                        **info: Any) -> LivePost:
        """Merge ``info`` into one platform's status; recompute the post's overall state."""
        with self.db.transaction() as c:
            row = c.execute("SELECT platforms FROM live_posts WHERE session=? AND n=?",
                            (key, n)).fetchone()
            plats = json.loads(row["platforms"])
            plats.setdefault(platform, {}).update(info)
            states = [plats.get(p, {}).get("state", "queued") for p in targets]
            if all(s == "sent" for s in states):
                state = "sent"
            elif all(s in ("sent", "failed") for s in states):
                state = "failed" if all(s == "failed" for s in states) else "partial"
            else:
                state = "sending"
            c.execute("UPDATE live_posts SET platforms=?, state=?, updated_at=? "
                      "WHERE session=? AND n=?",
                      (json.dumps(plats), state, utcnow_iso(), key, n))
            row = c.execute("SELECT * FROM live_posts WHERE session=? AND n=?", (key, n)).fetchone()
            self._notify(c, key)
        return _row(row)

    def set_alignment(self, key: str, aligned: dict[int, tuple[float, str]]) -> int:
        """Store a transcript alignment: ``{n: (offset, speaker)}``. It replaces the session's
        previous one in the same transaction (a post not in ``aligned`` has none afterwards),
        so running it again with the same answer changes nothing. Returns the rows changed."""
        changed = 0
        with self.db.transaction() as c:
            rows = c.execute("SELECT n, aligned_offset, aligned_speaker FROM live_posts "
                             "WHERE session=?", (key,)).fetchall()
            for r in rows:
                new = aligned.get(r["n"])
                want = (new[0], new[1]) if new else (None, None)
                if (r["aligned_offset"], r["aligned_speaker"]) == want:
                    continue
                c.execute("UPDATE live_posts SET aligned_offset=?, aligned_speaker=? "
                          "WHERE session=? AND n=?", (*want, key, r["n"]))
                changed += 1
            if changed:
                self._notify(c, key)
        return changed

    # --- cues -------------------------------------------------------------------------------
    def set_cue(self, key: str, cue_id: str, state: str, post_id: str | None = None) -> bool:
        """Record fired/skipped once; False if the cue was already handled."""
        with self.db.transaction() as c:
            cur = c.execute("INSERT INTO live_cues (session, cue_id, state, post_id, at) "
                            "VALUES (?,?,?,?,?) ON CONFLICT (session, cue_id) DO NOTHING",
                            (key, cue_id, state, post_id, utcnow_iso()))
            if cur.rowcount == 1:
                self._notify(c, key)
            return cur.rowcount == 1

    def set_cue_post(self, key: str, cue_id: str, post_id: str) -> None:
        self._write(key, "UPDATE live_cues SET post_id=? WHERE session=? AND cue_id=?",
                    (post_id, key, cue_id))

    def cues(self, key: str) -> dict[str, dict[str, Any]]:
        return {r["cue_id"]: dict(r) for r in self.db.query(
            "SELECT cue_id, state, post_id, at FROM live_cues WHERE session=?", (key,))}
