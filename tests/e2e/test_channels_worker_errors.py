"""A channel's worker that cannot go on must stop the run loudly, not silently (fixed: the
first error stops the run and the command reports it).

Found by the six-channel crash test (test_channels_crash.py): while the ledger-mark writes of
the lane threads raced (since fixed), an exception escaped ``publish_post`` in a channel's
worker thread (publish/run_due.py); the thread died with a traceback, the channel's remaining
posts were neither sent nor reported, and `uprbuzz publish` exited 0 ("613 published, 0
deferred, 0 failed") with 873 of 1,800 parts unsent. The same happens with the trigger the
publisher means to stop the run for: the state store locked by another process longer than
UPRBUZZ_LOCK_TIMEOUT while a lane records a part (``Publisher._lane`` re-raises StoreError, "no
lane can go on without the ledger: the run stops, with the file named"): the worker dies, the
run prints "0 published, 0 deferred, 0 failed, 0 missed" and exits 0."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_publish_crash import unlimited
from tests.fixtures.publish import make_project, popen_uprbuzz

pytestmark = pytest.mark.e2e

def test_ledger_locked_mid_run_stops_the_run_with_an_error(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    unlimited(xapi)
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    posts = {f"q/{i}.md": f"---\nat: {at}\nstatus: approved\n---\nworker post {i}\n"
             for i in range(5)}
    root = make_project(tmp_path / "proj", posts, toml="[platforms.bluesky]\nenabled = false\n")
    # each tweet waits half a second before it is written: time to take the lock meanwhile
    xapi.server.set_faults(delay_rate=1.0, delay_seconds=0.5, paths=["POST /2/tweets"])
    p = popen_uprbuzz(["publish"], root, xapi.env, stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, extra_env={"UPRBUZZ_LOCK_TIMEOUT": "1"})
    try:
        deadline = time.monotonic() + 60
        while not xapi.server.store.tweets and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert p.poll() is None, "the run ended before its first tweet"
        # another process holds the ledger's write lock a little longer than the publisher waits
        # (a backup, an sqlite3 shell), then lets go
        db = sqlite3.connect(root / ".uprbuzz" / "state.sqlite", isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        time.sleep(1.6)
        db.execute("ROLLBACK")
        db.close()
        out, _ = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = out.decode(errors="replace")
    sent = len(xapi.server.store.tweets)
    assert sent < len(posts), f"every post went out despite the lock: {text[-2000:]}"
    # the run could not record what it sent: it must say so and fail (the CLI's one line for a
    # StoreError, exit 2), not exit 0 ("0 published, 0 deferred, 0 failed, 0 missed" today)
    # with the channel's other posts silently left behind
    assert p.returncode != 0, f"exit 0 with {sent} of {len(posts)} posts sent:\n{text[-3000:]}"
    assert "the state store is locked" in text, text[-3000:]
