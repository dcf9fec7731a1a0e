"""The exactly-once ledger: one row per post x channel x thread part (table ``publications``).

The publish loop records a *claim* (with the idempotency key it will send) before calling a
platform, and the remote id after. A crash therefore leaves either nothing, or a claim that the
next run reconciles (asks the platform whether it landed) before any resend.

States: claimed | sent | failed | unknown | deferred | missed | retracted.
A claim belongs to an *owner* (host:pid:start-time:token) with a lease; another process skips a
live owner's claim and reconciles a dead one's (process gone, or lease expired).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from uprbuzz.platforms.base import Remote
from uprbuzz.store.db import Database, Handle, Row

IN_FLIGHT = ("claimed", "unknown")
FINAL = ("sent", "retracted")
# failure kinds that are final for this content: only an edit (a new content hash) retries them
PERMANENT = ("rejected", "exhausted", "duplicate")


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(s: str | None) -> datetime | None:
    return None if not s else datetime.fromisoformat(s)


@dataclass(frozen=True)
class PubRow:
    post_id: str
    channel: str
    part: int
    content_hash: str
    state: str
    idem_key: str | None
    remote_id: str | None
    uri: str | None
    cid: str | None
    url: str | None
    error: str | None
    kind: str | None  # why it failed/deferred: rejected | duplicate | auth | exhausted | rate |
    #                   transient | budget
    attempts: int
    not_before: datetime | None
    claimed_at: datetime | None
    sent_at: datetime | None
    updated_at: datetime | None
    owner: str | None
    lease_until: datetime | None
    text: str | None

    @property
    def remote(self) -> Remote | None:
        if self.state not in ("sent", "retracted") or not self.remote_id:
            return None
        return Remote(self.channel, self.remote_id, self.url or "", self.uri or "", self.cid or "")

    def as_dict(self) -> dict[str, object]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("owner", "text")}
        return {k: _iso(v) if isinstance(v, datetime) else v for k, v in d.items()}


def _row(r: Row) -> PubRow:
    g = r.__getitem__
    return PubRow(
        g("post_id"), g("channel"), int(g("part")), g("content_hash"), g("state"), g("idem_key"),
        g("remote_id"), g("uri"), g("cid"), g("url"), g("error"), g("kind"), int(g("attempts")),
        _dt(g("not_before")), _dt(g("claimed_at")), _dt(g("sent_at")), _dt(g("updated_at")),
        g("owner"), _dt(g("lease_until")), g("text"),
    )


# --- owners ----------------------------------------------------------------------------------

def _start_time(pid: int) -> str:
    """The process start time from /proc (guards against pid reuse); '' where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}:{secrets.token_hex(4)}"


def owner_alive(owner: str | None) -> bool:
    """True when the owning process still runs (same host only; other hosts rely on the lease)."""
    if not owner:
        return False
    try:
        host, pid_s, start, _token = owner.rsplit(":", 3)
        pid = int(pid_s)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # cannot tell: the lease decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):  # killed but not yet reaped
            return False
        if start and fields[19] != start:
            return False  # pid reused by another process
    except (OSError, IndexError):
        pass
    return True


class Gated(Exception):
    """``claim``'s gate said no (its reason): nothing was claimed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Publications:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reading -----------------------------------------------------------------------------
    def rows(self, post_id: str | None = None, channel: str | None = None) -> list[PubRow]:
        sql, args = "SELECT * FROM publications WHERE 1=1", []
        if post_id is not None:
            sql += " AND post_id=?"
            args.append(post_id)
        if channel is not None:
            sql += " AND channel=?"
            args.append(channel)
        sql += " ORDER BY post_id, channel, part"
        return [_row(r) for r in self.db.query(sql, tuple(args))]

    def lane(self, post_id: str, channel: str) -> dict[int, PubRow]:
        return {r.part: r for r in self.rows(post_id, channel)}

    def by_post(self, post_ids: Iterable[str] | None = None) -> dict[str, list[PubRow]]:
        """All rows grouped by post (one query: used to skip what is done without loading SDKs)."""
        out: dict[str, list[PubRow]] = {}
        for r in self.rows():
            out.setdefault(r.post_id, []).append(r)
        if post_ids is not None:
            wanted = set(post_ids)
            out = {k: v for k, v in out.items() if k in wanted}
        return out

    def stale(self, now: datetime, me: str) -> list[PubRow]:
        """In-flight rows whose owner is gone (or released, or its lease ran out)."""
        rows = [_row(r) for r in self.db.query(
            "SELECT * FROM publications WHERE state IN ('claimed','unknown') "
            "ORDER BY post_id, channel, part")]
        return [r for r in rows if r.owner != me and _is_stale(r, now)]

    # --- claiming ----------------------------------------------------------------------------
    def claim(self, post_id: str, channel: str, parts: Sequence[tuple[int, str, str | None]],
              content_hash: str, owner: str, now: datetime, lease: timedelta,
              *, force: bool = False, gate: Callable[[], str | None] | None = None
              ) -> list[PubRow] | None:
        """Claim ``parts`` = [(part, text, key)] all together, or none (returns None).

        Refused when any part is sent/retracted, in flight (live owner, or a dead one's claim that
        must be reconciled first), deferred until later, or rejected for this same content
        (``force`` lifts the last two). A key already stored for a part is kept (a Bluesky retry
        reuses its rkey so it can never create a second record).

        ``gate`` is asked inside the claim's write transaction, so that what it reads (the
        budget: today's claims on the channel and its platform) cannot change before the claim
        is written, whichever process or machine claims meanwhile; a reason from it raises
        ``Gated`` and claims nothing.
        """
        with self.db.transaction() as c:
            existing = {
                r["part"]: _row(r) for r in c.execute(
                    "SELECT * FROM publications WHERE post_id=? AND channel=?", (post_id, channel))
            }
            for part, _text, _key in parts:
                r = existing.get(part)
                if r is None:
                    continue
                if r.state in FINAL or r.state in IN_FLIGHT:
                    return None
                if not force and r.state == "deferred" and r.not_before and r.not_before > now:
                    return None
                if (not force and r.state == "failed" and r.kind in PERMANENT
                        and r.content_hash == content_hash):
                    return None
            if gate is not None and (reason := gate()) is not None:
                raise Gated(reason)
            out = []
            for part, text, key in parts:
                r = existing.get(part)
                k = (r.idem_key if r is not None and r.idem_key else None) or key
                c.execute(
                    "INSERT INTO publications (post_id, channel, part, content_hash, state, "
                    "idem_key, attempts, claimed_at, updated_at, owner, lease_until, text, error, kind,"
                    " not_before) VALUES (?,?,?,?,'claimed',?,1,?,?,?,?,?,NULL,NULL,NULL) "
                    "ON CONFLICT (post_id, channel, part) DO UPDATE SET "
                    "content_hash=excluded.content_hash, state='claimed', idem_key=excluded.idem_key,"
                    " attempts=publications.attempts+1, claimed_at=excluded.claimed_at, "
                    "updated_at=excluded.updated_at, owner=excluded.owner, "
                    "lease_until=excluded.lease_until, text=excluded.text, error=NULL, kind=NULL, "
                    "not_before=NULL",
                    (post_id, channel, part, content_hash, k, _iso(now), _iso(now), owner,
                     _iso(now + lease), text),
                )
                _event(c, now, post_id, channel, part, "claimed", f"key={k}" if k else "")
            rows = {r["part"]: _row(r) for r in c.execute(
                "SELECT * FROM publications WHERE post_id=? AND channel=?", (post_id, channel))}
            for part, _t, _k in parts:
                out.append(rows[part])
            return out

    def take_over(self, row: PubRow, owner: str, now: datetime, lease: timedelta) -> bool:
        """Become the owner of a stale in-flight row (compare-and-set on the old owner)."""
        with self.db.transaction() as c:
            cur = c.execute(
                "UPDATE publications SET owner=?, lease_until=?, updated_at=? WHERE post_id=? AND "
                "channel=? AND part=? AND state=? AND owner IS ?",
                (owner, _iso(now + lease), _iso(now), row.post_id, row.channel, row.part,
                 row.state, row.owner))
            return cur.rowcount == 1

    def touch(self, post_id: str, channel: str, parts: Iterable[int], owner: str,
              now: datetime, lease: timedelta) -> None:
        """Extend our lease while we wait (backoff, rate limit)."""
        with self.db.transaction() as c:
            for p in parts:
                c.execute("UPDATE publications SET lease_until=?, attempts=attempts+1 WHERE "
                          "post_id=? AND channel=? AND part=? AND owner=?",
                          (_iso(now + lease), post_id, channel, p, owner))

    # --- results -----------------------------------------------------------------------------
    def mark_sent(self, post_id: str, channel: str, part: int, remote: Remote,
                  now: datetime, detail: str = "") -> None:
        with self.db.transaction() as c:
            _record_sent(c, post_id, channel, part, remote, now, detail)

    def adopt(self, post_id: str, channel: str, part: int, remote: Remote, now: datetime,
              text: str | None, detail: str = "", *, stale_blocks: bool = True
              ) -> PubRow | None:
        """Record a post found by a lookup as this part's, unless it may be another row's.

        A lookup matches by text, so its hit may be another post's identical text. Refused (the
        blocking row is returned, nothing is written) when another row already holds that remote
        id, or when another row with the same text is in flight (its send may be what the lookup
        found: reconciliation, oldest claim first, settles it; ``stale_blocks=False`` is for
        reconciliation itself, where only a live process's claim blocks). Checked and written in
        one transaction, so two processes cannot both adopt the same remote post.
        """
        with self.db.transaction() as c:
            others = [_row(r) for r in c.execute(
                "SELECT * FROM publications WHERE channel=? AND (remote_id=? OR (text=? AND "
                "state IN ('claimed','unknown'))) AND NOT (post_id=? AND part=?) "
                "ORDER BY remote_id IS NULL, post_id, part",
                (channel, remote.id, text, post_id, part))]
            for o in others:
                if o.remote_id == remote.id or stale_blocks or not _is_stale(o, now):
                    return o
            _record_sent(c, post_id, channel, part, remote, now, detail)
            return None

    def mark(self, post_id: str, channel: str, part: int, state: str, now: datetime, *,
             error: str | None = None, kind: str | None = None,
             not_before: datetime | None = None, content_hash: str | None = None,
             release: bool = True) -> None:
        """Set a non-sent state (upserting the row: missed/deferred may precede any claim)."""
        with self.db.transaction() as c:
            c.execute(
                "INSERT INTO publications (post_id, channel, part, content_hash, state, error, "
                "kind, not_before, updated_at) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (post_id, channel, part) DO UPDATE SET state=excluded.state, "
                "error=excluded.error, kind=excluded.kind, not_before=excluded.not_before, "
                "updated_at=excluded.updated_at"
                + (", owner=NULL, lease_until=NULL" if release else "")
                # a sent or retracted part is final: nothing may overwrite it
                + " WHERE publications.state NOT IN ('sent', 'retracted')",
                (post_id, channel, part, content_hash or "", state, error, kind,
                 _iso(not_before), _iso(now)))
            _event(c, now, post_id, channel, part, state, error or "")

    def mark_retracted(self, post_id: str, channel: str, part: int, now: datetime) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE publications SET state='retracted', updated_at=?, owner=NULL "
                      "WHERE post_id=? AND channel=? AND part=?",
                      (_iso(now), post_id, channel, part))
            _event(c, now, post_id, channel, part, "retracted", "")

    def note(self, post_id: str, channel: str, part: int, now: datetime, text: str) -> None:
        """Attach a note to a row without changing its state (a sent part edited since)."""
        with self.db.transaction() as c:
            c.execute("UPDATE publications SET error=?, updated_at=? WHERE post_id=? AND "
                      "channel=? AND part=?", (text, _iso(now), post_id, channel, part))
            _event(c, now, post_id, channel, part, "note", text)

    def rename(self, old_id: str, new_id: str, channel: str, now: datetime) -> None:
        """Carry a lane's rows over to the post's new id (its file was renamed)."""
        with self.db.transaction() as c:
            c.execute("UPDATE publications SET post_id=?, updated_at=? WHERE post_id=? AND "
                      "channel=?", (new_id, _iso(now), old_id, channel))
            _event(c, now, new_id, channel, 0, "renamed", f"from {old_id}")

    def forget(self, post_id: str, channel: str, part: int, now: datetime, why: str) -> None:
        """Drop a row, as if it had never been attempted (``state rebuild``: a part it could not
        find on the platform goes back to the due rule)."""
        with self.db.transaction() as c:
            c.execute("DELETE FROM publications WHERE post_id=? AND channel=? AND part=?",
                      (post_id, channel, part))
            _event(c, now, post_id, channel, part, "forgotten", why)

    def events(self, post_id: str | None = None) -> list[dict[str, object]]:
        sql = "SELECT * FROM events" + (" WHERE post_id=?" if post_id else "") + " ORDER BY id"
        return [dict(r) for r in self.db.query(sql, (post_id,) if post_id else ())]


def _is_stale(r: PubRow, now: datetime) -> bool:
    if r.owner is None:
        return True
    if r.lease_until is not None and r.lease_until < now:
        return True
    return not owner_alive(r.owner)



def _record_sent(c: Handle, post_id: str, channel: str, part: int, remote: Remote,
                 now: datetime, detail: str) -> None:
    c.execute(
        "UPDATE publications SET state='sent', remote_id=?, uri=?, cid=?, url=?, sent_at=?, "
        "updated_at=?, error=NULL, kind=NULL, not_before=NULL, owner=NULL, lease_until=NULL"
        " WHERE post_id=? AND channel=? AND part=?",
        (remote.id, remote.uri, remote.cid, remote.url, _iso(now), _iso(now), post_id,
         channel, part))
    _event(c, now, post_id, channel, part, "sent", detail or remote.url)

def _event(c: Handle, now: datetime, post_id: str, channel: str, part: int, event: str,
           detail: str) -> None:
    c.execute(
        "INSERT INTO events (at, post_id, channel, part, event, detail) VALUES (?,?,?,?,?,?)",
        (_iso(now), post_id, channel, part, event, detail[:500]))
