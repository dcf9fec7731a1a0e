"""Misbehaving servers on all three platforms: a fifth of all requests to the X stand-in, the
Mastodon stand-in and the real PDS (through a fault proxy) fail: 503s, answers later than the
client's timeout (before or after the write is applied), 429s with a reset, connections dropped
after the write. `uprbuzz publish` is run again and again (each run waiting for what the ledger
deferred) until the ledger says every part of the queue is sent on all six channels; then every
account's posts are counted on its server: each part exactly once, threads chained."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.channels_helpers import (
    exactly_once_problems,
    ledger_rows,
    queue_project,
    six_channels,
)
from tests.fixtures.publish import run_uprbuzz

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POSTS = 60
TIMEOUT = 2.0  # each channel's request timeout
FAULTS = {"error_rate": 0.05, "delay_rate": 0.04, "delay_after_write_rate": 0.03,
          "delay_seconds": TIMEOUT + 0.5, "rate_limit_rate": 0.03, "rate_limit_reset": 1.0,
          "drop_rate": 0.05}  # 20 % of requests, on every route
KINDS = {"error", "delay", "delay_after_write", "rate_limit", "drop_after_write"}


def test_twenty_percent_faults_on_six_channels_exactly_once(tmp_path: Path,
                                                             needs_pds: None) -> None:
    t0 = time.monotonic()
    queue = queue_project(tmp_path / "network", POSTS, "faulty", timeout=TIMEOUT)
    total = 6 * queue.n_parts
    with six_channels(queue.root) as sc:
        sc.set_faults(x={**FAULTS, "seed": 20}, mastodon={**FAULTS, "seed": 21},
                      bluesky={**FAULTS, "seed": 22})
        # a Bluesky channel sends its ready posts in few applyWrites: make sure each kind of
        # fault hits one of them, one after the other (a failed write is always followed by
        # another, so the five are used up); X and Mastodon get every kind in ~300 requests
        sc.proxy.scripts["POST /xrpc/com.atproto.repo.applyWrites"] = [
            "drop_after_write", "delay_after_write", "error", "rate_limit", "delay"]
        c0 = sc.counts()
        rounds, outs = 0, []
        while True:
            rounds += 1
            r = run_uprbuzz(["publish"], queue.root, sc.env, timeout=300)
            outs.append(r.stdout + r.stderr)
            rows = ledger_rows(queue.root, sc.env)
            failed = [(x.post_id, x.channel, x.part, x.error) for x in rows if x.state == "failed"]
            assert not failed, (failed[:5], outs[-1][-3000:])
            if len(rows) == total and all(x.state == "sent" for x in rows):
                break
            pending = [x for x in rows if x.state != "sent"]
            assert rounds < 30, ([(x.post_id, x.channel, x.part, x.state, x.error)
                                  for x in pending[:5]], outs[-1][-3000:])
            # the next run sends what is due: wait for the earliest deferral (a few seconds)
            nb = [x.not_before for x in pending if x.not_before]
            wait = (min(nb) - datetime.now(UTC)).total_seconds() if nb else 0.2
            time.sleep(min(max(wait, 0.1), 5.0))
        t_runs = time.monotonic() - t0

        held = sc.holdings()
        problems = exactly_once_problems(held, queue)
        assert not problems, "\n".join(problems[:30])
        assert {c: len(p) for c, p in held.items()} == {c: queue.n_parts for c in held}

        # faults really hit about a fifth of each platform's requests, of every kind
        c1 = sc.counts()
        shares = {}
        for p in ("x", "mastodon"):
            n = c1[p]["requests"] - c0[p]["requests"]
            shares[p] = (sum(c1[p]["faults"].values()), n, c1[p]["faults"])
        # Bluesky: the share the fault model drew (the scripted applyWrites faults are not
        # draws: with few requests they would weigh too much); every kind, scripted or drawn
        drawn = sc.proxy.counts(drawn=True)
        shares["bluesky"] = (sum(drawn.values()), sc.proxy.requests - sc.proxy.scripted,
                             sc.proxy.counts())
        print(f"\n{POSTS} posts x 6 channels = {total} parts; {rounds} runs in {t_runs:.1f}s; "
              f"faults/requests per platform: {shares}")
        for p, (faults, n, kinds) in shares.items():
            # a fifth, within four standard deviations of a binomial draw over n requests
            assert abs(faults / n - 0.2) <= max(0.05, 4 * math.sqrt(0.16 / n)), (p, faults, n)
            assert set(kinds) >= KINDS, (p, kinds)

        # one more run (the faults still on) sends nothing
        r = run_uprbuzz(["publish"], queue.root, sc.env, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert sum(len(p) for p in sc.holdings().values()) == total
