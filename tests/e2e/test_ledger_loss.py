"""A lost or older ledger never makes uprbuzz post again: publishing stops with a message until
`uprbuzz state rebuild` has recovered the ledger from the platforms, then the rest goes out once.

Real processes against the X stand-in and the real PDS; posts are counted server-side.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.publish import make_project, pds_records, popen_uprbuzz, pub_env, run_uprbuzz

pytestmark = pytest.mark.e2e

A = "Today the Human Rights Council reviews the United States (ledger test)"
B1 = "Thread: what civil society asked for (ledger test), 1/2"
B2 = "Racial justice, housing, the death penalty (ledger test), 2/2"
C = "Watch the recommendations being adopted (ledger test)"


def post(at: datetime, *texts: str) -> str:
    body = "\n---\n".join(texts) if len(texts) > 1 else texts[0]
    return f"---\nat: {at.isoformat(timespec='seconds')}\nstatus: approved\n---\n{body}\n"


def counts(xapi, pds, bsky) -> tuple[Counter[str], Counter[str]]:
    on_x = Counter(t["text"] for t in xapi.server.store.user_tweets(xapi.account.user_id))
    on_bsky = Counter(r["value"]["text"] for r in pds_records(pds.url, bsky.handle))
    return on_x, on_bsky


def damage(state: Path, mode: str, older: Path, hold: sqlite3.Connection) -> None:
    parts = [state, Path(f"{state}-wal"), Path(f"{state}-shm")]
    if mode == "truncated":
        hold.close()
        state.write_bytes(b"")
        return
    if mode == "no-wal":  # the last run's commits are still in the -wal file: copy without it
        copy = state.with_name("copy.sqlite")
        shutil.copyfile(state, copy)
        hold.close()
        for p in parts:
            p.unlink(missing_ok=True)
        copy.rename(state)
        return
    hold.close()
    for p in parts:
        p.unlink(missing_ok=True)
    if mode == "older":
        shutil.copyfile(older, state)


@pytest.mark.parametrize("mode", ["truncated", "deleted", "older", "no-wal"])
def test_a_lost_ledger_stops_publishing_until_rebuilt(tmp_path, xapi, bsky_config, pds, mode):
    now = datetime.now(UTC)
    root = make_project(tmp_path / "p", {"a.md": post(now - timedelta(minutes=5), A)})
    env = pub_env(xapi, bsky_config)
    state = root / ".uprbuzz" / "state.sqlite"

    r = run_uprbuzz(["publish"], root, env)
    assert r.returncode == 0, r.stdout + r.stderr
    older = tmp_path / "older.sqlite"
    shutil.copyfile(state, older)  # a backup from before the last run
    (root / "posts" / "b.md").write_text(post(now - timedelta(minutes=4), B1, B2))
    hold = sqlite3.connect(state)  # keeps the next run's commits in the -wal file
    hold.execute("PRAGMA wal_autocheckpoint=0")
    hold.execute("SELECT 1 FROM events").fetchall()
    r = run_uprbuzz(["publish"], root, env)
    assert r.returncode == 0, r.stdout + r.stderr
    sent = Counter({A: 1, B1: 1, B2: 1})
    assert counts(xapi, pds, bsky_config) == (sent, sent)

    damage(state, mode, older, hold)
    (root / "posts" / "c.md").write_text(post(datetime.now(UTC) - timedelta(seconds=30), C))

    for args in (["publish"], ["tick"]):
        r = run_uprbuzz(args, root, env)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "state rebuild" in r.stderr and "uprbuzz.ledger" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    daemon = popen_uprbuzz(["run"], root, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = daemon.communicate(timeout=60)  # it stops at once: it can publish nothing
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(10)
    assert daemon.returncode == 2, out
    assert b"state rebuild" in out and b"Traceback" not in out, out
    assert counts(xapi, pds, bsky_config) == (sent, sent)  # nothing went out twice, nor C

    r = run_uprbuzz(["state", "rebuild"], root, env)
    assert r.returncode == 0, r.stdout + r.stderr
    # B's two parts on X and Bluesky, and A's unless the older ledger still has it
    known = 2 if mode in ("older", "no-wal") else 0
    assert r.stdout.count("found     ") == 6 - known, r.stdout
    assert f"2 not found, 0 could not be checked, {known} already in the ledger" in r.stdout
    assert r.stdout.count("not found c on") == 2  # never sent: left to the schedule

    r = run_uprbuzz(["publish"], root, env)
    assert r.returncode == 0, r.stdout + r.stderr
    sent[C] = 1
    assert counts(xapi, pds, bsky_config) == (sent, sent)
    r = run_uprbuzz(["status", "--json"], root, env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    started = time.monotonic()
    r = run_uprbuzz(["tick"], root, env)  # and again: nothing more
    assert r.returncode == 0 and time.monotonic() - started < 60
    assert counts(xapi, pds, bsky_config) == (sent, sent)
