"""Session files: the sample parses; mistakes are reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED, needs_shared
from tests.live.conftest import SAMPLE
from uprbuzz.live.session_file import SessionError, load_session, parse_session, parse_span

BASE = '''[session]
title = "t"
start = "2020-11-09 14:30"
timezone = "Europe/Zurich"
anchor = "Follow this thread"
speakers = ["Slovakia", "Slovenia"]

[[session.segments]]
kind = "presentation"
duration = "20m"

[[session.segments]]
kind = "dialogue"
'''


def err(text: str) -> SessionError:
    with pytest.raises(SessionError) as e:
        parse_session(text, "schedules/x.toml")
    return e.value


def line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, ln in enumerate(text.splitlines()) if needle in ln)


def test_the_sample_parses():
    s = load_session(SAMPLE)
    assert s.title.startswith("UPR of the United States")
    assert s.hashtags == ("#UPR36", "#USUPR", "#HumanRights")
    assert [g.kind for g in s.segments] == ["opening", "presentation", "dialogue", "concluding"]
    assert len(s.cues) >= 3 and s.anchor
    assert len(s.segments[2].replies) == 3


def test_a_minimal_session():
    s = parse_session(BASE)
    assert s.start.utcoffset().total_seconds() == 3600
    assert [sp.name for sp in s.speakers] == ["Slovakia", "Slovenia"]


@pytest.mark.parametrize("extra,needle,message", [
    ('colour = "red"\n', "colour", "unknown key 'colour'"),
    ('gap_seconds = "soon"\n', "gap_seconds", "not a duration"),
])
def test_errors_in_the_session_table_point_at_their_line(extra, needle, message):
    text = BASE.replace('anchor = ', extra + 'anchor = ')
    e = err(text)
    assert message in e.message and e.line == line_of(text, needle)
    assert str(e).startswith(f"schedules/x.toml:{e.line}: error: ")


def test_unknown_time_zone():
    text = BASE.replace("Europe/Zurich", "Europe/Genf")
    e = err(text)
    assert "unknown time zone" in e.message and e.line == line_of(text, "timezone")


def test_duplicate_speaker():
    text = BASE.replace('["Slovakia", "Slovenia"]', '[\n "Slovakia",\n "Slovenia",\n "Slovakia",\n]')
    e = err(text)
    assert "listed twice" in e.message and e.line == line_of(text, '"Slovakia"')


def test_bad_segment_kind_points_at_its_table():
    text = BASE + '\n[[session.segments]]\nkind = "closing"\nduration = "5m"\n'
    e = err(text)
    assert "'closing'" in e.message
    assert e.line == len(BASE.splitlines()) + 2


def test_reply_after_an_unknown_speaker():
    text = BASE + 'replies = [{ after = "Narnia", duration = "5m" }]\n'
    e = err(text)
    assert "Narnia" in e.message and e.line == line_of(text, "Narnia")


def test_speakers_need_a_dialogue():
    text = BASE.replace('kind = "dialogue"', 'kind = "concluding"\nduration = "5m"')
    assert "dialogue" in err(text).message


@pytest.mark.parametrize("cue,message", [
    ('segment = "presentation"\nat = "00:01:00"\ntext = "x"', "exactly one of"),
    ('speaker = "Narnia"\ntext = "x"', "not in the speakers list"),
    ('segment = "presentation"', "has no text"),
])
def test_cue_errors(cue, message):
    text = BASE + f'\n[[session.cues]]\nid = "c1"\n{cue}\n'
    e = err(text)
    assert message in e.message and e.line == line_of(text, "[[session.cues]]")


def test_toml_syntax_error_has_its_line():
    text = BASE + 'title = "unclosed\n'
    assert err(text).line == len(BASE.splitlines()) + 1


def test_missing_anchor_and_start():
    assert "anchor" in err(BASE.replace('anchor = "Follow this thread"\n', "")).message
    assert "'start'" in err(BASE.replace('start = "2020-11-09 14:30"\n', "")).message


def test_recommendations_inline_and_missing_file(tmp_path: Path):
    text = BASE.replace('anchor = ', 'recommendations = [{ paragraph = "26.49", states = '
                        '["Slovakia", "Slovenia"], text = "Ratify the CRC" }]\nanchor = ')
    s = parse_session(text)
    assert [r.paragraph for r in s.recommendations_by("slovenia")] == ["26.49"]
    missing = BASE.replace('anchor = ', 'recommendations = "nope.csv"\nanchor = ')
    e = err(missing)
    assert "nope.csv" in e.message and e.line == line_of(missing, "recommendations")


REC = SHARED / "data" / "upr2020" / "us_upr2020_recommendations.csv"


@needs_shared(REC)
def test_recommendations_csv_import():
    text = BASE.replace('anchor = ', f'recommendations = "{REC}"\nanchor = ')
    s = parse_session(text)
    assert len(s.recommendations) == 347
    joint = [r for r in s.recommendations if r.paragraph == "26.49"][0]
    assert len(joint.states) == 6 and "Switzerland" in joint.states
    assert {r.paragraph for r in s.recommendations_by("Slovakia")} == {
        "26.46", "26.50", "26.112", "26.188"}


def test_parse_span():
    assert parse_span("1h30m") == 5400 and parse_span("00:25:00") == 1500
    assert parse_span(55) == 55 and parse_span("55s") == 55
    with pytest.raises(ValueError):
        parse_span("soon")
