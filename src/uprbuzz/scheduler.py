"""When things get published: ``uprbuzz tick`` (one cron run) and ``uprbuzz run`` (the daemon).

Both hand the actual work to :class:`uprbuzz.publish.Publisher`, which owns exactly-once. This
module only decides *when* to call it:

* ``tick``: under an exclusive file lock (overlapping cron runs wait for nothing: the second one
  exits at once), publish what is due within the late limit, poll feeds when their interval has
  passed, then store the due index that lets the next tick finish without parsing anything.
* ``run``: APScheduler 3.x. A rescan job stats ``posts/``, ``schedules/`` and ``uprbuzz.toml``
  every second; whenever they change, one ``date`` job per distinct due time is (re)scheduled, so
  added, edited and deleted files take effect without a restart and each publication fires on
  its second. SIGTERM stops the scheduler after the publication in flight.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterator

from uprbuzz import duecache
from uprbuzz.clock import Clock, default_clock

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.model import Post
    from uprbuzz.publish import Publisher, Report
    from uprbuzz.store import Store

Log = Callable[[str], None]


@contextmanager
def exclusive(config: "Config", name: str) -> Iterator[bool]:
    """A non-blocking per-project lock file; yields False when another process holds it."""
    path = config.state_path.parent / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def pending_times(posts: "list[Post]", store: "Store", now: datetime,
                  late_limit: timedelta) -> list[datetime]:
    """Future (or just-due) times at which an approved, never-attempted post falls due."""
    attempted = {r["post_id"] for r in store.db.query("SELECT DISTINCT post_id FROM publications")}
    out = []
    for p in posts:
        if p.status != "approved" or p.at is None or p.id in attempted or not p.targets:
            continue
        if p.at >= now - late_limit:
            out.append(p.at)
    return sorted(out)


def next_deferred(store: "Store") -> datetime | None:
    rows = store.db.query(
        "SELECT MIN(not_before) AS t FROM publications WHERE state = 'deferred' "
        "AND not_before IS NOT NULL"
    )
    t = rows[0]["t"] if rows else None
    return datetime.fromisoformat(t) if t else None


def next_feed_poll(config: "Config", store: "Store", now: datetime) -> datetime | None:
    """When the next feed poll is due (None: no feeds configured)."""
    if not config.feeds:
        return None
    try:
        from uprbuzz.feeds import next_poll_time
    except ImportError:
        return None
    return next_poll_time(config, store, now)


@dataclass
class TickResult:
    ran: bool
    report: "Report | None" = None
    feed_lines: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.report is None or self.report.ok


def tick(config: "Config", *, clock: Clock | None = None, log: Log = print) -> TickResult:
    clock = clock or default_clock()
    with exclusive(config, "tick") as got:
        if not got:
            return TickResult(False, message="another uprbuzz tick is running; this one did nothing")
        now = clock.now()
        if duecache.nothing_due(config, now):
            return TickResult(False, message="nothing due")
        from uprbuzz.publish import Publisher
        from uprbuzz.store import Store

        with Store.open(config) as store:
            fp = duecache.fingerprint(config)  # before loading: a later edit must not be missed
            result = TickResult(True)
            result.feed_lines = poll_feeds_if_due(config, store, now, log)
            publisher = Publisher(config, store, clock=clock, log=log)
            result.report = publisher.publish_due()
            _store_index(config, store, fp, clock.now())
        return result


def poll_feeds_if_due(config: "Config", store: "Store", now: datetime, log: Log) -> list[str]:
    when = next_feed_poll(config, store, now)
    if when is None or when > now:
        return []
    from uprbuzz.feeds import poll_all

    return poll_all(config, store, now=now, log=log)


def _store_index(config: "Config", store: "Store", fp: str, now: datetime) -> None:
    from uprbuzz.sources import load_all

    loaded = load_all(config, store)
    times = pending_times(loaded.posts, store, now, config.late_limit)
    candidates = [t for t in (times[0] if times else None, next_deferred(store)) if t]
    with store.db.transaction() as conn:
        duecache.write_index(conn, fp, min(candidates) if candidates else None,
                             next_feed_poll(config, store, now))


class Daemon:
    """``uprbuzz run``: APScheduler fires each due time; a 1 s rescan follows file changes."""

    def __init__(self, config: "Config", *, clock: Clock | None = None, log: Log = print,
                 rescan_seconds: float = 1.0) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        from uprbuzz.publish import Publisher
        from uprbuzz.store import Store

        self.config, self.log = config, log
        self.clock = clock or default_clock()
        self.store = Store.open(config)
        self.publisher: Publisher = Publisher(config, self.store, clock=self.clock, log=log)
        self.rescan_seconds = rescan_seconds
        self._fingerprint: str | None = None
        self._publish_lock = threading.Lock()
        self._stop = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            executors={"default": ThreadPoolExecutor(1), "scan": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # -- jobs --------------------------------------------------------------------------------
    def publish_now(self) -> None:
        if self._stop.is_set():
            return
        with self._publish_lock:
            report = self.publisher.publish_due()
        for line in report.summary().splitlines():
            self.log(line)
        self._reschedule()

    def rescan(self, force: bool = False) -> None:
        fp = duecache.fingerprint(self.config)
        if fp != self._fingerprint or force:
            if self._fingerprint is not None:
                self.log("files changed: rescheduling")
            self._fingerprint = fp
            self._reschedule()
        if self.config.feeds:
            lines = poll_feeds_if_due(self.config, self.store, self.clock.now(), self.log)
            if lines:
                self._fingerprint = None  # feeds may have written drafts or stored posts

    def _reschedule(self) -> None:
        from uprbuzz.sources import load_all

        now = self.clock.now()
        loaded = load_all(self.config, self.store)
        for d in loaded.errors:
            self.log(str(d))
        times = set(pending_times(loaded.posts, self.store, now, self.config.late_limit))
        deferred = next_deferred(self.store)
        if deferred:
            times.add(deferred)
        wanted = {self._job_id(t): t for t in times}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("due:") and job.id not in wanted:
                job.remove()
        for job_id, at in wanted.items():
            if self.scheduler.get_job(job_id) is None:
                self.scheduler.add_job(self.publish_now, "date", id=job_id,
                                       run_date=self._wall(max(at, now)))

    def _wall(self, at: datetime) -> datetime:
        """Map a time on our clock to the wall clock APScheduler waits on."""
        offset = datetime.now(timezone.utc) - self.clock.now()
        return at + offset

    @staticmethod
    def _job_id(at: datetime) -> str:
        return "due:" + at.astimezone(timezone.utc).isoformat()

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.scheduler.start()
        self.publish_now()  # catch up: due now, or missed while we were down
        self._fingerprint = duecache.fingerprint(self.config)
        self.scheduler.add_job(self.rescan, "interval", seconds=self.rescan_seconds,
                               id="rescan", executor="scan")

    def stop(self) -> None:
        """Finish the publication in flight, then stop; nothing is left claimed mid-way."""
        self._stop.set()
        request_stop = getattr(self.publisher, "request_stop", None)
        if request_stop:
            request_stop()
        self.scheduler.shutdown(wait=True)
        with self._publish_lock:  # a publish that started before shutdown has ended here
            self.store.close()

    def run_forever(self) -> None:
        done = threading.Event()

        def on_signal(signum: int, _frame: object) -> None:
            self.log(f"received {signal.Signals(signum).name}: finishing the publication in flight")
            done.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        self.log(f"uprbuzz run: watching {self.config.posts_dir}/ and {self.config.schedules_dir}/ "
                 f"(late limit {self.config.late_limit}); Ctrl+C or SIGTERM to stop")
        while not done.wait(0.5):
            pass
        self.stop()
        self.log("stopped cleanly")
