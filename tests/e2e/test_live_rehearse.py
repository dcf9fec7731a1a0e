"""Two `uprbuzz live --rehearse` runs in a row against the sandbox (X stand-in and local PDS):
each starts on fresh platforms, so each starts with its anchor first on every channel (the
second's anchor and cues are not refused as duplicates of the first's)."""

from __future__ import annotations

import pytest

from tests.e2e.live_helpers import make_live_project, start_console, wait_for
from tests.fixtures.publish import pub_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_two_rehearsals_in_a_row_both_start_with_the_anchor(tmp_path, xapi, bsky_config, pds):
    root = make_live_project(tmp_path / "proj")
    env = pub_env(xapi, bsky_config)
    keys = []
    for run in (1, 2):
        con = start_console(root, env, args=["--rehearse", "--speed", "10"])
        try:
            state = con.state()
            assert state["session"]["rehearsal"]
            keys.append(state["session"]["key"])
            con.api("anchor", {})

            def anchor_everywhere(con=con) -> bool:
                posts = con.state()["posts"]
                return bool(posts) and all(posts[0]["platforms"].get(c, {}).get("state") == "sent"
                                           for c in ("x", "bluesky"))

            wait_for(anchor_everywhere, timeout=60, what=f"run {run}: the anchor on every channel")
            tweets = list(reversed(xapi.server.store.user_tweets(xapi.account.user_id)))
            assert tweets[0]["in_reply_to_tweet_id"] is None
            assert "LIVE from Geneva" in tweets[0]["text"], f"run {run}: {tweets[0]['text']}"
            first = con.state()["posts"][0]
            assert first["kind"] == "anchor" and first["n"] == 0
        finally:
            con.stop()
    assert keys[0] != keys[1]  # each rehearsal under its own key
