"""A misbehaving X: 20 % of stand-in requests fail (503, timeouts that still apply the write,
429 with a reset, connection dropped after the write). Everything still lands exactly once, and
every rate-limit wait ends within a second after the reset."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.e2e.test_publish_crash import queue_project, unlimited
from uprbuzz.clock import SystemClock
from uprbuzz.config import load_config
from uprbuzz.publish.publisher import Publisher
from uprbuzz.store import Store

pytestmark = pytest.mark.e2e


@pytest.mark.slow
def test_twenty_percent_faults_exactly_once(tmp_path, xapi):
    unlimited(xapi)
    root, expected = queue_project(tmp_path, 40, "faulty")
    (root / "uprbuzz.toml").write_text(
        (root / "uprbuzz.toml").read_text() + "\n[platforms.x]\ntimeout = 1.0\n"
        "[platforms.bluesky]\nenabled = false\n")
    config = load_config(root, env=xapi.env)
    xapi.server.set_faults(error_rate=0.05, delay_rate=0.05, delay_seconds=1.5,
                           rate_limit_rate=0.05, rate_limit_reset=2.0, drop_rate=0.05, seed=20)
    lines: list[str] = []
    waits = []
    rounds = 0
    t0 = time.monotonic()
    with Store.open(config) as store:
        while True:
            rounds += 1
            pub = Publisher(config, store, clock=SystemClock(), log=lines.append,
                            backoff_base=0.1, backoff_cap=1.0)
            report = pub.publish_due()
            waits += pub.waits
            assert not report.failed, [i.line() for i in report.failed]
            rows = store.publications.rows()
            pending = [r for r in rows if r.state != "sent"]
            n_parts = sum(len(p) for p in expected.values())
            if len(rows) == n_parts and not pending:
                break
            assert rounds < 40, ([(r.post_id, r.part, r.state, r.kind, r.error, r.attempts) for r in pending[:5]], lines[-30:])
            nb = [r.not_before for r in pending if r.not_before]
            time.sleep(min(max((min(nb) - pub.now()).total_seconds(), 0.05), 3) if nb else 0.2)
    kinds = Counter(f["kind"] for f in xapi.server.store.fault_log)
    assert kinds["error"] and kinds["rate_limit"] and kinds["drop_after_write"] and kinds["delay"]
    total = xapi.server.store.requests
    assert 0.12 < sum(kinds.values()) / total < 0.3  # about a fifth of all requests failed
    tweets = [t for t in xapi.server.store.tweets if not t["deleted"]]
    want = Counter(t for parts in expected.values() for t in parts)
    assert Counter(t["text"] for t in tweets) == want
    by_text = {t["text"]: t for t in tweets}
    for parts in expected.values():
        for prev, cur in zip(parts, parts[1:], strict=False):
            assert by_text[cur]["in_reply_to_tweet_id"] == by_text[prev]["id"]
    # every wait for a rate-limit reset: not early, and never more than 1 s late
    assert waits, "no 429 was waited for"
    late = [(woke - reset).total_seconds() for reset, woke in waits]
    assert all(-0.05 <= d <= 1.0 for d in late), late
    assert any("rate limited until" in line for line in lines)
    print(f"rounds={rounds} requests={total} faults={dict(kinds)} waits={late}")
    assert time.monotonic() - t0 < 240
