"""When things get published: ``uprbuzz tick`` (one cron run) and ``uprbuzz run`` (the daemon).

Both hand the actual work to :class:`uprbuzz.publish.publisher.Publisher`, which owns exactly-once (claims
in the ledger before every send). This module only decides *when* to call it:

* ``tick``: under an exclusive file lock (an overlapping cron run exits at once), publish what
  is due within the late limit, take the engagement snapshots that are due (with the publish
  run's own logged-in clients: publish/engagement.py), then poll feeds whose interval has passed and publish what they
  brought, then store the due index that lets the next tick finish without
  parsing anything (fast_path.py).
* ``run``: APScheduler 3.x holds one ``date`` job, "wake", set to the next moment anything can be
  done (schedule_due.next_wake, or the next engagement snapshot); each wake publishes, then
  takes the snapshots that are due. Once a second the daemon stats ``posts/``, ``schedules/`` and
  ``uprbuzz.toml`` and looks at the ledger; on any change it recomputes the wake time, so added,
  edited and deleted files (and other processes' publications) take effect without a restart.
  Feeds are polled by a :class:`FeedWorker` on a thread of its own, with a store connection of
  its own: a fetch holds neither the publish lock nor the scheduling thread, and the posts it
  brings reach the publish loop like any other change, through the rescan.
  SIGTERM lets the part in flight finish and be recorded, sends nothing more, and exits; a
  feed fetch under way is abandoned (nothing it fetched is written).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from uprbuzz.clock import Clock, default_clock
from uprbuzz.schedule import fast_path as duecache

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.publish.engagement import SnapshotReport
    from uprbuzz.publish.publisher import Publisher, Report
    from uprbuzz.sources.feeds.feed_poll import Writing
    from uprbuzz.store import Store

Log = Callable[[str], None]
# After a run, work that is still "due" (e.g. a platform without credentials) waits this long
# before the daemon tries again, instead of spinning.
RETRY_IDLE = timedelta(seconds=30)


@contextmanager
def exclusive(config: Config, name: str) -> Iterator[bool]:
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


def compute_wake(config: Config, store: Store) -> tuple[datetime | None, str]:
    """(next moment a publish run has work, store mark taken *before* reading the ledger).

    The moment is the publish loop's due rule and does not depend on the clock, so the due
    index may keep it however the clock moves next (back included)."""
    from uprbuzz.publish.engagement import next_snapshot_at
    from uprbuzz.schedule.wake import next_wake
    from uprbuzz.sources.gather import load_all

    with store.db.lock:
        mark = duecache.store_mark(store.db.conn)
    loaded = load_all(config, store)
    wake = next_wake(loaded.posts, store.publications.by_post(), config)
    snap = next_snapshot_at(config, store)  # engagement read-back: clock-free as well
    return (snap if wake is None else wake if snap is None else min(wake, snap)), mark


def take_snapshots(config: Config, store: Store, publisher: Publisher, now: datetime,
                   log: Log) -> SnapshotReport | None:
    """The engagement snapshots due at ``now``, through the publish run's own clients; a
    failure here is logged and never undoes or stops publishing."""
    from uprbuzz.publish.engagement import take_due

    if publisher.stopping:
        return None
    try:
        # one reader per machine: the daemon, a cron tick and `engagement snapshot` reading
        # the same posts at once would pay X twice
        with exclusive(config, "engagement") as got:
            if not got:
                log("engagement: another uprbuzz process is taking snapshots; left to it")
                return None
            return take_due(config, store, publisher.platform, now, log,
                            stopping=lambda: publisher.stopping)
    except Exception as e:  # e.g. the ledger locked: the next run takes them
        log(f"engagement: snapshots not taken: {type(e).__name__}: {e}")
        return None


def next_feed_poll(config: Config, store: Store, now: datetime) -> datetime | None:
    """When the next feed poll is due (None: no feeds configured)."""
    if not config.feeds:
        return None
    from uprbuzz.sources.feeds.feed_poll import next_poll_time

    return next_poll_time(config, store, now)


def poll_feeds_if_due(config: Config, store: Store, now: datetime, log: Log,
                      writing: Writing | None = None) -> list[str]:
    when = next_feed_poll(config, store, now)
    if when is None or when > now:
        return []
    from uprbuzz.sources.feeds.feed_poll import poll_all

    try:
        return poll_all(config, store, now=now, log=log, writing=writing)
    except Exception as e:  # a broken feed must never stop publishing
        line = f"feeds: poll failed: {e}"
        log(line)
        return [line]


@dataclass
class TickResult:
    ran: bool
    report: Report | None = None
    feed_lines: list[str] = field(default_factory=list)
    message: str = ""
    engagement: SnapshotReport | None = None

    @property
    def ok(self) -> bool:
        return self.report is None or self.report.ok


def tick(config: Config, *, clock: Clock | None = None, log: Log = print,
         publisher_factory: Callable[..., Publisher] | None = None,
         processes: bool = False) -> TickResult:
    """One cron run. ``ran`` is False when another tick held the lock or the index said idle.
    ``processes``: the channels' workers as processes where they can be (the CLI's tick).

    What is due goes out first, under the tick lock. The feeds are polled after, with the tick
    lock released (a slow or hostile feed, each fetch bounded by its timeout, never holds up
    another tick's publishing) under a lock of their own (one poller at a time); then, under
    the tick lock again, what they brought is published and the due index written."""
    clock = clock or default_clock()
    from uprbuzz.store import Store

    if publisher_factory is None:
        from functools import partial

        from uprbuzz.publish.publisher import Publisher

        publisher_factory = partial(Publisher, processes=processes)
    with exclusive(config, "tick") as got:
        if not got:
            return TickResult(False, message="another uprbuzz tick is running; this one did nothing")
        now = clock.now()
        if duecache.nothing_due(config, now):
            return TickResult(False, message="nothing due")
        result = TickResult(True)
        with Store.open(config) as store:
            publisher = publisher_factory(config, store, clock=clock, log=log)
            result.report = publisher.publish_due()
            result.engagement = take_snapshots(config, store, publisher, clock.now(), log)
            stopped = publisher.stopping
    with exclusive(config, "feeds") as polling:
        if polling and not stopped:
            with Store.open(config) as store:
                result.feed_lines = poll_feeds_if_due(config, store, now, log)
    with exclusive(config, "tick") as got:
        if not got:  # another tick started meanwhile: it publishes what the feeds brought
            return result
        with Store.open(config) as store:
            fp = duecache.fingerprint(config)  # before loading: a later edit must not be missed
            if result.feed_lines and not stopped:
                publisher = publisher_factory(config, store, clock=clock, log=log)
                result.report.extend(publisher.publish_due())
            end = clock.now()
            wake, mark = compute_wake(config, store)
            with store.db.transaction() as conn:
                duecache.write_index(conn, fp, wake, next_feed_poll(config, store, end), mark)
    return result


class FeedWorker:
    """The daemon's feed polls, on a daemon thread of their own (never the scheduling thread).

    Every ``every`` seconds it polls the feeds whose interval has passed, through its own store
    connection, so a fetch (up to each feed's ``timeout``) holds no lock the daemon needs: not
    the publish lock, not the shared connection. What a poll writes (stored posts, draft files)
    changes the store mark or the files' fingerprint, so the daemon's rescan picks it up and the
    normal publish loop sends it.

    ``stop()`` never waits for a fetch: the thread is left to end with the process. It waits
    (briefly) only for writes already under way; a fetch that completes after it writes
    nothing (``feed_poll.Writing``), so the feed's state only moves after a complete fetch."""

    WRITE_WAIT = 1.0  # seconds stop() waits for a poll's writes in progress (local, quick)

    def __init__(self, config: Config, clock: Clock, log: Log, every: float) -> None:
        self.config, self.clock, self.log, self.every = config, clock, log, every
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None and self.config.feeds:
            self._thread = threading.Thread(target=self._run, name="uprbuzz feeds", daemon=True)
            self._thread.start()

    def request_stop(self) -> None:
        """Only sets a flag: safe in a signal handler."""
        self._stop.set()

    def stop(self) -> None:
        """Write nothing more; wait for writes in progress (not for a fetch) at most WRITE_WAIT."""
        self._stop.set()
        if self._write_lock.acquire(timeout=self.WRITE_WAIT):
            self._write_lock.release()  # later writes see the flag under the lock: refused
        else:
            self.log(f"feeds: a poll was still writing after {self.WRITE_WAIT:g} s; "
                     "stopping anyway (the next poll completes it)")

    @property
    def alive(self) -> bool:
        """The thread is running (after stop(): a fetch it was left in has not ended yet)."""
        return self._thread is not None and self._thread.is_alive()

    @contextmanager
    def _writing(self) -> Iterator[bool]:
        with self._write_lock:
            yield not self._stop.is_set()

    def _log(self, line: str) -> None:
        """Nothing after stop(): the process may be finalizing, and a daemon thread writing to
        stdout then can abort it."""
        with self._writing() as may:
            if may:
                self.log(line)

    def _run(self) -> None:
        from uprbuzz.store import Store

        try:
            store = Store.open(self.config)
        except Exception as e:
            self._log(f"feeds: cannot open the state store: {e}; feeds are not polled")
            return
        try:
            wait = 0.0
            while not self._stop.wait(wait):
                wait = self.every
                try:
                    poll_feeds_if_due(self.config, store, self.clock.now(), self._log,
                                      writing=self._writing)
                except Exception as e:  # e.g. a broken [[feeds]] entry: say so, try again later
                    self._log(f"feeds: {type(e).__name__}: {e}; trying again in "
                              f"{RETRY_IDLE.seconds}s")
                    wait = max(self.every, RETRY_IDLE.total_seconds())
        finally:
            with self._write_lock:
                store.close()


class Daemon:
    """``uprbuzz run``: one APScheduler date job fires at each wake time; a 1 s rescan follows
    file and ledger changes."""

    def __init__(self, config: Config, *, clock: Clock | None = None, log: Log = print,
                 rescan_seconds: float = 1.0,
                 publisher_factory: Callable[..., Publisher] | None = None) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        from uprbuzz.store import Store

        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # we log what matters ourselves
        self.config, self.log = config, log
        self.clock = clock or default_clock()
        self.store = Store.open(config)
        if publisher_factory is None:
            from uprbuzz.publish.publisher import Publisher

            publisher_factory = Publisher
        self._make_publisher = publisher_factory
        self.publisher: Publisher | None = None  # the run in progress
        self.rescan_seconds = rescan_seconds
        self.wake_at: datetime | None = None  # on our clock; None: nothing ahead
        self.runs = 0
        self._seen: tuple[str, str] | None = None  # (files fingerprint, store mark)
        self._publish_lock = threading.Lock()
        self._sched_lock = threading.RLock()
        self._stop = threading.Event()
        self.feeds = FeedWorker(config, self.clock, log, rescan_seconds)
        self.scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 10, "misfire_grace_time": None},
        )

    # -- jobs --------------------------------------------------------------------------------
    def publish_now(self) -> None:
        """One publish run (serialised), then set the next wake time."""
        with self._publish_lock:
            if self._stop.is_set():
                return
            fp0 = duecache.fingerprint(self.config)
            started = self.clock.now()
            pub = self._make_publisher(self.config, self.store, clock=self.clock, log=self.log)
            self.publisher = pub  # a fresh one per run: no platform stays "blocked" forever
            if self._stop.is_set():  # stop() ran before it could see this publisher
                pub.request_stop()
            try:
                report = pub.publish_due()
            except Exception as e:  # keep the daemon alive; the ledger holds what happened
                self.log(f"publish run failed: {type(e).__name__}: {e}")
                report = None
            try:
                snaps = take_snapshots(self.config, self.store, pub, self.clock.now(), self.log)
            finally:
                self.publisher = None
            if snaps is not None and snaps.channels:
                self.log(snaps.summary())
            self.runs += 1
            if report is not None and report.items:
                self.log(report.summary())
            if self._stop.is_set():
                return
            # Files edited during the run may hold newly due posts: no back-off for those.
            self._reschedule(after=started if fp0 == duecache.fingerprint(self.config) else None)

    def rescan(self) -> bool:
        """Reschedule when files or the ledger changed (feeds' posts included). True: changed."""
        seen = self._state()
        if seen == self._seen:
            return False
        if self._seen is not None and seen[0] != self._seen[0]:
            self.log("files changed: rescheduling")
        self._reschedule()
        return True

    def _state(self) -> tuple[str, str]:
        with self.store.db.lock:
            mark = duecache.store_mark(self.store.db.conn)
        return duecache.fingerprint(self.config), mark

    def _reschedule(self, after: datetime | None = None) -> None:
        with self._sched_lock:
            self._seen = self._state()
            now = self.clock.now()
            try:
                wake, _mark = compute_wake(self.config, self.store)
            except Exception as e:  # e.g. a broken uprbuzz.toml while it is being edited
                self.log(f"cannot read the project: {e}; retrying in {RETRY_IDLE.seconds}s")
                wake = now + RETRY_IDLE
            if wake is not None and after is not None and wake <= after:
                wake = now + RETRY_IDLE  # the run just made could not do it: do not spin
            self.wake_at = wake
            if wake is None:
                if self.scheduler.get_job("wake") is not None:
                    self.scheduler.remove_job("wake")
                return
            self.scheduler.add_job(self.publish_now, "date", id="wake", replace_existing=True,
                                   run_date=self._wall(max(wake, now), now))

    def _wall(self, at: datetime, now: datetime) -> datetime:
        """Map a time on our clock to the wall clock APScheduler waits on."""
        rate = float(getattr(self.clock, "rate", 1.0) or 1.0)
        return datetime.now(UTC) + (at - now) / rate

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.feeds.start()  # its own thread: a slow feed never delays the catch-up below
        self.scheduler.start()
        self.publish_now()  # catch up: due now, or missed while we were down

    def stop(self) -> None:
        """Let the publication in flight finish, send nothing more, close the store. A feed
        fetch under way is not waited for (its thread ends with the process)."""
        self._request_stop()
        self.feeds.stop()
        # Wait for the run in flight (and its rescheduling) *before* shutting APScheduler down:
        # shutdown(wait=True) holds the job store lock that rescheduling needs.
        with self._publish_lock, self._sched_lock:
            pass
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        with self._publish_lock:
            self.store.close()

    def _request_stop(self) -> None:
        """A run not yet started returns at once; the run under way sends nothing more after the
        part in flight (``Publisher.request_stop``). Set the flag before reading ``publisher``:
        ``publish_now`` sets ``publisher`` before reading the flag, so one of them sees the other."""
        self._stop.set()
        self.feeds.request_stop()
        pub = self.publisher
        if pub is not None:
            pub.request_stop()

    def serve(self, done: threading.Event) -> None:
        """Start, rescan every ``rescan_seconds`` until ``done`` is set, then stop."""
        self.start()
        try:
            while not done.wait(self.rescan_seconds):
                try:
                    self.rescan()
                except Exception as e:  # never let a bad file or a locked store end the daemon
                    self.log(f"rescan failed: {type(e).__name__}: {e}")
        finally:
            self.stop()

    def run_forever(self) -> None:
        done = threading.Event()
        got: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            # Only flags here: printing from a signal handler can hit a write in progress.
            got.append(signum)
            self._request_stop()  # at once, not after the next rescan
            done.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.log(f"uprbuzz run: watching {self.config.posts_dir}/ and {self.config.schedules_dir}/ "
                 f"(late limit {self.config.late_limit}); Ctrl+C or SIGTERM to stop")
        self.serve(done)
        if got:
            self.log(f"received {signal.Signals(got[0]).name}: finished the publication in flight")
        self.log("stopped cleanly")
