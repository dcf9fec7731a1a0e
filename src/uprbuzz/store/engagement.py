"""Engagement snapshots read back from the platforms (table ``engagement``, migration 5).

One row per post × channel × part × stage: the counts a platform reported at ``taken_at``.
A stage is a delay after the part was sent, as configured (``[engagement] after``: "1h",
"24h", "7d"), or ``now`` for a manual read (``uprbuzz engagement snapshot --now``; each
manual read replaces the previous one). The freshest counts of a part are its row with the
latest ``taken_at`` (:meth:`Engagement.latest`); :meth:`Engagement.series` is every row.

**When a stage is due** (:func:`due_stage`, :func:`next_stage_at`; the clock is never read
here): a part sent at ``S`` has stage ``d`` due at ``S + d``. Only stages after the latest one
already taken count. When several of them have passed (the scheduler was down), only the
latest of those is taken: a 1 h and a 24 h reading made at the same instant would be the same
numbers under two labels. The earlier ones are skipped for good. A snapshot taken more than a
quarter of its delay after its due time (1 h: 15 min, 24 h: 6 h, 7 d: 42 h) is *late*:
``Snapshot.late`` says so, and an ``engagement_late`` event names it in the history.

**X reads are paid**: each read is an ``x_read`` event (channel, post, part; the price in
dollars as its detail), which ``checks/budget.py`` adds to the day's X spending.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from uprbuzz.config import parse_duration
from uprbuzz.store.db import Database, Row
from uprbuzz.store.live_keys import is_rehearsal_post

MANUAL = "now"  # the stage of a manual read
X_READ = "x_read"  # the event of one paid X read
LATE = "engagement_late"
TAKEN = "engagement"
GONE = "engagement_gone"  # the platform no longer shows the part: it is not read again
_COLS = "post_id, channel, part, stage, taken_at, likes, reposts, replies, quotes, impressions"

Stages = Sequence[tuple[str, timedelta]]  # (name, delay after sending), in increasing delay


def iso(t: datetime) -> str:
    """Times as the ledger writes them (UTC, microseconds): ISO text compares as time."""
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def grace(delay: timedelta) -> timedelta:
    """How long after its due time a snapshot still counts as on time."""
    return delay / 4


def stage_delay(stage: str) -> timedelta | None:
    """The delay a stage's name stands for ("24h" -> 24 h); None for ``now`` or a name that
    is not a duration."""
    if stage == MANUAL:
        return None
    try:
        return parse_duration(stage)
    except ValueError:
        return None


@dataclass(frozen=True)
class Snapshot:
    post_id: str
    channel: str
    part: int
    stage: str
    taken_at: datetime
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    impressions: int | None = None  # X only
    sent_at: datetime | None = None  # the part's, when read with the ledger (series, latest)

    @property
    def due_at(self) -> datetime | None:
        delay = stage_delay(self.stage)
        return None if delay is None or self.sent_at is None else self.sent_at + delay

    @property
    def late(self) -> bool:
        """Taken well after its stage's time (see the module's docstring)."""
        delay, due = stage_delay(self.stage), self.due_at
        return delay is not None and due is not None and self.taken_at - due > grace(delay)

    def as_dict(self) -> dict[str, object]:
        return {"post_id": self.post_id, "channel": self.channel, "part": self.part,
                "stage": self.stage, "taken_at": iso(self.taken_at),
                "sent_at": iso(self.sent_at) if self.sent_at else None, "late": self.late,
                "likes": self.likes, "reposts": self.reposts, "replies": self.replies,
                "quotes": self.quotes, "impressions": self.impressions}


@dataclass(frozen=True)
class DueSnapshot:
    """A sent part whose next snapshot is due: what to read, and where it landed."""

    post_id: str
    channel: str
    part: int
    stage: str
    due_at: datetime
    sent_at: datetime
    remote_id: str
    uri: str
    url: str

    def late(self, now: datetime) -> bool:
        return now - self.due_at > grace(self.due_at - self.sent_at)


def due_stage(sent_at: datetime, taken: Iterable[str], stages: Stages,
              now: datetime) -> tuple[str, datetime] | None:
    """The stage to take now for a part sent at ``sent_at`` with ``taken`` stages already
    recorded: the latest stage whose time has passed and that comes after every stage taken
    (earlier passed ones are skipped); None when nothing is due."""
    out = None
    for name, delay in _ahead(taken, stages):
        if sent_at + delay > now:
            break
        out = (name, sent_at + delay)
    return out


def next_stage_at(sent_at: datetime, taken: Iterable[str], stages: Stages) -> datetime | None:
    """When the part's next snapshot becomes due (may be past); None when it has them all."""
    for _name, delay in _ahead(taken, stages):
        return sent_at + delay
    return None


def _ahead(taken: Iterable[str], stages: Stages) -> list[tuple[str, timedelta]]:
    names = [n for n, _ in stages]
    done = [names.index(t) for t in taken if t in names]
    return list(stages[max(done) + 1:] if done else stages)


class Engagement:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- writing ----------------------------------------------------------------------------
    def record(self, snaps: Sequence[Snapshot], *, late: Iterable[Snapshot] = ()) -> None:
        """Store snapshots (a stage taken again replaces its row: ``now``), in one
        transaction with a history event per channel and stage, and one per late snapshot."""
        if not snaps:
            return
        rows = [(s.post_id, s.channel, s.part, s.stage, iso(s.taken_at), s.likes, s.reposts,
                 s.replies, s.quotes, s.impressions) for s in snaps]
        groups: dict[tuple[str, str], int] = {}
        for s in snaps:
            groups[(s.channel, s.stage)] = groups.get((s.channel, s.stage), 0) + 1
        at = iso(max(s.taken_at for s in snaps))
        with self.db.transaction() as c:
            c.executemany(
                f"INSERT INTO engagement ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (post_id, channel, part, stage) DO UPDATE SET "
                "taken_at=excluded.taken_at, likes=excluded.likes, reposts=excluded.reposts, "
                "replies=excluded.replies, quotes=excluded.quotes, "
                "impressions=excluded.impressions", rows)
            for (channel, stage), n in sorted(groups.items()):
                c.execute("INSERT INTO events (at, channel, event, detail) VALUES (?,?,?,?)",
                          (at, channel, TAKEN, f"{stage}: {n} part{'s' * (n != 1)}"))
            for s in late:
                due = s.due_at
                detail = (f"{s.stage} snapshot taken late, at {iso(s.taken_at)}"
                          + (f" (due {iso(due)})" if due else ""))
                c.execute("INSERT INTO events (at, post_id, channel, part, event, detail) "
                          "VALUES (?,?,?,?,?,?)",
                          (iso(s.taken_at), s.post_id, s.channel, s.part, LATE, detail))

    def record_x_reads(self, channel: str, reads: Sequence[tuple[str, int, float]],
                       at: datetime) -> None:
        """Paid X reads: (post id, part, dollars) each, at ``at`` on the run's clock."""
        if not reads:
            return
        with self.db.transaction() as c:
            c.executemany(
                "INSERT INTO events (at, post_id, channel, part, event, detail) "
                "VALUES (?,?,?,?,?,?)",
                [(iso(at), pid, channel, part, X_READ, repr(float(usd)))
                 for pid, part, usd in reads])

    def note(self, channel: str, event: str, detail: str, at: datetime) -> None:
        """A channel-wide event in the history (e.g. reads stopped, or failed)."""
        self.db.execute("INSERT INTO events (at, channel, event, detail) VALUES (?,?,?,?)",
                        (iso(at), channel, event, detail[:500]))

    def last_events(self, event: str) -> dict[str, datetime]:
        """The time of the latest ``event`` per channel."""
        return {r[0]: datetime.fromisoformat(r[1]) for r in self.db.tuples(
            "SELECT channel, MAX(at) FROM events WHERE event = ? GROUP BY channel", (event,))
            if r[0] and r[1]}

    def mark_gone(self, channel: str, parts: Sequence[tuple[str, int, str]], at: datetime) -> None:
        """Parts the platform no longer shows (post id, part, where it was): never read again."""
        if parts:
            with self.db.transaction() as c:
                c.executemany("INSERT INTO events (at, post_id, channel, part, event, detail) "
                              "VALUES (?,?,?,?,?,?)",
                              [(iso(at), pid, channel, part, GONE,
                                f"{where} is no longer on the platform")
                               for pid, part, where in parts])

    # --- reading ----------------------------------------------------------------------------
    def series(self, post_id: str | None = None, channel: str | None = None) -> list[Snapshot]:
        """Every snapshot with its part's ``sent_at``, by post, channel, part and time."""
        where, args = self._where(post_id, channel)
        return [self._snap(r) for r in self.db.query(
            f"SELECT {_prefixed('e')}, p.sent_at FROM engagement e LEFT JOIN publications p "
            "ON p.post_id = e.post_id AND p.channel = e.channel AND p.part = e.part "
            f"WHERE 1=1{where} ORDER BY e.post_id, e.channel, e.part, e.taken_at, e.stage",
            args)]

    def latest(self, post_id: str | None = None, channel: str | None = None) -> list[Snapshot]:
        """The freshest snapshot of each post × channel × part (latest ``taken_at``)."""
        where, args = self._where(post_id, channel)
        return [self._snap(r) for r in self.db.query(
            f"SELECT {_prefixed('e')}, p.sent_at FROM engagement e LEFT JOIN publications p "
            "ON p.post_id = e.post_id AND p.channel = e.channel AND p.part = e.part "
            "WHERE NOT EXISTS (SELECT 1 FROM engagement f WHERE f.post_id = e.post_id "
            "AND f.channel = e.channel AND f.part = e.part AND (f.taken_at > e.taken_at "
            "OR (f.taken_at = e.taken_at AND f.stage > e.stage)))"
            f"{where} ORDER BY e.post_id, e.channel, e.part", args)]

    def taken(self, channels: Iterable[str] | None = None) -> dict[tuple[str, str, int], list[str]]:
        """The stages recorded per (post, channel, part)."""
        names = list(channels) if channels is not None else None
        sql, args = "SELECT post_id, channel, part, stage FROM engagement", tuple[str, ...]()
        if names is not None:
            if not names:
                return {}
            sql += f" WHERE channel IN ({','.join('?' * len(names))})"
            args = tuple(names)
        out: dict[tuple[str, str, int], list[str]] = {}
        for r in self.db.tuples(sql, args):
            out.setdefault((r[0], r[1], int(r[2])), []).append(r[3])
        return out

    def sent(self, channels: Iterable[str]) -> list[Row]:
        """Parts sent on ``channels`` (state sent, with a time and a remote id), oldest first,
        but those the platform no longer shows (:meth:`mark_gone`) and a rehearsal's live posts
        (sandbox posts, not coverage: never read, never paid for)."""
        names = list(channels)
        if not names:
            return []
        marks = ",".join("?" * len(names))
        gone = {(r[0], r[1], int(r[2])) for r in self.db.tuples(
            f"SELECT post_id, channel, part FROM events WHERE event = ? AND channel IN ({marks})",
            (GONE, *names))}
        rows = self.db.query(
            "SELECT post_id, channel, part, sent_at, remote_id, uri, url FROM publications "
            f"WHERE state = 'sent' AND sent_at IS NOT NULL AND remote_id IS NOT NULL "
            f"AND channel IN ({marks}) ORDER BY sent_at, post_id, part", tuple(names))
        return [r for r in rows if (r["post_id"], r["channel"], int(r["part"])) not in gone
                and not is_rehearsal_post(r["post_id"])]

    def due(self, stages: Stages, channels: Iterable[str], now: datetime) -> list[DueSnapshot]:
        """Every sent part on ``channels`` whose next snapshot is due at ``now``."""
        names = list(channels)
        taken = self.taken(names)
        out = []
        for r in self.sent(names):
            sent_at = datetime.fromisoformat(r["sent_at"])
            key = (r["post_id"], r["channel"], int(r["part"]))
            got = due_stage(sent_at, taken.get(key, ()), stages, now)
            if got is not None:
                out.append(DueSnapshot(key[0], key[1], key[2], got[0], got[1], sent_at,
                                       r["remote_id"], r["uri"] or "", r["url"] or ""))
        return out

    def next_due(self, stages: Stages, channels: Iterable[str],
                 not_before: dict[str, datetime] | None = None) -> datetime | None:
        """The earliest moment a snapshot on ``channels`` becomes due (may be past); a
        channel's time is held back to ``not_before[channel]`` (e.g. X's spending limit)."""
        names = list(channels)
        taken = self.taken(names)
        best: datetime | None = None
        for r in self.sent(names):
            key = (r["post_id"], r["channel"], int(r["part"]))
            when = next_stage_at(datetime.fromisoformat(r["sent_at"]), taken.get(key, ()), stages)
            if when is not None and not_before and r["channel"] in not_before:
                when = max(when, not_before[r["channel"]])
            if when is not None and (best is None or when < best):
                best = when
        return best

    def x_read_spend(self, channels: Iterable[str], since: datetime,
                     until: datetime) -> tuple[int, float]:
        """(reads, dollars) of paid X reads on ``channels`` in [since, until)."""
        names = list(channels)
        if not names:
            return 0, 0.0
        rows = self.db.tuples(
            f"SELECT detail FROM events WHERE event = ? AND at >= ? AND at < ? "
            f"AND channel IN ({','.join('?' * len(names))})",
            (X_READ, iso(since), iso(until), *names))
        return len(rows), sum(float(r[0]) for r in rows)

    # --- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _where(post_id: str | None, channel: str | None) -> tuple[str, tuple[str, ...]]:
        where, args = "", list[str]()
        if post_id is not None:
            where, args = where + " AND e.post_id = ?", [*args, post_id]
        if channel is not None:
            where, args = where + " AND e.channel = ?", [*args, channel]
        return where, tuple(args)

    @staticmethod
    def _snap(r: Row) -> Snapshot:
        imp = r["impressions"]
        return Snapshot(r["post_id"], r["channel"], int(r["part"]), r["stage"],
                        datetime.fromisoformat(r["taken_at"]), int(r["likes"]),
                        int(r["reposts"]), int(r["replies"]), int(r["quotes"]),
                        None if imp is None else int(imp),
                        datetime.fromisoformat(r["sent_at"]) if r["sent_at"] else None)


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in _COLS.split(","))
