"""Exactly once on six channels under SIGKILL: 200 posts (threads, images) routed to all six
sandbox channels (two accounts on each of the X stand-in, the real PDS and the Mastodon
stand-in), `uprbuzz publish` killed 30 times mid-send, then one run to the end; every account's
posts are counted on its server.

Each run is killed after a random number of new writes (1-40 across the six channels), so the
kills land while all six lanes are sending, and 30 of them always fit in the queue however fast
the machine is. Writes are slowed at random on all three platforms, before the write or after
it with the answer held back, so kills also land after a write landed and before the client
knew: the next run must find those by reconciling (Bluesky: by record key; X and Mastodon: by
reading the account's posts), never by posting again."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.channels_helpers import (
    WRITES,
    exactly_once_problems,
    ledger_states,
    queue_project,
    six_channels,
)
from tests.fixtures.publish import popen_uprbuzz, run_uprbuzz

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POSTS, KILLS = 200, 30
MAX_WRITES_PER_RUN = 40  # 30 runs send at most 1,200 of the queue's writes (1,500 at least)


def test_sigkill_30_times_on_six_channels_exactly_once(tmp_path: Path, needs_pds: None) -> None:
    t0 = time.monotonic()
    queue = queue_project(tmp_path / "network", POSTS, "crash")
    with six_channels(queue.root) as sc:
        t_start = time.monotonic() - t0
        slow = {"delay_rate": 0.1, "delay_after_write_rate": 0.1, "delay_seconds": 0.3,
                "seed": 1309}
        sc.set_faults(x={**slow, "paths": WRITES["x"]},
                      mastodon={**slow, "paths": WRITES["mastodon"]},
                      bluesky={**slow, "paths": WRITES["bluesky"]})
        rng = random.Random(1309)
        logs = tmp_path / "logs"
        logs.mkdir()
        kills, runs, finished, stuck = 0, 0, False, 0
        while kills < KILLS:
            runs += 1
            before, target = sc.writes_seen(), rng.randint(1, MAX_WRITES_PER_RUN)
            with open(logs / f"run{runs:02d}.log", "wb") as out:
                p = popen_uprbuzz(["publish"], queue.root, sc.env, stdout=out,
                                  stderr=subprocess.STDOUT,
                                  extra_env={"PYTHONUNBUFFERED": "1"})  # the log survives a kill
            try:
                deadline = time.monotonic() + 30
                while p.poll() is None and sc.writes_seen() - before < target:
                    if time.monotonic() > deadline:
                        stuck += 1
                        break
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.0, 0.05))
            finally:  # also when the test fails or times out here: no publisher left behind
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    kills += 1
            p.wait()
            if p.returncode == 0:
                finished = True  # everything went out before we could kill it 30 times
                break
        t_kills = time.monotonic() - t0 - t_start
        after_kills = ledger_states(queue.root, sc.env)
        sc.no_faults()
        final = run_uprbuzz(["publish"], queue.root, sc.env, timeout=300)
        (logs / "final.log").write_text(final.stdout + final.stderr)
        t_final = time.monotonic() - t0 - t_start - t_kills
        text = "\n".join(f.read_text(errors="replace") for f in sorted(logs.iterdir()))
        landed = text.count("reconciled, it had landed")
        not_landed = text.count("the interrupted attempt did not land")
        faults = {p: c["faults"] for p, c in sc.counts().items()}
        print(f"\n{POSTS} posts x 6 channels = {6 * queue.n_parts} parts; sandbox start "
              f"{t_start:.1f}s; {kills} kills in {runs} runs, {t_kills:.1f}s; ledger after them "
              f"{dict(after_kills)}; final run {t_final:.1f}s; reconciled: {landed} had "
              f"landed, {not_landed} had not; slowed writes {faults}, bluesky "
              f"{sc.proxy.counts()}")
        assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
        assert not finished and kills == KILLS, f"the queue was done after {kills} kills"
        assert stuck == 0, f"{stuck} runs sent nothing for 30 s"

        held = sc.holdings()
        problems = exactly_once_problems(held, queue)
        assert not problems, "\n".join(problems[:30])
        assert {c: len(p) for c, p in held.items()} == {c: queue.n_parts for c in held}
        assert ledger_states(queue.root, sc.env) == {"sent": 6 * queue.n_parts}

        # a second run finds nothing to send
        again = run_uprbuzz(["publish"], queue.root, sc.env, timeout=120)
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
        assert sum(len(p) for p in sc.holdings().values()) == 6 * queue.n_parts

        # the kills landed inside sends: claims interrupted after their write had landed were
        # found by reconciling, and the kill phase published a real share of the queue
        assert landed > 0, "no kill caught a write that had landed before its answer"
        assert after_kills["sent"] > 6 * queue.n_parts // 10, dict(after_kills)
        assert sum(Counter(faults["x"]).values()) and sum(Counter(faults["mastodon"]).values())
        assert sc.proxy.counts(), "no Bluesky write was slowed"
        print(f"total {time.monotonic() - t0:.1f}s")
