from __future__ import annotations

from datetime import UTC, datetime

import pytest

from uprbuzz.clock import FixedClock
from uprbuzz.live.broadcast_clock import BroadcastClock, format_hms, parse_hms


@pytest.mark.parametrize("text,secs", [("00:42:10", 2530), ("42:10", 2530), ("1:02:03", 3723),
                                       ("95", 95), ("-00:00:05", -5), ("00:00:07.5", 7.5)])
def test_parse_hms(text, secs):
    assert parse_hms(text) == secs


@pytest.mark.parametrize("bad", ["", "ab:cd", "1:2:3:4", "00:42:1x", "99:99", "00:61:00",
                                 "01:00:60"])
def test_parse_hms_refuses_garbage(bad):
    with pytest.raises(ValueError, match="hh:mm:ss"):
        parse_hms(bad)


def test_format_hms():
    assert format_hms(2530.9) == "00:42:10"
    assert format_hms(3 * 3600 + 30 * 60) == "03:30:00"
    assert format_hms(-5) == "-00:00:05"


def test_sync_in_one_action_moves_the_start_and_offsets_follow():
    wall = FixedClock(datetime(2020, 11, 9, 14, 15, tzinfo=UTC))
    bc = BroadcastClock(datetime(2020, 11, 9, 13, 30, tzinfo=UTC), wall)
    assert format_hms(bc.offset()) == "00:45:00"
    bc.sync("00:42:10")  # the webcast started 2 min 50 s late
    assert bc.start == datetime(2020, 11, 9, 13, 32, 50, tzinfo=UTC)
    assert format_hms(bc.offset()) == "00:42:10"
    wall.advance(10)
    assert format_hms(bc.offset()) == "00:42:20"


def test_console_sync_is_stored_and_survives_a_restart(live_env):
    config, store, fakes, make = live_env
    wall = FixedClock(datetime(2020, 11, 9, 14, 20, tzinfo=UTC))
    con = make(clock=wall)
    assert format_hms(con.offset()) == "00:50:00"  # scheduled start 13:30 UTC
    con.sync("00:42:10")
    assert format_hms(con.offset()) == "00:42:10"
    again = make(clock=wall)
    assert format_hms(again.offset()) == "00:42:10"
    assert again.store.syncs(again.key)[-1]["shown"] == 2530
    with pytest.raises(ValueError):
        con.sync("nonsense")


def test_an_unknown_session_name_gets_a_did_you_mean(tmp_path):
    from uprbuzz.live.session_file import find_session

    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "us-upr-2020.toml").write_text("[session]\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"did you mean 'us-upr-2020'\?"):
        find_session("us-upr-202", tmp_path)
    with pytest.raises(FileNotFoundError, match="sessions here: us-upr-2020"):
        find_session("zzz", tmp_path)
