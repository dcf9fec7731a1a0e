"""A real `uprbuzz run` process against the X stand-in and the local PDS: files added, edited and
removed while it runs, fire times, misfires, and SIGTERM with a publication in flight."""

from __future__ import annotations

import math
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.publish import make_project, pds_records, popen_uprbuzz, pub_env, run_uprbuzz
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
UTC = UTC


def post(at: datetime, text: str, status: str = "approved", platforms: str = "") -> str:
    plat = f"platforms: {platforms}\n" if platforms else ""
    return f"---\nat: {at.isoformat(timespec='seconds')}\nstatus: {status}\n{plat}---\n{text}\n"


def ledger(root: Path) -> list[dict]:
    db = root / ".uprbuzz" / "state.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM publications")]
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        con.close()


class Daemon:
    def __init__(self, root: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.fh = open(log, "ab")  # noqa: SIM115 - the daemon writes to it until terminate()
        self.proc: subprocess.Popen[bytes] = popen_uprbuzz(
            ["run"], root, env, stdout=self.fh, stderr=subprocess.STDOUT)
        wait_for(lambda: "uprbuzz run: watching" in self.output() or self.proc.poll() is not None,
                 60, "the daemon to start")
        assert self.proc.poll() is None, self.output()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.fh.close()


def test_run_follows_files_and_fires_on_time(tmp_path: Path, xapi, bsky_config) -> None:  # type: ignore[no-untyped-def]
    env = pub_env(xapi, bsky_config)
    now = datetime.now(UTC)
    base = datetime.fromtimestamp(math.ceil(now.timestamp()) + 4, UTC)  # whole seconds
    root = make_project(tmp_path / "proj", {
        "a.md": post(base + timedelta(seconds=4), "A, before the edit"),
        "gone.md": post(base + timedelta(seconds=5), "Removed before its time"),
        "draft.md": post(base + timedelta(seconds=4), "Never approved", status="draft"),
        "late.md": post(now - timedelta(hours=2), "Watch the webcast live now"),
        "recent.md": post(now - timedelta(minutes=5), "Five minutes late, still worth it"),
    })
    d = Daemon(root, env, tmp_path / "run.log")
    try:
        assert datetime.now(UTC) < base, "the daemon took too long to start"
        (root / "posts" / "a.md").write_text(post(base + timedelta(seconds=4), "A, edited"))
        (root / "posts" / "b.md").write_text(post(base + timedelta(seconds=5), "B, added"))
        (root / "posts" / "c.md").write_text(post(base + timedelta(seconds=7), "C, added"))
        (root / "posts" / "gone.md").unlink()
        time.sleep(max(0.0, (base + timedelta(seconds=2) - datetime.now(UTC)).total_seconds()))
        (root / "posts" / "c.md").unlink()  # added, then removed before its time
        (root / "posts" / "x-only.md").write_text(
            post(base + timedelta(seconds=6), "X only, added late", platforms="[x]"))
        want = Counter({"A, edited": 1, "B, added": 1, "X only, added late": 1,
                        "Five minutes late, still worth it": 1})
        wait_for(lambda: Counter(t["text"] for t in xapi.server.store.tweets) == want,
                 20, "the X posts")
        time.sleep(max(0.0, (base + timedelta(seconds=9) - datetime.now(UTC)).total_seconds()))
        tick = run_uprbuzz(["tick"], root, env)  # a cron tick beside the daemon adds nothing
        assert tick.returncode == 0, tick.stdout + tick.stderr
    finally:
        rc = d.terminate()
    out = d.output()
    assert rc == 0 and "stopped cleanly" in out, out
    assert "missed late" in out and "Watch the webcast" not in str(xapi.server.store.tweets)
    tweets = xapi.server.store.tweets
    assert Counter(t["text"] for t in tweets) == want, out
    recs = pds_records(bsky_config.pds_url, str(bsky_config.handle))
    assert Counter(r["value"]["text"] for r in recs) == want - Counter({"X only, added late": 1})
    due = {"a": base + timedelta(seconds=4), "b": base + timedelta(seconds=5),
           "x-only": base + timedelta(seconds=6)}
    lags = {}
    for t in tweets:  # the stand-in's receive time vs the post's time
        pid = {"A, edited": "a", "B, added": "b", "X only, added late": "x-only"}.get(t["text"])
        if pid:
            lags[f"x:{pid}"] = t["ts"] - due[pid].timestamp()
    for r in ledger(root):
        if r["post_id"] in due:
            lags[f"claim:{r['channel']}:{r['post_id']}"] = (
                datetime.fromisoformat(r["claimed_at"]) - due[r["post_id"]]).total_seconds()
    assert len(lags) == 3 + 5, lags
    assert all(0 <= v < 1.0 for v in lags.values()), lags
    print("fire lags (s):", {k: round(v, 3) for k, v in sorted(lags.items())})


def test_sigterm_mid_publication_loses_and_doubles_nothing(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    xapi.server.set_faults(delay_rate=1.0, delay_seconds=1.5, paths=["POST /2/tweets"])
    env = dict(xapi.env)
    at = datetime.now(UTC) - timedelta(minutes=1)
    texts = [f"Post {i} of the review-day thread" for i in range(4)]
    root = make_project(tmp_path / "proj", {f"p{i}.md": post(at, t) for i, t in enumerate(texts)},
                        toml="[platforms.bluesky]\nenabled = false\n")
    d = Daemon(root, env, tmp_path / "run1.log")
    try:
        wait_for(lambda: any(r["state"] == "claimed" for r in ledger(root)), 20,
                 "a publication in flight")
    finally:
        rc = d.terminate()
    out = d.output()
    assert rc == 0 and "stopped cleanly" in out, out
    rows = ledger(root)
    assert not [r for r in rows if r["state"] in ("claimed", "unknown")], rows
    sent = [r for r in rows if r["state"] == "sent"]
    assert 1 <= len(sent) < 4, rows  # the post in flight finished; the rest waited
    assert len(xapi.server.store.tweets) == len(sent)

    xapi.server.set_faults(delay_rate=0.0)
    d2 = Daemon(root, env, tmp_path / "run2.log")
    try:
        wait_for(lambda: len(xapi.server.store.tweets) >= 4, 30, "the rest after a restart")
        # settled, not "waited long enough": every lane recorded sent, none in flight, so
        # nothing is left that could be sent again
        wait_for(lambda: sorted(r["state"] for r in ledger(root)) == ["sent"] * 4, 30,
                 "every lane recorded sent")
    finally:
        assert d2.terminate() == 0
    assert Counter(t["text"] for t in xapi.server.store.tweets) == Counter(texts)
    assert sorted(r["state"] for r in ledger(root)) == ["sent"] * 4
