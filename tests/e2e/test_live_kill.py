"""SIGKILL the console mid-post, restart it: nothing is lost and nothing is doubled."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.live_helpers import bsky_posts, make_live_project, start_console, wait_for
from tests.fixtures.publish import pub_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TEXTS = [f"Live update {i}: a State speaks for 55 seconds. #UPR36" for i in range(1, 4)]


def test_kill_mid_post_then_restart(tmp_path, xapi, bsky_config, pds):
    root = make_live_project(tmp_path / "proj")
    env = pub_env(xapi, bsky_config)
    # The anchor goes through; the next tweet is written, but its answer is held back 8 s:
    # the console dies while that post is in flight on X.
    xapi.server.store.set_faults({"script": ["ok", "delay_after_write"], "delay_seconds": 8,
                                  "paths": ["POST /2/tweets"]})
    con = start_console(root, env)
    try:
        for i, text in enumerate(TEXTS):
            r = con.api("post", {"text": text, "client_id": f"k{i}"})
            assert r.status_code == 200, r.text
        # Every submission is in the store before it is sent.
        assert [p["text"] for p in con.state()["posts"]][1:] == TEXTS
        user = xapi.account.user_id
        wait_for(lambda: len(xapi.server.store.user_tweets(user)) >= 2, timeout=30, every=0.02)
        con.stop(signal.SIGKILL)
    finally:
        con.stop(signal.SIGKILL)
    assert len(xapi.server.store.user_tweets(user)) == 2  # anchor + post 1 (its answer never came)

    again = start_console(root, env)
    try:
        wait_for(lambda: all(p["state"] == "sent" for p in again.state()["posts"]), timeout=90)
        state = again.state()
    finally:
        again.stop()
    assert [p["n"] for p in state["posts"]] == [0, 1, 2, 3]
    tweets = list(reversed(xapi.server.store.user_tweets(user)))
    assert [t["text"] for t in tweets][1:] == TEXTS  # once each, in order
    for prev, t in zip(tweets, tweets[1:], strict=False):
        assert t["in_reply_to_tweet_id"] == prev["id"]
    recs = bsky_posts(pds.url, bsky_config.handle)
    assert [r["value"]["text"] for r in recs][1:] == TEXTS
    assert len(recs) == 4
