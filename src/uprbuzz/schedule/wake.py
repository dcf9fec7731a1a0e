"""When the publish loop will next have something to do (the scheduler's only question).

``next_wake`` mirrors the rules of ``publish_due`` (see publish_due.py) from the post list and the
ledger: a post is waiting for its ``at``; a deferred lane for its ``not_before`` (a budget deferral
for the next local day); a failure or an unclear outcome for a retry; an overdue, never-sent post
for the run that reports it missed. Sent, retracted, permanently rejected and already-missed
lanes never wake anything. Returning a time that is too early only costs a run that does
nothing; returning one too late would delay a post, so every doubt resolves to "earlier".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.model import Post
    from uprbuzz.store.publications import PubRow

RETRY_UNCLEAR = timedelta(minutes=1)  # claims left in flight, outcomes not known yet
RETRY_FAILED = timedelta(minutes=5)  # failures publish_due retries (auth, invalid, transient)
PERMANENT = ("rejected", "exhausted", "duplicate")  # as store.publications.PERMANENT


def next_wake(posts: Iterable[Post], ledger: Mapping[str, Sequence[PubRow]],
              config: Config, now: datetime) -> datetime | None:
    """The earliest moment a publish run could publish or report something (may be <= now)."""
    best: datetime | None = None
    seen: set[str] = set()
    for post in posts:
        if post.id in seen:  # publish_due keeps the first post of an id, so do we
            continue
        seen.add(post.id)
        t = post_wake(post, ledger.get(post.id, ()), config, now)
        if t is not None and (best is None or t < best):
            best = t
    return best


def post_wake(post: Post, rows: Sequence[PubRow], config: Config,
              now: datetime) -> datetime | None:
    if post.status != "approved" or post.at is None:
        return None
    if any(r.state == "retracted" for r in rows):
        return None
    late = now - post.at > config.late_limit
    best: datetime | None = None
    for name in post.targets:
        if name not in config.platforms:
            continue  # publish_due skips platforms the project has switched off
        n = len(post.parts_for(name) or ())
        lane = {r.part: r for r in rows if r.platform == name and r.part < n}
        if n == 0 or all(k in lane and lane[k].state == "sent" for k in range(n)):
            continue
        sent_any = any(r.state == "sent" for r in lane.values())
        if late and not sent_any:
            if any(r.state == "missed" for r in lane.values()):
                continue  # reported once; only `uprbuzz publish ID` sends it now
            t: datetime | None = post.at  # overdue: the next run records it as missed
        else:
            t = _lane_wake(post, lane, config)
        if t is not None and (best is None or t < best):
            best = t
    return best


def _lane_wake(post: Post, lane: Mapping[int, PubRow], config: Config) -> datetime | None:
    assert post.at is not None
    t = post.at
    chash: str | None = None
    for r in lane.values():
        if r.state == "sent":
            continue
        touched = r.updated_at or post.at
        if r.state in ("claimed", "unknown"):
            t = max(t, touched + RETRY_UNCLEAR)
        elif r.state == "deferred":
            if r.not_before is not None:
                t = max(t, r.not_before)
            elif r.kind == "budget":
                t = max(t, next_local_midnight(touched, config))
            else:
                t = max(t, touched)  # "will resend": the next run does
        elif r.state == "failed":
            if r.kind in PERMANENT:
                chash = chash or post.content_hash()
                if r.content_hash == chash:
                    return None  # rejected as it stands; an edit (new hash) retries it
            t = max(t, touched + RETRY_FAILED)
    return t


def next_local_midnight(when: datetime, config: Config) -> datetime:
    """The start of the next day in the project's zone (daily budgets reset then)."""
    zone = config.zone
    day = when.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=zone)
