"""Speaker predictions with the 2020 list (Slovakia first, alphabetical, 55 s each) and marks."""

from __future__ import annotations

import csv
import unicodedata

import pytest

from tests.conftest import SHARED, needs_shared
from tests.live.conftest import SAMPLE
from uprbuzz.live.broadcast_clock import format_hms, parse_hms
from uprbuzz.live.session_file import load_session, parse_session
from uprbuzz.live.speakers import Timeline

ORDER = SHARED / "data" / "upr2020" / "us_upr2020_speaking_order_DERIVED.csv"
needs_order = needs_shared(ORDER)


def derived_names() -> list[str]:
    with ORDER.open(encoding="utf-8") as f:
        return [r["state"] for r in sorted(csv.DictReader(f), key=lambda r: int(r["derived_position"]))]


def session_text(names: list[str], replies: str = "") -> str:
    speakers = ",\n".join(f'  "{n}"' for n in names)
    return f'''[session]
title = "t"
start = "2020-11-09 14:30"
timezone = "Europe/Zurich"
anchor = "a"
state_under_review = "United States of America"
speaker_seconds = 55
speakers = [
{speakers}
]
[[session.segments]]
kind = "presentation"
duration = "20m"
[[session.segments]]
kind = "dialogue"
{replies}
[[session.segments]]
kind = "concluding"
duration = "10m"
'''


@pytest.fixture
def names() -> list[str]:
    return derived_names()


@needs_order
def test_the_2020_order_is_slovakia_first_alphabetical_wrapping_to_singapore(names):
    assert names[0] == "Slovakia" and names[-1] == "Singapore"
    wrap = names.index("Afghanistan")
    assert names[wrap - 1] == "Zambia"
    def plain(s: str) -> str:  # "Côte d'Ivoire" sorts as "Cote d'Ivoire"
        return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()

    assert names[:wrap] == sorted(names[:wrap], key=plain)
    assert names[wrap:] == sorted(names[wrap:], key=plain)


@needs_order
def test_predictions_at_given_offsets(names):
    tl = Timeline(parse_session(session_text(names)))
    first = 20 * 60
    assert tl.who(0)["segment"] == "presentation" and tl.who(0)["speaker"] is None
    assert tl.who(0)["next"] == "Slovakia"
    assert tl.who(first - 1)["speaker"] is None
    for k in (0, 1, 2, 21, 45, 57, 113):
        start = first + 55 * k
        for off in (start, start + 30, start + 54.9):
            got = tl.who(off)
            assert got["speaker"] == names[k], (k, format_hms(off))
            assert got["segment"] == "dialogue"
            assert got["next"] == (names[k + 1] if k + 1 < len(names) else None)
    end_dialogue = first + 55 * len(names)
    assert tl.who(end_dialogue)["segment"] == "concluding"
    assert tl.who(end_dialogue)["speaker"] is None
    assert tl.who(end_dialogue + 600)["segment"] is None
    assert tl.who(-5) == {"offset": "-00:00:05", "segment": None, "speaker": None,
                          "next": "Slovakia", "entry": None}


@needs_order
def test_marking_a_speaker_reanchors_later_predictions(names):
    tl = Timeline(parse_session(session_text(names)))
    cuba = names.index("Cuba")
    predicted = 1200 + 55 * cuba
    late = predicted + 437  # the real schedule slipped by 7 min 17 s
    tl.mark("Cuba", late)
    assert tl.who(late)["speaker"] == "Cuba"
    assert tl.who(late + 55)["speaker"] == names[cuba + 1]
    assert tl.who(late + 55 * 10 + 1)["speaker"] == names[cuba + 10]
    # Before the mark nothing moved, except that the speaker before Cuba ran long.
    assert tl.who(1200)["speaker"] == "Slovakia"
    assert tl.who(late - 1)["speaker"] == names[cuba - 1]
    # A later mark that comes early: the speakers in between were skipped.
    denmark = names.index("Denmark")
    tl.mark("Denmark", late + 60)
    assert tl.who(late + 30)["speaker"] == "Cuba"
    assert tl.who(late + 61)["speaker"] == "Denmark"
    assert tl.who(late + 61)["next"] == names[denmark + 1]
    assert tl.start_of(names[denmark + 2]) == late + 60 + 110
    # Marks are kept by index and survive rebuilding the timeline (the store keeps them).
    again = Timeline(tl.session, tl.marks)
    assert again.who(late + 61)["speaker"] == "Denmark"


@needs_order
def test_reply_blocks_of_the_state_under_review_shift_the_later_speakers(names):
    text = session_text(names, 'replies = [{ after = "Australia", duration = "10m" }]')
    tl = Timeline(parse_session(text))
    k = names.index("Australia")
    block = 1200 + 55 * (k + 1)
    during = tl.who(block + 60)
    assert during["segment"] == "dialogue" and during["speaker"] is None
    assert during["entry"]["kind"] == "reply" and during["next"] == names[k + 1]
    assert tl.who(block + 600)["speaker"] == names[k + 1]
    assert tl.who(block - 1)["speaker"] == "Australia"


def test_the_sample_session_is_self_contained_and_predicts():
    s = load_session(SAMPLE)
    assert s.speakers[0].name == "Slovakia" and s.speakers[-1].name == "Singapore"
    assert {sp.seconds for sp in s.speakers} == {55}
    assert s.start.isoformat() == "2020-11-09T14:30:00+01:00"
    tl = Timeline(s)
    opening = sum(g.duration for g in s.segments if g.kind in ("opening", "presentation"))
    assert tl.who(opening)["speaker"] == "Slovakia"
    slot = 55 + s.gap
    assert tl.who(opening + slot)["speaker"] == s.speakers[1].name
    assert 3 * 3600 <= tl.end <= 3.5 * 3600 + 60  # a 3.5 h meeting
    assert tl.who(parse_hms("00:00:01"))["segment"] == "opening"


def test_cues_keyed_to_a_segment_fall_due_when_it_starts(live_env):
    config, store, fakes, make = live_env
    con = make()
    due = {c.id: con.cue_due(c) for c in con.session.cues}
    opening = con.session.segments[0].duration
    assert due["dialogue"] == con.timeline.start_of("Slovakia") == opening + 25 * 60
    assert due["presentation"] == opening
    assert due["troika-germany"] == con.timeline.start_of("Germany")
    assert due["concluding"] == con.timeline.slots[-1].start
