"""Scheduler internals, in-process and fast: wake times from posts + ledger, the due index of the
tick fast path, tick itself against the X stand-in, and the daemon's rescheduling and stop."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from uprbuzz.clock import FixedClock
from uprbuzz.config import BlueskyConfig, Config, XConfig
from uprbuzz.platforms.base import Remote
from uprbuzz.schedule import daemon as scheduler
from uprbuzz.schedule import fast_path as duecache
from uprbuzz.schedule.wake import RETRY_FAILED, RETRY_UNCLEAR, next_wake
from uprbuzz.sources.gather import load_all
from uprbuzz.store import Store

UTC = UTC
NY = ZoneInfo("America/New_York")
T0 = datetime(2020, 11, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York


def cfg(root: Path, x: XConfig | None = None, **kw: object) -> Config:
    return Config(root=root, timezone="America/New_York", x=x or XConfig(),
                  bluesky=BlueskyConfig(enabled=False), **kw)  # type: ignore[arg-type]


def write_post(root: Path, rel: str, at: datetime | None, text: str, status: str = "approved",
               platforms: str = "[x]") -> Path:
    p = root / "posts" / f"{rel}.md"
    p.parent.mkdir(parents=True, exist_ok=True)
    when = f"at: {at.isoformat()}\n" if at else ""
    p.write_text(f"---\n{when}status: {status}\nplatforms: {platforms}\n---\n{text}\n",
                 encoding="utf-8")
    return p


def wake(config: Config, store: Store) -> datetime | None:
    return next_wake(load_all(config, store).posts, store.publications.by_post(), config)


def bump_mtime(p: Path) -> None:
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


# --- next_wake ---------------------------------------------------------------------------------

def test_wake_is_the_earliest_approved_future_post(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    write_post(tmp_path, "a", T0 + timedelta(hours=2), "second")
    write_post(tmp_path, "b", T0 + timedelta(hours=1), "a draft", status="draft")
    write_post(tmp_path, "c", T0 + timedelta(hours=3), "third")
    write_post(tmp_path, "d", None, "unscheduled")
    write_post(tmp_path, "e", T0 + timedelta(minutes=30), "bluesky only", platforms="[bluesky]")
    with Store.open(c) as store:
        assert wake(c, store) == T0 + timedelta(hours=2)


def test_wake_follows_the_ledger(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    at = T0 + timedelta(hours=1)
    write_post(tmp_path, "p", at, "hello")
    with Store.open(c) as store:
        pubs = store.publications
        assert wake(c, store) == at
        chash = load_all(c, store).posts[0].content_hash()
        later = at + timedelta(minutes=7)
        pubs.mark("p", "x", 0, "deferred", at, error="rate", kind="rate", not_before=later,
                  content_hash=chash)
        assert wake(c, store) == later
        pubs.mark("p", "x", 0, "deferred", at, error="cap", kind="budget")
        # budget caps are per local day: the next New York midnight (EST after the DST change)
        assert wake(c, store) == datetime(2020, 11, 3, 0, 0, tzinfo=NY)
        pubs.mark("p", "x", 0, "unknown", at, error="timeout")
        assert wake(c, store) == at + RETRY_UNCLEAR
        pubs.mark("p", "x", 0, "failed", at, error="no", kind="rejected")
        assert wake(c, store) is None  # rejected as it stands
        write_post(tmp_path, "p", at, "hello, edited")
        assert wake(c, store) == at  # an edit retries it at once, as the publish loop does
        pubs.mark("p", "x", 0, "failed", at, error="401", kind="auth")
        assert wake(c, store) == at + RETRY_FAILED  # other failures: 5 minutes, edited or not
        pubs.mark_sent("p", "x", 0, Remote("x", "1", "https://x.com/i/1"), at)
        assert wake(c, store) is None


def test_overdue_posts_wake_once_to_be_reported_missed(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    at = T0 - timedelta(hours=2)
    write_post(tmp_path, "old", at, "watch live now")
    with Store.open(c) as store:
        assert wake(c, store) == at  # in the past: the next run reports it missed
        store.publications.mark("old", "x", 0, "missed", T0, error="late")
        assert wake(c, store) is None
        write_post(tmp_path, "old", T0 + timedelta(hours=1), "watch live now")  # moved later
        assert wake(c, store) == T0 + timedelta(hours=1)
        store.publications.mark_retracted("old", "x", 0, T0)
        assert wake(c, store) is None


# --- the due index -----------------------------------------------------------------------------

def test_fingerprint_sees_added_edited_and_removed_files(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    p = write_post(tmp_path, "a/b", T0, "one")
    (tmp_path / "uprbuzz.toml").write_text("[project]\n", encoding="utf-8")
    seen = {duecache.fingerprint(c)}
    assert duecache.fingerprint(c) in seen  # stable when nothing changed
    bump_mtime(p)
    seen.add(duecache.fingerprint(c))
    q = write_post(tmp_path, "a/c", T0, "two")
    seen.add(duecache.fingerprint(c))
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "c.toml").write_text("", encoding="utf-8")
    seen.add(duecache.fingerprint(c))
    q.unlink()
    seen.add(duecache.fingerprint(c))
    bump_mtime(tmp_path / "uprbuzz.toml")
    seen.add(duecache.fingerprint(c))
    assert len(seen) == 6


def test_index_proves_nothing_due_until_something_changes(tmp_path: Path, xapi,  # type: ignore[no-untyped-def]
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    c = cfg(tmp_path, xapi.config)
    (tmp_path / "uprbuzz.toml").write_text("[project]\n", encoding="utf-8")
    p = write_post(tmp_path, "p", T0 + timedelta(hours=1), "later today")
    assert not duecache.nothing_due(c, T0)  # no index yet
    r = scheduler.tick(c, clock=FixedClock(T0), log=lambda _l: None)
    assert r.ran and r.report is not None and r.report.summary().startswith("0 published")
    assert duecache.nothing_due(c, T0)
    assert duecache.nothing_due(c, T0 + timedelta(minutes=59))
    assert not duecache.nothing_due(c, T0 + timedelta(hours=1))  # the post is due
    bump_mtime(p)
    assert not duecache.nothing_due(c, T0)  # an edited file
    scheduler.tick(c, clock=FixedClock(T0), log=lambda _l: None)
    assert duecache.nothing_due(c, T0)
    with Store.open(c) as other:  # another process records something in the ledger
        other.publications.mark("elsewhere", "x", 0, "deferred", T0, error="later", kind="rate",
                                not_before=T0 + timedelta(days=1))
    assert not duecache.nothing_due(c, T0)
    scheduler.tick(c, clock=FixedClock(T0), log=lambda _l: None)
    assert duecache.nothing_due(c, T0)
    with Store.open(c) as other:  # a feed queued a post straight into the store
        other.posts.put_stored(replace(load_all(c).posts[0], id="feed/x", origin="feed"))
    assert not duecache.nothing_due(c, T0)
    scheduler.tick(c, clock=FixedClock(T0), log=lambda _l: None)
    assert duecache.nothing_due(c, T0)
    monkeypatch.setenv("UPRBUZZ_TIMEZONE", "Asia/Tokyo")  # due times depend on it
    assert not duecache.nothing_due(c, T0)


def test_fast_path_finds_the_project_and_its_state_like_load_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from uprbuzz.config import load_config

    root = tmp_path / "proj"
    (root / "notes").mkdir(parents=True)
    (root / "uprbuzz.toml").write_text(
        '[project]\nname = "n"\nposts = "queue"\nstate = "var/state.db"\n', encoding="utf-8")
    (root / "queue").mkdir()
    (root / "queue" / "p.md").write_text(
        f"---\nat: {(T0 + timedelta(days=1)).isoformat()}\nstatus: approved\n---\nhi\n")
    monkeypatch.chdir(root / "notes")  # found by searching upwards, like load_config
    monkeypatch.setenv("UPRBUZZ_NOW", T0.isoformat())
    for k in ("UPRBUZZ_ROOT", "UPRBUZZ_STATE", "UPRBUZZ_TIMEZONE"):
        monkeypatch.delenv(k, raising=False)
    c = load_config()
    assert c.state_path == root / "var" / "state.db"
    assert not duecache.fast_nothing_due()
    scheduler.tick(c, log=lambda _l: None)
    assert (root / "var" / "state.db").exists()
    assert duecache.fast_nothing_due()
    assert duecache.fast_nothing_due(str(root))
    monkeypatch.chdir(tmp_path)
    assert not duecache.fast_nothing_due()  # no project here
    monkeypatch.setenv("UPRBUZZ_ROOT", str(root))
    assert duecache.fast_nothing_due()
    monkeypatch.setenv("UPRBUZZ_NOW", (T0 + timedelta(days=2)).isoformat())
    assert not duecache.fast_nothing_due()  # the post is due by then
    monkeypatch.setenv("UPRBUZZ_NOW", T0.isoformat())
    monkeypatch.setenv("UPRBUZZ_STATE", "elsewhere.db")
    assert not duecache.fast_nothing_due()  # a different (empty) state store


# --- tick --------------------------------------------------------------------------------------

def test_tick_publishes_due_reports_missed_and_never_doubles(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    c = cfg(tmp_path, xapi.config)
    write_post(tmp_path, "due", T0 - timedelta(minutes=1), "due a minute ago")
    write_post(tmp_path, "soon", T0 + timedelta(hours=1), "in an hour")
    write_post(tmp_path, "late", T0 - timedelta(hours=2), "watch live now")
    write_post(tmp_path, "draft", T0 - timedelta(minutes=1), "not approved", status="draft")
    lines: list[str] = []
    r = scheduler.tick(c, clock=FixedClock(T0), log=lines.append)
    assert r.ran and r.ok and r.report is not None
    assert [(i.post_id, i.state) for i in r.report.published] == [("due", "sent")]
    assert [(i.post_id, i.state) for i in r.report.missed] == [("late", "missed")]
    assert r.report.summary() == "1 published, 0 deferred, 0 failed, 1 missed"
    assert [t["text"] for t in xapi.server.store.tweets] == ["due a minute ago"]
    again = scheduler.tick(c, clock=FixedClock(T0 + timedelta(seconds=20)), log=lines.append)
    assert (again.ran, again.message) == (False, "nothing due")  # same minute: index says so
    hour = scheduler.tick(c, clock=FixedClock(T0 + timedelta(hours=1, seconds=5)),
                          log=lines.append)
    assert hour.ran and [i.post_id for i in hour.report.published] == ["soon"]  # type: ignore[union-attr]
    scheduler.tick(c, clock=FixedClock(T0 + timedelta(hours=3)), log=lines.append)
    assert [t["text"] for t in xapi.server.store.tweets] == ["due a minute ago", "in an hour"]


def test_tick_failure_is_reported_and_retried(tmp_path: Path) -> None:
    c = cfg(tmp_path)  # X without credentials
    write_post(tmp_path, "due", T0 - timedelta(minutes=1), "cannot go out")
    r = scheduler.tick(c, clock=FixedClock(T0), log=lambda _l: None)
    assert r.ran and not r.ok and r.report is not None
    assert [(i.post_id, i.state) for i in r.report.failed] == [("due", "failed")]
    assert not duecache.nothing_due(c, T0 + timedelta(minutes=5))  # the next tick tries again
    r2 = scheduler.tick(c, clock=FixedClock(T0 + timedelta(minutes=5)), log=lambda _l: None)
    assert r2.ran and not r2.ok


def test_overlapping_ticks_one_runs_the_other_exits(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    xapi.server.set_faults(delay_rate=1.0, delay_seconds=0.6, paths=["POST /2/tweets"])
    c = cfg(tmp_path, xapi.config)
    for i in range(3):
        write_post(tmp_path, f"p{i}", T0 - timedelta(minutes=1), f"post {i}")
    with scheduler.exclusive(c, "tick") as got:
        assert got
        r = scheduler.tick(c, clock=FixedClock(T0), log=lambda _l: None)
        assert not r.ran and "another uprbuzz tick is running" in r.message
    results: list[scheduler.TickResult] = []
    ts = [threading.Thread(target=lambda: results.append(
        scheduler.tick(c, clock=FixedClock(T0), log=lambda _l: None))) for _ in range(2)]
    for t in ts:
        t.start()
        time.sleep(0.2)
    for t in ts:
        t.join(30)
    assert sorted(r.ran for r in results) == [False, True]
    assert sorted(t["text"] for t in xapi.server.store.tweets) == ["post 0", "post 1", "post 2"]


# --- the daemon (in-process; APScheduler runs, the clock is ours) -------------------------------

def test_daemon_follows_file_changes(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    c = cfg(tmp_path, xapi.config)
    clock = FixedClock(T0)
    write_post(tmp_path, "a", T0 + timedelta(hours=2), "in two hours")
    d = scheduler.Daemon(c, clock=clock, log=lambda _l: None)
    d.start()
    try:
        assert d.runs == 1 and d.wake_at == T0 + timedelta(hours=2)
        job = d.scheduler.get_job("wake")
        left = (job.next_run_time - datetime.now(UTC)).total_seconds()
        assert 7190 < left <= 7200  # APScheduler waits on the wall clock until then
        assert d.rescan() is False
        b = write_post(tmp_path, "b", T0 + timedelta(hours=1), "in an hour")
        assert d.rescan() is True and d.wake_at == T0 + timedelta(hours=1)
        write_post(tmp_path, "b", T0 + timedelta(hours=1), "in an hour, edited and longer")
        assert d.rescan() is True
        b.unlink()
        assert d.rescan() is True and d.wake_at == T0 + timedelta(hours=2)
        write_post(tmp_path, "a", T0 + timedelta(hours=2), "in two hours", status="draft")
        assert d.rescan() is True and d.wake_at is None and d.scheduler.get_job("wake") is None
        write_post(tmp_path, "a", T0 + timedelta(hours=2), "in two hours, approved")
        d.rescan()
        clock.advance(timedelta(hours=2))
        d.publish_now()  # what the wake job does at that time
        assert [t["text"] for t in xapi.server.store.tweets] == ["in two hours, approved"]
        assert d.wake_at is None
    finally:
        d.stop()


def test_daemon_fires_on_time_with_a_running_clock(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    from uprbuzz.clock import OffsetClock

    c = cfg(tmp_path, xapi.config)
    clock = OffsetClock(T0)
    write_post(tmp_path, "a", T0 + timedelta(seconds=1.5), "in a second and a half")
    d = scheduler.Daemon(c, clock=clock, log=lambda _l: None, rescan_seconds=0.2)
    done = threading.Event()
    t = threading.Thread(target=d.serve, args=(done,))
    t.start()
    try:
        time.sleep(0.5)
        write_post(tmp_path, "b", T0 + timedelta(seconds=2.5), "added while running")
        deadline = time.monotonic() + 10
        while len(xapi.server.store.tweets) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        done.set()
        t.join(30)
    with Store.open(c) as store:
        rows = {r.post_id: r for r in store.publications.rows()}
    assert set(rows) == {"a", "b"} and all(r.state == "sent" for r in rows.values())
    for pid, at in (("a", 1.5), ("b", 2.5)):
        lag = (rows[pid].claimed_at - (T0 + timedelta(seconds=at))).total_seconds()  # type: ignore[operator]
        assert 0 <= lag < 1.0, (pid, lag)


def test_daemon_does_not_spin_on_work_it_cannot_do(tmp_path: Path) -> None:
    c = cfg(tmp_path)  # no X credentials: the post stays due
    write_post(tmp_path, "due", T0 - timedelta(minutes=1), "cannot go out")
    clock = FixedClock(T0)
    d = scheduler.Daemon(c, clock=clock, log=lambda _l: None)
    d.start()
    try:
        assert d.runs == 1
        assert d.wake_at == T0 + scheduler.RETRY_IDLE
        # No timer decides "nothing more happened": the only run left scheduled is the retry,
        # a full RETRY_IDLE away on the wall clock, so the daemon cannot spin before it.
        job = d.scheduler.get_job("wake")
        ahead = (job.next_run_time - datetime.now(UTC)).total_seconds()
        assert ahead > scheduler.RETRY_IDLE.total_seconds() - 30, ahead
        assert d.runs == 1
    finally:
        d.stop()


def test_stop_lets_the_post_in_flight_finish_and_sends_nothing_more(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    xapi.server.set_faults(delay_rate=1.0, delay_seconds=0.8, paths=["POST /2/tweets"])
    c = cfg(tmp_path, xapi.config)
    for i in range(3):
        write_post(tmp_path, f"p{i}", T0 - timedelta(minutes=1), f"post {i}")
    d = scheduler.Daemon(c, clock=FixedClock(T0), log=lambda _l: None)
    d.scheduler.start()
    t = threading.Thread(target=d.publish_now)
    t.start()
    with Store.open(c) as probe:
        deadline = time.monotonic() + 10
        while not probe.publications.rows() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [r.state for r in probe.publications.rows()] == ["claimed"]
    d.stop()  # returns once the run in flight is over
    t.join(10)
    with Store.open(c) as store:
        rows = store.publications.rows()
        assert [(r.post_id, r.state) for r in rows] == [("p0", "sent")]
    assert [t["text"] for t in xapi.server.store.tweets] == ["post 0"]
    d2 = scheduler.Daemon(c, clock=FixedClock(T0 + timedelta(seconds=30)), log=lambda _l: None)
    xapi.server.set_faults(delay_rate=0.0)
    d2.start()
    d2.stop()
    assert sorted(t["text"] for t in xapi.server.store.tweets) == ["post 0", "post 1", "post 2"]


def _rss(*items: tuple[str, datetime]) -> bytes:
    from email.utils import format_datetime

    body = "".join(f"<item><title>{t}</title><link>https://blog.example.org/post/{i}</link>"
                   f"<guid isPermaLink=\"false\">g{i}</guid><pubDate>{format_datetime(w)}"
                   f"</pubDate></item>" for i, (t, w) in enumerate(items))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Blog'
            f"</title><link>https://blog.example.org</link>{body}</channel></rss>").encode()


def test_tick_polls_feeds_on_their_interval_and_posts_new_items_once(  # type: ignore[no-untyped-def]
        tmp_path: Path, xapi, feed_server) -> None:
    old = ("An old post from before the subscription", T0 - timedelta(days=3))
    feed_server.body = _rss(old)
    feed = {"name": "blog", "url": feed_server.url, "mode": "approve", "platforms": ["x"],
            "interval": "15m", "template": "New on the blog: {title} {link}"}
    c = replace(cfg(tmp_path, xapi.config), feeds=(feed,))
    quiet = lambda _l: None  # noqa: E731
    first = scheduler.tick(c, clock=FixedClock(T0), log=quiet)
    assert first.ran and first.feed_lines and len(feed_server.requests) == 1
    assert xapi.server.store.tweets == []  # no flood on subscribing
    new = ("Civil society briefing on the US review", T0 + timedelta(minutes=2))
    feed_server.body = _rss(old, new)
    idle = scheduler.tick(c, clock=FixedClock(T0 + timedelta(minutes=5)), log=quiet)
    assert not idle.ran and len(feed_server.requests) == 1  # not yet time to poll again
    due = scheduler.tick(c, clock=FixedClock(T0 + timedelta(minutes=16)), log=quiet)
    assert due.ran and len(feed_server.requests) == 2
    assert [i.post_id for i in due.report.published] == ["feed/civil-society-briefing-on-the-us-review"]  # type: ignore[union-attr]
    scheduler.tick(c, clock=FixedClock(T0 + timedelta(minutes=32)), log=quiet)  # 304
    assert len(feed_server.requests) == 3 and feed_server.not_modified == 1
    texts = [t["text"] for t in xapi.server.store.tweets]
    assert len(texts) == 1 and texts[0].startswith("New on the blog: Civil society briefing")
