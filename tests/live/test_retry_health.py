"""Honest retries and the health strip: plain words, Retry after giving up sends, since when."""

from __future__ import annotations

import re

import pytest

from tests.live.conftest import wait_for
from uprbuzz.live.plain import label, plain
from uprbuzz.platforms.base import AuthFailed, DuplicateContent, TransientError
from uprbuzz.store.live_tables import LiveStore

RAW_DOWN = ("HTTPConnectionPool(host='127.0.0.1', port=8123): Max retries exceeded with url: "
            "/2/tweets (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object "
            "at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))"
            "; retrying after 14:31:07")


def test_platform_errors_are_said_in_plain_words():
    p = plain(RAW_DOWN, "X", retrying=True, retry_in=30, cap=30)
    assert p.text == "X unreachable, retrying every 30 s" and p.kind == "unreachable"
    assert plain(RAW_DOWN, "X", retrying=True, retry_in=4).text == "X unreachable, retrying in 4 s"
    assert plain(RAW_DOWN, "Bluesky").text == "Bluesky unreachable, press Retry to try again"
    gave = plain("gave up after 25 attempts", "X")
    assert gave.kind == "gave-up" and "press Retry to start again" in gave.text
    dup = plain("X refused this text as a duplicate of an earlier post on the account; edit "
                "the text to post it", "X")
    assert dup.kind == "duplicate" and dup.text.endswith("edit and resend")
    assert plain("authentication failed: 401 Unauthorized; check the x credentials",
                 "X").kind == "auth"
    assert plain("rate limited until 14:55:00, deferring", "X", retrying=True,
                 retry_in=30).text == "X rate limit reached, retrying every 30 s"
    assert plain("503 Service Unavailable", "Bluesky").kind == "server"
    other = plain("ValueError: odd thing; retrying after 02:03:04", "X", retrying=True, retry_in=2)
    assert other.text == "X: odd thing, retrying in 2 s"  # no class name, no other clock's time
    for said in (p, gave, dup, other):
        assert not re.search(r"\d\d:\d\d:\d\d|Error\b|Pool", said.text)
    assert label("x") == "X" and label("x-es", "x") == "X (x-es)"


def test_retry_after_giving_up_starts_the_attempts_again(live_env, monkeypatch):
    import uprbuzz.publish.lane as lane

    monkeypatch.setattr(lane, "MAX_TOTAL_ATTEMPTS", 2)  # give up quickly (25 in real life)
    config, store, fakes, make = live_env
    con = make()
    con.start()
    fakes["x"].fail = [TransientError(RAW_DOWN, platform="x") for _ in range(100)]
    lp = con.submit("Cuba speaks #UPR36")
    ls = LiveStore(store.db)
    wait_for(lambda: ls.post(con.key, 0).platforms.get("x", {}).get("state") == "failed",
             timeout=40)
    x = ls.post(con.key, 0).platforms["x"]
    assert x["error_kind"] == "gave-up" and "gave up after" in x["error"]
    assert x["error"].endswith("(last: X unreachable)")  # why it kept failing
    assert x["detail"] == "gave up after 2 attempts"  # the raw text is kept as a detail
    health = {h["channel"]: h for h in con.state()["health"]}
    assert health["x"]["state"] == "failing" and health["x"]["since"] == x["since"][11:16]
    assert health["x"]["text"].startswith("X failing since ")
    assert health["bluesky"]["state"] in ("blocked", "sent", "sending")
    # Both gave up on X (the post behind the anchor too). X is back: the health strip's Retry
    # sends the anchor, then the post, threaded under it.
    wait_for(lambda: ls.post(con.key, lp.n).platforms.get("x", {}).get("state") == "failed",
             timeout=40)
    fakes["x"].fail = []
    assert con.retry_channel("x") == [0, lp.n]
    wait_for(lambda: ls.post(con.key, lp.n).state == "sent", timeout=40)
    assert [p["text"] for p in fakes["x"].posts] == [con.session.anchor, "Cuba speaks #UPR36"]
    assert fakes["x"].posts[1]["parent"] == fakes["x"].posts[0]["id"]
    wait_for(lambda: {h["channel"]: h["state"] for h in con.state()["health"]}
             == {"x": "sent", "bluesky": "sent"})
    assert ls.post(con.key, 0).platforms["x"]["since"] == ""


def test_retry_during_backoff_tries_at_once_with_plain_words(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.retry_cap = 30.0  # a long pause between attempts
    con.start()
    fakes["bluesky"].fail = [TransientError(RAW_DOWN, platform="bluesky") for _ in range(4)]
    con.ensure_anchor()
    ls = LiveStore(store.db)
    wait_for(lambda: ls.post(con.key, 0).platforms.get("bluesky", {}).get("state") == "retrying")
    b = ls.post(con.key, 0).platforms["bluesky"]
    assert b["error"].startswith("Bluesky unreachable, retrying")
    h = {h["channel"]: h for h in con.state()["health"]}["bluesky"]
    assert h["state"] == "retrying" and "Bluesky unreachable" in h["text"]
    fakes["bluesky"].fail = []
    con.retry(0)  # no waiting out the 30 s pause, nor the ledger's deferral
    wait_for(lambda: ls.post(con.key, 0).state == "sent", timeout=10)


@pytest.mark.parametrize("exc, kind, state", [
    (AuthFailed("401 Unauthorized", platform="x"), "auth", "blocked"),
    (DuplicateContent("duplicate content", platform="x"), "duplicate", "failing"),
])
def test_refusals_show_what_to_do(live_env, exc, kind, state):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    con.ensure_anchor()
    ls = LiveStore(store.db)
    wait_for(lambda: ls.post(con.key, 0).state == "sent")
    fakes["x"].fail = [exc]
    lp = con.submit("Cuba speaks #UPR36")
    wait_for(lambda: ls.post(con.key, lp.n).platforms.get("x", {}).get("state") in
             ("failed", "retrying"), timeout=10)
    x = ls.post(con.key, lp.n).platforms["x"]
    assert x["error_kind"] == kind, x
    assert {h["channel"]: h for h in con.state()["health"]}["x"]["state"] == state
    con.retry(lp.n)  # the refusal was lifted (a new login; an edited account)
    wait_for(lambda: ls.post(con.key, lp.n).state == "sent", timeout=10)


def test_a_live_post_is_retracted_on_every_channel_and_never_sent_again(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    lp = con.submit("Slovakia: a typo in this post #UPR36")
    ls = LiveStore(store.db)
    wait_for(lambda: ls.post(con.key, lp.n).state == "sent")
    assert con.retract(lp.n) == {"x": "retracted", "bluesky": "retracted"}
    for f in fakes.values():
        assert [p["text"] for p in f.posts] == [con.session.anchor]  # deleted there
    post = next(p for p in con.state()["posts"] if p["n"] == lp.n)
    assert post["state"] == "retracted"
    con.retry(lp.n)  # nothing to retry
    again = make()  # a restart does not send it again
    again.start()
    again.stop()
    for f in fakes.values():
        assert [p["text"] for p in f.posts] == [con.session.anchor]
    assert {r.state for r in store.publications.rows(lp.post_id)} == {"retracted"}
