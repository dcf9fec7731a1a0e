"""Rehearsal: the session replayed on a fast clock, cues firing themselves, sandbox only."""

from __future__ import annotations

import pytest

from tests.live.conftest import SAMPLE, wait_for
from uprbuzz.config import BlueskyConfig, Config, XConfig
from uprbuzz.live.rehearse import CueRunner, NotSandbox, check_sandbox, rehearsal_console
from uprbuzz.live.session_file import load_session


def test_rehearsal_fires_the_cue_sheet_in_order_on_a_fast_clock(live_env):
    config, store, fakes, make = live_env
    from uprbuzz.publish.publisher import Publisher

    session = load_session(SAMPLE)
    con = rehearsal_console(config, store, session, speed=4000, lead_in=60, retry_cap=0.2,
                            publisher_factory=lambda n: Publisher(config, store, platforms=fakes,
                                                                  sleep=lambda s: None))
    assert con.key.startswith("us-upr-2020~rehearsal-") and con.rehearsal
    assert con.offset() < 0  # the lead-in: the broadcast has not started yet
    con.start()
    runner = CueRunner(con, interval=0.02)
    runner.start()
    try:
        wait_for(lambda: runner.finished, timeout=15)
        runner.thread.join(5)
    finally:
        runner.stop()
        con.stop()
    expected = sorted(session.cues, key=con.cue_due)
    assert runner.fired == [c.id for c in expected]
    posts = con.store.posts(con.key)
    assert [p.cue_id for p in posts if p.kind == "cue"] == runner.fired
    for p, cue in zip([p for p in posts if p.kind == "cue"], expected, strict=False):
        # Fired when due, never early (and at 4000x, 1 s of lag is 4000 broadcast seconds).
        assert con.cue_due(cue) <= p.offset < con.cue_due(cue) + 4000
        assert p.speaker == (con.timeline.who(p.offset)["speaker"]
                             or con.timeline.who(p.offset)["entry"]["name"])
    # The day's own coverage key is untouched by the rehearsal.
    assert con.store.posts("us-upr-2020") == []


def test_rehearsal_refuses_real_platforms(tmp_path):
    real = Config(root=tmp_path)
    with pytest.raises(NotSandbox, match="sandbox"):
        check_sandbox(real, ("x", "bluesky"))
    local = Config(root=tmp_path, x=XConfig(api_url="http://127.0.0.1:9"),
                   bluesky=BlueskyConfig(pds_url="http://localhost:2583"))
    check_sandbox(local, ("x", "bluesky"))
    half = Config(root=tmp_path, x=XConfig(api_url="http://127.0.0.1:9"))
    with pytest.raises(NotSandbox, match="bluesky"):
        check_sandbox(half, ("x", "bluesky"))


def test_a_cue_jumped_over_by_a_sync_is_offered_not_fired(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.sync("00:00:05")
    runner = CueRunner(con)
    assert runner.tick() == []  # nothing due yet
    con.sync("00:40:00")  # a jump past the presentation and dialogue cues
    assert runner.tick() == []
    assert set(runner.offered) >= {"presentation", "dialogue"}
    assert con.store.cues(con.key) == {}  # still ready: the page shows them OVERDUE, to fire or skip
