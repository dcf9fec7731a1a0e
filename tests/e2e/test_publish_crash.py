"""Exactly once under SIGKILL and under concurrency: `uprbuzz publish` processes against the X
stand-in and the real PDS; what the servers hold is counted afterwards."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.publish import (
    make_image,
    make_project,
    pds_records,
    popen_uprbuzz,
    pub_env,
    run_uprbuzz,
)
from uprbuzz.sandbox.xapi_store import DEFAULT_LIMITS

pytestmark = pytest.mark.e2e


def unlimited(xapi) -> None:
    xapi.server.set_limits({k: (1_000_000, 900) for k in DEFAULT_LIMITS})


def queue_project(tmp_path, n: int, tag: str):
    """n approved due posts: every 4th a 3-part thread, every 5th with a small image."""
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    posts, expected = {}, {}
    for i in range(n):
        media = ""
        if i % 5 == 0:
            media = f"media:\n  - path: media/p{i % 3}.png\n    alt: Small picture {i % 3}\n"
        parts = [f"{tag} post {i:03d} part {k + 1}" for k in range(3 if i % 4 == 0 else 1)]
        posts[f"q/{i:03d}.md"] = (f"---\nat: {at}\nstatus: approved\n{media}---\n"
                                  + "\n---\n".join(parts) + "\n")
        expected[f"q/{i:03d}"] = parts
    root = make_project(tmp_path / "proj", posts)
    for k in range(3):
        make_image(root / f"media/p{k}.png", 48 + 8 * k, 32, ("red", "green", "blue")[k])
    return root, expected


def assert_exactly_once(xapi, pds, handle: str, expected: dict[str, list[str]]) -> None:
    want = Counter(t for parts in expected.values() for t in parts)
    tweets = [t for t in xapi.server.store.tweets if not t["deleted"]]
    on_x = Counter(t["text"] for t in tweets)
    assert on_x == want, {t: c for t, c in on_x.items() if c != want.get(t)}
    recs = pds_records(pds.url, handle)
    on_bsky = Counter(r["value"]["text"] for r in recs)
    assert on_bsky == want, {t: c for t, c in on_bsky.items() if c != want.get(t)}
    by_text = {t["text"]: t for t in tweets}
    rec_by_text = {r["value"]["text"]: r for r in recs}
    for parts in expected.values():  # threads: each part replies to the previous one
        for prev, cur in zip(parts, parts[1:], strict=False):
            assert by_text[cur]["in_reply_to_tweet_id"] == by_text[prev]["id"]
            assert rec_by_text[cur]["value"]["reply"]["parent"]["uri"] == rec_by_text[prev]["uri"]
        assert by_text[parts[0]]["in_reply_to_tweet_id"] is None
        assert "reply" not in rec_by_text[parts[0]]["value"]


@pytest.mark.slow
def test_sigkill_30_times_still_exactly_once(tmp_path, xapi, bsky_config, pds):
    unlimited(xapi)
    # pace X at ~30 posts/s per process (each create waits 30 ms before it is applied), so a
    # kill 0-250 ms into sending stops a few parts, not the whole queue: 30 kills always fit,
    # however fast the machine. A kill during that wait also loses an answer whose write lands.
    xapi.server.set_faults(delay_rate=1.0, delay_seconds=0.03, paths=["POST /2/tweets"])
    root, expected = queue_project(tmp_path, 200, "crash")
    env = pub_env(xapi, bsky_config)
    rng = random.Random(1309)
    kills = 0
    t0 = time.monotonic()
    while kills < 30:
        n0 = len(xapi.server.store.tweets)
        p = popen_uprbuzz(["publish"], root, env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        # kill shortly after this process starts sending (not after a fixed delay: start-up and
        # sending speed vary by machine), so kills land mid-send and 30 fit in the queue
        deadline = time.monotonic() + 30
        while (len(xapi.server.store.tweets) == n0 and p.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.25))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
        if p.returncode == 0 and kills < 30:
            break  # everything went out before we could kill it 30 times: keep what we have
    sent_before_final = len(xapi.server.store.tweets)
    final = run_uprbuzz(["publish"], root, env, timeout=300)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    assert kills == 30, f"only {kills} kills before the queue was done ({sent_before_final} tweets)"
    assert_exactly_once(xapi, pds, bsky_config.handle, expected)
    st = run_uprbuzz(["status", "--json"], root, env)
    import json

    states = Counter(r["state"] for r in json.loads(st.stdout))
    n_parts = sum(len(p) for p in expected.values())
    assert states == {"sent": 2 * n_parts}
    assert time.monotonic() - t0 < 300


def test_two_processes_at_once_never_both_send(tmp_path, xapi, bsky_config, pds):
    unlimited(xapi)
    root, expected = queue_project(tmp_path, 24, "concurrent")
    env = pub_env(xapi, bsky_config)
    procs = [popen_uprbuzz(["publish"], root, env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE) for _ in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert_exactly_once(xapi, pds, bsky_config.handle, expected)
