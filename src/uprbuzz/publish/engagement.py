"""Engagement read-back: take the snapshots that are due, channel by channel.

    take_due(config, store, platform, now, log)       # tick and the daemon, after publishing
    take_due(..., manual=True)                        # `uprbuzz engagement snapshot --now`
    next_snapshot_at(config, store)                   # when the scheduler must wake for one

``platform`` gives a channel's logged-in client (``Publisher.platform``: the publish run's own,
so a tick logs in once for both). Each channel's due parts are read in batches of its
platform's ``limits.max_reads`` (Bluesky getPosts 25, X 100, Mastodon 1), oldest first, and
each batch's snapshots are stored before the next is read. A channel that fails (no
credentials, a rate limit, the server down) is reported and left for the next run: it never
stops another channel. When the rule (``store/engagement.due_stage``) is and why late stages
are taken once: see store/engagement.py.

**X reads are paid** (opt in: ``[engagement] x = true`` or a channel's ``engagement = true``).
Before each batch the budget says how many reads fit under ``[budget] x_daily_usd`` today
(posts and reads of every X channel together); only that many are read, the rest are
reported as stopped by the budget, and an ``engagement_budget`` event holds that channel's
snapshots back until the next local midnight (so the scheduler does not wake for them).
Each read is stored with its price (``x_read`` events, read by the budget).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from uprbuzz.platforms.base import Counts, PlatformError, Remote
from uprbuzz.store.engagement import MANUAL, DueSnapshot, Snapshot

if TYPE_CHECKING:
    from uprbuzz.checks.budget import Budget
    from uprbuzz.config import Channel, Config
    from uprbuzz.platforms.base import Platform
    from uprbuzz.store import Store

Log = Callable[[str], None]
BUDGET_STOP = "engagement_budget"  # event: X reads stopped by the spending limit
FAILED = "engagement_failed"  # event: a channel's read failed; the scheduler waits RETRY
RETRY = timedelta(minutes=15)
PROGRESS_LINES = 4  # at most this many "n/N read" lines per channel and run


@dataclass
class ChannelResult:
    channel: str
    due: int = 0
    taken: int = 0
    late: int = 0
    gone: int = 0  # deleted on the platform: never read again
    stopped: int = 0  # left for later by X's spending limit
    reads: int = 0  # paid X reads
    usd: float = 0.0
    error: str = ""

    def line(self) -> str:
        bits = [f"{self.taken}/{self.due} snapshot{'s' * (self.due != 1)}"]
        if self.late:
            bits.append(f"{self.late} late")
        if self.gone:
            bits.append(f"{self.gone} gone from the platform")
        if self.reads:
            bits.append(f"{self.reads} paid read{'s' * (self.reads != 1)} (${self.usd:.3f})")
        if self.stopped:
            bits.append(f"{self.stopped} stopped by the X spending limit ([budget] x_daily_usd)")
        if self.error:
            bits.append(f"error: {self.error}")
        return f"engagement {self.channel}: " + ", ".join(bits)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class SnapshotReport:
    channels: list[ChannelResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.error for c in self.channels)

    @property
    def taken(self) -> int:
        return sum(c.taken for c in self.channels)

    def summary(self) -> str:
        if not self.channels:
            return "engagement: nothing due"
        stopped = sum(c.stopped for c in self.channels)
        failed = [c.channel for c in self.channels if c.error]
        out = f"engagement: {self.taken} snapshot{'s' * (self.taken != 1)} taken"
        late = sum(c.late for c in self.channels)
        if late:
            out += f" ({late} late: the scheduler did not run at their time)"
        if stopped:
            out += f", {stopped} stopped by the X spending limit"
        if failed:
            out += f", failed on {', '.join(failed)}"
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"taken": self.taken, "ok": self.ok,
                "channels": [c.as_dict() for c in self.channels]}


def reading_channels(config: Config) -> tuple[Channel, ...]:
    return config.engagement.channels(config)


def take_due(config: Config, store: Store, platform: Callable[[str], Platform], now: datetime,
             log: Log = lambda _line: None, *, manual: bool = False,
             channels: Sequence[str] | None = None,
             stopping: Callable[[], bool] = lambda: False) -> SnapshotReport:
    """Take every snapshot due at ``now`` (``manual``: a ``now`` snapshot of every sent part)
    on the engagement channels (or those named), one channel after the other."""
    from uprbuzz.checks.budget import Budget

    budget = Budget.from_config(config)
    report = SnapshotReport()
    stages = config.engagement.after
    for ch in reading_channels(config):
        if channels is not None and ch.name not in channels:
            continue
        if stopping():
            break
        due = (_all_sent(store, ch.name, now) if manual
               else store.engagement.due(stages, [ch.name], now))
        if not due:
            continue
        res = ChannelResult(ch.name, due=len(due))
        report.channels.append(res)
        log(f"engagement {ch.name}: {len(due)} snapshot{'s' * (len(due) != 1)} due")
        try:
            _read_channel(ch, store, platform, budget, due, now, res, log, stopping)
        except PlatformError as e:
            res.error = e.message
        except Exception as e:  # noqa: BLE001 - one channel's failure never stops the others
            res.error = f"{type(e).__name__}: {e}"
        if res.error:
            store.engagement.note(ch.name, FAILED, res.error, now)
        log(res.line())
    return report


def _read_channel(ch: Channel, store: Store, platform: Callable[[str], Platform],
                  budget: Budget, due: list[DueSnapshot], now: datetime, res: ChannelResult,
                  log: Log, stopping: Callable[[], bool]) -> None:
    plat = platform(ch.name)
    size = max(1, plat.limits.max_reads)
    paid = ch.platform == "x"
    # progress every quarter or so, whatever the batch size (Mastodon reads one status a
    # request: a line per status would drown the tick's output); the channel's line ends it
    step = max(size, -(-len(due) // PROGRESS_LINES))
    for i in range(0, len(due), size):
        if stopping():
            return
        batch = due[i:i + size]
        if paid:
            left = budget.reads_left(store, now)
            if left is not None and left < len(batch):
                res.stopped = len(due) - i - left
                batch = batch[:left]
                _hold_back(store, ch.name, now, res.stopped, budget)
        if not batch:
            return
        counts = plat.metrics([Remote(ch.name, d.remote_id, d.url, d.uri) for d in batch])
        if paid:
            reads = [(d.post_id, d.part, budget.read_price(counts[d.remote_id].owned))
                     for d in batch if d.remote_id in counts]
            store.engagement.record_x_reads(ch.name, reads, now)
            res.reads += len(reads)
            res.usd += sum(r[2] for r in reads)
        _store(store, ch.name, batch, counts, now, res)
        if res.stopped:
            return
        done = min(i + size, len(due))
        if len(due) > size and done < len(due) and done // step > i // step:
            log(f"engagement {ch.name}: {done}/{len(due)} read")


def _store(store: Store, channel: str, batch: list[DueSnapshot], counts: dict[str, Counts],
           now: datetime, res: ChannelResult) -> None:
    snaps, late, gone = [], [], []
    for d in batch:
        c = counts.get(d.remote_id)
        if c is None:
            gone.append(d)
            continue
        s = Snapshot(d.post_id, d.channel, d.part, d.stage, now, c.likes, c.reposts,
                     c.replies, c.quotes, c.impressions, d.sent_at)
        snaps.append(s)
        if d.stage != MANUAL and d.late(now):
            late.append(s)
    store.engagement.record(snaps, late=late)
    store.engagement.mark_gone(channel, [(d.post_id, d.part, d.url or d.uri or d.remote_id)
                                         for d in gone], now)
    res.taken += len(snaps)
    res.late += len(late)
    res.gone += len(gone)


def _hold_back(store: Store, channel: str, now: datetime, n: int, budget: Budget) -> None:
    cap = budget.x_daily_usd or 0.0
    store.engagement.note(channel, BUDGET_STOP,
                          f"{n} engagement read{'s' * (n != 1)} left for tomorrow: X spending "
                          f"limit ${cap:.3f} for {budget.day_of(now):%a %d %b %Y} reached", now)


def _all_sent(store: Store, channel: str, now: datetime) -> list[DueSnapshot]:
    return [DueSnapshot(r["post_id"], r["channel"], int(r["part"]), MANUAL, now,
                        datetime.fromisoformat(r["sent_at"]), r["remote_id"], r["uri"] or "",
                        r["url"] or "") for r in store.engagement.sent([channel])]


def next_snapshot_at(config: Config, store: Store) -> datetime | None:
    """The earliest moment a snapshot becomes due (may be past), from the ledger alone (the
    clock is not read, as the publish loop's due rule): the tick's due index keeps it. A
    channel whose X reads the spending limit stopped waits for the next local midnight; one
    whose last read failed waits ``RETRY`` (a run that happens meanwhile still tries it)."""
    names = [c.name for c in reading_channels(config)]
    if not names:
        return None
    eng = store.engagement
    held = {ch: at + RETRY for ch, at in eng.last_events(FAILED).items()}
    for ch, at in eng.last_events(BUDGET_STOP).items():
        day = at.astimezone(config.zone).date()
        midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=config.zone)
        held[ch] = max(held.get(ch, midnight), midnight.astimezone(UTC))
    return eng.next_due(config.engagement.after, names, held)
