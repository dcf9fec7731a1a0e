"""Feeds never hold up ``uprbuzz run``: the daemon polls them on a worker thread of its own,
with a store connection of its own; a fetch holds neither the publish lock nor the scheduling
thread, SIGTERM does not wait for it, and a fetch that completes after stop writes nothing.

In-process tests (a feed server that answers only when told to), then the acceptance test: a
real ``uprbuzz run`` process, the X stand-in and a feed on 127.0.0.1 dripping a byte a second
(``timeout = 5``)."""

from __future__ import annotations

import math
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.publish import make_project, popen_uprbuzz
from tests.test_feed_deadline import RawServer, answer
from tests.waiting import wait_for
from uprbuzz.config import BlueskyConfig, Config, XConfig
from uprbuzz.schedule import daemon as scheduler
from uprbuzz.store import Store


def rss(title: str, when: datetime) -> bytes:
    from email.utils import format_datetime

    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Blog'
            "</title><link>https://blog.example.org</link><item><title>" + title + "</title>"
            "<link>https://blog.example.org/post/briefing</link><guid>g1</guid><pubDate>"
            + format_datetime(when) + "</pubDate></item></channel></rss>").encode()


def feed_config(root: Path, x: XConfig, url: str, **feed: object) -> Config:
    f = {"name": "blog", "url": url, "mode": "approve", "platforms": ["x"], "backfill": 1,
         "template": "New on the blog: {title} {link}", **feed}
    return Config(root=root, timezone="UTC", x=x, bluesky=BlueskyConfig(enabled=False),
                  feeds=(f,))


def stored(config: Config) -> tuple[list[str], list[tuple[object, ...]]]:
    """(stored post ids, (feed, last_polled) rows): what polls wrote."""
    with Store.open(config) as store:
        posts = [r[0] for r in store.db.query("SELECT post_id FROM stored_posts")]
        state = [tuple(r) for r in store.db.query("SELECT feed, last_polled FROM feed_state")]
    return posts, state


@pytest.fixture
def held() -> Iterator[tuple[RawServer, threading.Event]]:
    """A feed server that takes the request and answers only once the event is set."""
    release = threading.Event()

    def hold(conn: socket.socket, target: str, stop: threading.Event) -> None:
        while not release.wait(0.05):
            if stop.is_set():
                return
        answer(conn, rss("Civil society briefing", datetime.now(UTC)))

    srv = RawServer(hold)
    try:
        yield srv, release
    finally:
        release.set()
        srv.close()


@pytest.mark.timeout(60)
def test_a_fetch_in_progress_holds_up_neither_publishing_nor_stop(tmp_path: Path, xapi, held) -> None:  # type: ignore[no-untyped-def]
    srv, release = held
    c = feed_config(tmp_path, xapi.config, srv.url(), timeout=30)
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "due.md").write_text(
        f"---\nat: {at}\nstatus: approved\nplatforms: [x]\n---\nDue all along\n")
    lines: list[str] = []
    d = scheduler.Daemon(c, log=lines.append)
    stopped = False
    try:
        d.start()  # starts the feed worker, then publishes what is due
        wait_for(lambda: srv.requests, 10, "the feed worker's fetch")
        assert [t["text"] for t in xapi.server.store.tweets] == ["Due all along"]
        assert d.feeds.alive
        d.rescan()  # the scheduling loop never fetches: this returns with the fetch still held
        with d._publish_lock:  # nor does the fetch hold the publish lock
            pass
        t0 = time.monotonic()
        d.stop()
        stopped = True
        took = time.monotonic() - t0
        assert took < 2.0, took  # does not wait for the fetch (held for up to 30 s)
        assert not release.is_set() and d.feeds.alive  # the fetch was abandoned mid-way
        release.set()  # the fetch now completes: after stop, nothing of it may be written
        wait_for(lambda: not d.feeds.alive, 10, "the feed worker to end")
    finally:
        if not stopped:
            d.stop()
    assert stored(c) == ([], [("blog", None)]), lines  # subscribed before the fetch, no more
    assert not any("blog" in line and "new" in line for line in lines), lines


@pytest.mark.timeout(60)
def test_what_a_feed_brings_is_published_by_the_normal_loop(tmp_path: Path, xapi, held) -> None:  # type: ignore[no-untyped-def]
    srv, release = held
    release.set()
    c = feed_config(tmp_path, xapi.config, srv.url(), timeout=5)
    lines: list[str] = []
    d = scheduler.Daemon(c, log=lines.append, rescan_seconds=0.2)
    done = threading.Event()
    t = threading.Thread(target=d.serve, args=(done,))
    t.start()
    try:
        tweets = wait_for(lambda: xapi.server.store.tweets, 20, "the feed's post")
    finally:
        done.set()
        t.join(30)
    assert [tw["text"] for tw in tweets] == [
        "New on the blog: Civil society briefing https://blog.example.org/post/briefing"], lines
    posts, state = stored(c)
    assert posts == ["feed/briefing"] and state[0][1] is not None, (posts, state)


# --- the acceptance test: real processes, real local servers --------------------------------

class Drips:
    """A handler dripping a feed a byte a second; keeps each connection's (start, end) on the
    wall clock, so the test can tell that a fetch was dripping when the post was sent."""

    TIMEOUT = 5.0  # the feed's: no fetch lasts longer (the server notices a close later)

    def __init__(self) -> None:
        self.spans: list[list[float | None]] = []
        self._lock = threading.Lock()

    def __call__(self, conn: socket.socket, target: str, stop: threading.Event) -> None:
        span: list[float | None] = [time.time(), None]
        with self._lock:
            self.spans.append(span)
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                         b"Content-Length: 100000\r\n\r\n")
            while not stop.wait(1.0):
                conn.sendall(b" ")  # raises once the client has given up and closed
        finally:
            span[1] = time.time()

    def started_within(self, seconds: float) -> bool:
        """A fetch began less than ``seconds`` ago (so it has most of its 5 s still to drip)."""
        with self._lock:
            return any(s[0] is not None and time.time() - s[0] < seconds for s in self.spans)

    def dripping_at(self, t: float) -> bool:
        with self._lock:
            return any(s[0] is not None and s[0] <= t <= min(s[0] + self.TIMEOUT,
                                                            s[1] or math.inf)
                       for s in self.spans)


def sqlite_rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(root / ".uprbuzz" / "state.sqlite", timeout=10)
    try:
        return [tuple(r) for r in con.execute(sql)]
    finally:
        con.close()


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_run_fires_on_time_and_stops_on_sigterm_whatever_a_feed_does(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    """`uprbuzz run` with a feed dripping a byte a second (timeout = 5, polled again as soon as
    a fetch gives up, so always dripping): a post added meanwhile goes out within 1 s of its
    time, and SIGTERM mid-drip ends the daemon within 2 s.

    The project also holds a post already due, sent by the daemon's catch-up run at start, as
    in tests/e2e/test_daemon.py: the 1 s bound is about the feed, and the first send of a
    process also pays for importing the checks and the platform SDK (about 1 s here)."""
    drips = Drips()
    srv = RawServer(drips)
    now = datetime.now(UTC)
    root = make_project(tmp_path / "p", {
        "earlier.md": f"---\nat: {(now - timedelta(minutes=1)).isoformat(timespec='seconds')}\n"
                      "status: approved\n---\nSent when the daemon starts\n"},
        toml=("[platforms.bluesky]\nenabled = false\n\n[[feeds]]\n"
              f'name = "blog"\nurl = "{srv.url()}"\nmode = "approve"\ntimeout = 5\n'
              'interval = "1s"\n'))
    log = tmp_path / "run.log"
    fh = open(log, "ab")  # noqa: SIM115 - the daemon writes to it until it exits
    proc: subprocess.Popen[bytes] = popen_uprbuzz(["run"], root, xapi.env, stdout=fh,
                                                  stderr=subprocess.STDOUT)

    def output() -> str:
        return log.read_text(encoding="utf-8", errors="replace")

    def texts() -> list[str]:
        return [t["text"] for t in xapi.server.store.tweets]

    try:
        wait_for(lambda: "uprbuzz run: watching" in output() or proc.poll() is not None,
                 60, "the daemon to start")
        assert proc.poll() is None, output()
        wait_for(lambda: texts() == ["Sent when the daemon starts"], 30, "the catch-up run")
        wait_for(lambda: drips.started_within(0.5), 30, "a fetch that has just begun")
        # Added while that fetch drips, due 2 to 3 s ahead (on a whole second): before the
        # fetch gives up, so a daemon that waited for it would send the post over 1.5 s late.
        at = datetime.fromtimestamp(math.ceil(time.time()) + 2, UTC)
        (root / "posts" / "due.md").write_text(
            f"---\nat: {at.isoformat(timespec='seconds')}\nstatus: approved\n---\n"
            "Sent on time, whatever the blog does\n", encoding="utf-8")
        wait_for(lambda: len(texts()) == 2, 30, "the post added meanwhile")
        tweet = xapi.server.store.tweets[1]
        # SIGTERM early in a fetch: over 3 s of its 5 s deadline are left to drip
        wait_for(lambda: drips.started_within(1.5), 30, "a fetch that has just begun")
        t0, sig_at = time.monotonic(), time.time()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        stopped_in = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        fh.close()
        srv.close()
    out = output()
    assert tweet["text"] == "Sent on time, whatever the blog does", out
    sent_lag = tweet["ts"] - at.timestamp()  # the stand-in's receive time vs the post's time
    (claimed,) = sqlite_rows(root, "SELECT claimed_at FROM publications WHERE post_id='due'")
    claim_lag = (datetime.fromisoformat(str(claimed[0])) - at).total_seconds()
    print(f"claim lag {claim_lag:.3f} s, sent lag {sent_lag:.3f} s; "
          f"stopped {stopped_in:.3f} s after SIGTERM")
    assert drips.dripping_at(tweet["ts"]), (drips.spans, tweet["ts"])  # sent mid-drip
    assert drips.dripping_at(sig_at), (drips.spans, sig_at)  # and stopped mid-drip
    assert 0 <= claim_lag <= sent_lag < 1.0, (claim_lag, sent_lag, out)
    assert stopped_in < 2.0, (stopped_in, out)
    assert rc == 0 and "stopped cleanly" in out, out
    assert texts() == ["Sent when the daemon starts", "Sent on time, whatever the blog does"]
    # Only a complete fetch moves the feed's state: none ever completed
    assert sqlite_rows(root, "SELECT feed, last_polled, etag FROM feed_state") == [
        ("blog", None, None)]
