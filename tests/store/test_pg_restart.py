"""A PostgreSQL ledger through a server restart (``pg_ctl restart -m immediate``, as after a
crash): statements issued while the server is down or starting up wait for it (up to
``pg_db.RECONNECT_WAIT``) instead of failing; a transaction the restart cut is one StoreError;
a server that was never reached still fails at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from uprbuzz.errors import StoreError
from uprbuzz.store import Store

NOW = datetime(2020, 11, 9, 13, 30, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def test_reads_and_writes_wait_for_a_restarting_server(pg_server, pg_url):
    with pg_server.durable(pg_url), Store.open(pg_url) as store:
        pubs = store.publications
        assert pubs.claim("p", "x", [(0, "t", None)], "h", "me", NOW, LEASE)
        failures: list[str] = []
        done = threading.Event()
        counts = {"reads": 0, "writes": 0}

        def restart() -> None:
            time.sleep(0.3)
            try:
                pg_server.restart()
            finally:
                done.set()

        t = threading.Thread(target=restart)
        t.start()
        k = 0
        while not done.is_set() or k < 20:
            k += 1
            try:
                assert [r.post_id for r in pubs.rows()] == ["p"]
                counts["reads"] += 1
                store.event("probe", str(k))
                counts["writes"] += 1
            except StoreError as e:
                failures.append(str(e))
            time.sleep(0.01)
        t.join()
        # the statement in flight when the server went may fail (a write is one StoreError);
        # every later one waited for the server to be back
        assert len(failures) <= 1, failures
        assert all("lost its connection" in f for f in failures), failures
        probes = store.db.query("SELECT COUNT(*) AS n FROM events WHERE event='probe'")
        assert probes[0]["n"] == counts["writes"] and counts["writes"] >= k - 1


def test_a_server_never_reached_fails_at_once(pg_server):
    t = time.monotonic()
    with pytest.raises(StoreError, match="cannot be reached"):
        Store.open("postgresql://postgres@127.0.0.1:1/db?connect_timeout=2")
    assert time.monotonic() - t < 5
