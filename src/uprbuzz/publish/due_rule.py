"""When a lane (one post on one channel: an account on a platform) is due: the one rule
(``run_due``), the daemon's wake-up (``schedule/wake.py``) and the due time the tick fast path
stores (``schedule/fast_path.py``, written by ``schedule/daemon.py``).

A lane's verdict depends on the post, its ledger rows and the config, never on the clock: it
is a moment from which the lane is due (or none). "Is it due now?" is ``now >= due_at`` for
every caller. So a stored due time stays right whatever the clock does next, and a clock that
moves back cannot make a decided lane due again.

* Never due: every part sent; any row of the post retracted; a draft; no ``at`` (only
  ``uprbuzz publish ID`` sends those).
* Missed, never due again: nothing sent and a part recorded ``missed`` at a moment already
  past the late limit of the post's current ``at``. The stored moment is the proof, so going
  back in time cannot undo it; moving ``at`` to within the late limit of that moment (a new
  schedule) does, and naming the post sends it anyway.
* Otherwise due from ``max(at, every part's timer)``: in flight (claimed, unknown) one minute
  after the row last changed; deferred at ``not_before`` (a budget cap at the next local
  midnight; "will resend" at once); failed five minutes after the failure, but failed for
  good (rejected, a duplicate, given up) never while the content stays the same, and at once
  after an edit (a new content hash).
* The timers say *when* a lane is due; lateness says *what* a due lane gets: with nothing
  sent and ``now`` more than ``late_limit`` past ``at``, the run reports it missed (and records
  it, which makes it stick) instead of publishing it. A thread under way is finished late.

Pure functions of stdlib values; the model, the store and the config are only type hints, so
importing this costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.model import Post
    from uprbuzz.store.publications import PubRow

RETRY_UNCLEAR = timedelta(minutes=1)  # claims left in flight, outcomes not known yet
RETRY_FAILED = timedelta(minutes=5)  # failures worth retrying (auth, invalid, transient)
# As store.publications.PERMANENT (a test keeps them equal); not imported from there so that
# this module pulls in neither the store nor the platforms.
PERMANENT = ("rejected", "exhausted", "duplicate")

# Why a lane is never due by the clock ("failed": for good, for the content as it stands).
End = Literal["sent", "retracted", "draft", "unscheduled", "missed", "failed"]
Action = Literal["publish", "missed"]


@dataclass(frozen=True)
class LaneDue:
    """The rule's verdict on one lane; the same whatever the clock says."""

    channel: str
    parts: int  # how many parts this channel receives
    rows: Mapping[int, PubRow]  # the lane's ledger rows by part (none past ``parts``)
    end: End | None = None  # why it is never due by the clock; None: it is due from ``due_at``
    due_at: datetime | None = None  # from then an unnamed run publishes it or reports it missed
    late_after: datetime | None = None  # due later than this: missed (None: a thread under way)

    def action(self, now: datetime) -> Action | None:
        """What an unnamed publish run does with this lane at ``now`` (None: nothing)."""
        if self.due_at is None or now < self.due_at:
            return None
        if self.late_after is not None and now > self.late_after:
            return "missed"
        return "publish"


def unique_posts(posts: Iterable[Post]) -> dict[str, Post]:
    """Posts by id; of two posts with one id the first wins (for every caller alike)."""
    out: dict[str, Post] = {}
    for p in posts:
        out.setdefault(p.id, p)
    return out


def retracted(rows: Iterable[PubRow]) -> bool:
    """A retraction anywhere ends the whole post: only a new id publishes it again."""
    return any(r.state == "retracted" for r in rows)


def lanes(post: Post, rows: Sequence[PubRow], config: Config) -> list[LaneDue]:
    """The verdict on each channel the post is routed to (disabled channels have no lane).

    ``rows`` are all of the post's ledger rows, every channel (a retraction is post-wide).
    """
    gone = retracted(rows)  # once per post, not per lane
    return [_lane(post, rows, ch.name, config, gone) for ch in config.route(post)]


def lane_due(post: Post, rows: Sequence[PubRow], channel: str, config: Config) -> LaneDue:
    """The rule for one lane; ``rows`` as for :func:`lanes`."""
    return _lane(post, rows, channel, config, retracted(rows))


def _lane(post: Post, rows: Sequence[PubRow], channel: str, config: Config,
          gone: bool) -> LaneDue:
    ch = config.channel(channel)
    n = len((post.parts_on(channel, ch.platform) if ch else None) or ())
    lane = {r.part: r for r in rows if r.channel == channel and r.part < n}
    if gone:
        return LaneDue(channel, n, lane, "retracted")
    sent_any = any(r.state == "sent" for r in lane.values())
    if all(k in lane and lane[k].state == "sent" for k in range(n)):
        return LaneDue(channel, n, lane, "sent")  # also a channel given no parts at all
    if post.status != "approved":
        return LaneDue(channel, n, lane, "draft")
    if post.at is None:
        return LaneDue(channel, n, lane, "unscheduled")
    late_limit = config.late_limit
    if not sent_any and any(_reported_missed(r, post.at, late_limit) for r in lane.values()):
        return LaneDue(channel, n, lane, "missed")
    ready = _ready(post, post.at, lane.values(), config)
    if ready is None:
        return LaneDue(channel, n, lane, "failed")
    # A thread under way is finished whatever the time; a lane not started can be too late.
    # A part in flight or unclear may have landed: it goes to the lane, which reconciles it
    # with the platform, never relabelled missed (that would hide a possible post).
    unsettled = any(r.state in ("claimed", "unknown") for r in lane.values())
    late_after = None if sent_any or unsettled else post.at + late_limit
    return LaneDue(channel, n, lane, None, ready, late_after)


def _reported_missed(r: PubRow, at: datetime, late_limit: timedelta) -> bool:
    """Recorded missed for this ``at``: it was already past the late limit when recorded.

    A row without a time counts as missed: a post reported missed stays missed."""
    if r.state != "missed":
        return False
    return r.updated_at is None or r.updated_at - at > late_limit


def _ready(post: Post, at: datetime, rows: Iterable[PubRow], config: Config) -> datetime | None:
    """When every part's timer has run out (None: rejected as it stands)."""
    t = at
    chash: str | None = None
    for r in rows:
        touched = r.updated_at or at
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
                    return None
                continue  # rejected an earlier version: the edit is sent at once
            t = max(t, touched + RETRY_FAILED)  # whatever the hash: an edit need not fix it
        # sent parts wait for nothing; a missed part of a new schedule neither
    return t


def next_due(posts: Iterable[Post], ledger: Mapping[str, Sequence[PubRow]],
             config: Config) -> datetime | None:
    """The earliest moment any lane of any post is due (may be in the past); None: never."""
    best: datetime | None = None
    for post in unique_posts(posts).values():
        t = post_due(post, ledger.get(post.id, ()), config)
        if t is not None and (best is None or t < best):
            best = t
    return best


def post_due(post: Post, rows: Sequence[PubRow], config: Config) -> datetime | None:
    """The earliest moment any lane of ``post`` is due; None: never."""
    times = [t for lane in lanes(post, rows, config) if (t := lane.due_at) is not None]
    return min(times) if times else None


def next_local_midnight(when: datetime, config: Config) -> datetime:
    """The start of the next day in the project's zone (daily budgets reset then)."""
    zone = config.zone
    day = when.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=zone)
