"""Re-timing live posts to a transcript, the pure part: reading UN Transcripts-style files
(lenient on shape, strict on types, errors with file, line and statement), matching posts to
their speaker's statement, the country table and the one webcast-link rule.
(The store, the command line and the recap: test_align_cli.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live.conftest import SAMPLE
from uprbuzz.live.align import (
    PostRef,
    Statement,
    TranscriptError,
    align,
    format_report,
    load_transcript,
    report,
    transcript_warnings,
)
from uprbuzz.live.countries import country_name, iso3
from uprbuzz.live.session_file import load_session
from uprbuzz.live.webcast import webcast_link

DATA = Path(__file__).parent / "data" / "us-upr-2020-transcript.json"


def _st(i: int, speaker: str, country: str | None, start: float, end: float | None = None) -> Statement:
    return Statement(i, speaker, country, start, end)


# --- reading ---------------------------------------------------------------------------------

def test_fixture_transcript_reads_as_an_object_with_statements() -> None:
    sts = load_transcript(DATA)
    assert len(sts) == 12
    assert sts[0] == Statement(0, "President", None, 12.0, 290.0, sts[0].text)
    assert [s.code for s in sts[1:4]] == ["USA", "USA", "SVK"]
    assert sum(s.code == "USA" for s in sts) == 5  # the State under review speaks five times


def test_a_plain_list_with_a_bom_and_without_end_or_text_reads_too(tmp_path: Path) -> None:
    f = tmp_path / "t.json"
    f.write_text("\ufeff" + json.dumps([
        {"speaker": "Slovakia", "country_iso3": "svk", "start": 1806},
        {"speaker": "Ms. Anja Novak", "country_iso3": "", "start": 1873.5, "end": None},
        {"speaker": None, "start": 0, "extra": "ignored"},
    ]), encoding="utf-8")
    sts = load_transcript(f)
    assert [(s.speaker, s.country, s.start, s.end, s.text) for s in sts] == [
        ("Slovakia", "SVK", 1806.0, None, ""), ("Ms. Anja Novak", None, 1873.5, None, ""),
        ("", None, 0.0, None, "")]


BAD = [
    # (file text, line, message fragment)
    ('[\n  {"speaker": "Slovakia", "start": 1806},\n  {"speaker": "Slovenia", "start": "0:31:13"}\n]',
     3, "statement 1: 'start' is a string \"0:31:13\", not a number of seconds from the video's "
        "start; write e.g. 1865 for 0:31:05"),
    ('{"statements": [\n {"speaker": "A", "start": 1},\n\n {"speaker": "B"}\n]}',
     4, "statement 1: has no 'start'; every statement needs its start"),
    ('[{"speaker": "A", "start": -5}]', 1, "statement 0: 'start' is -5: seconds from the video's start are 0 or more"),
    ('[{"speaker": "A", "start": true}]', 1, "statement 0: 'start' is true, not a number"),
    ('[{"speaker": "A", "start": 60, "end": 30}]', 1, "statement 0: 'end' (30) is before 'start' (60); fix the times"),
    ('[\n{"start": 1},\n{"speaker": "A", "country_iso3": "Slovakia", "start": 2}]', 3,
     "statement 1: 'country_iso3' is 'Slovakia', not an ISO-3 code; write a 3-letter code such as \"SVK\""),
    ('[{"speaker": 7, "start": 1}]', 1, "statement 0: 'speaker' is a number, not a name"),
    ('[{"speaker": "A", "start": 1, "text": ["x"]}]', 1, "statement 0: 'text' is a list, not a string"),
    ('[\n  {"speaker": "A", "start": 1},\n  "B at 2"\n]', 3, "statement 1: is a string, not an object {speaker, country_iso3, start, end, text}"),
    ('[]', 1, "the transcript holds no statements"),
    ('"hello"', 1, "expected a list of statements {speaker, country_iso3, start, end, text} (or an object with a \"statements\" list), got a JSON str"),
    ('{"statements": {"a": 1}}', 1, "got an object with keys statements"),
    ('[\n {"speaker": "A", "start": 1},\n]', 3, "not JSON: "),
    ('{"note": "not \\"statements\\": [ this",\n "statements": [\n  {"start": 1},\n  {"start": null}]}',
     4, "statement 1: 'start' is null, not a number"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD, ids=[b[2][:40] for b in BAD])
def test_malformed_transcripts_name_the_file_line_statement_and_what_to_do(
        tmp_path: Path, text: str, line: int, message: str) -> None:
    f = tmp_path / "transcript.json"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(TranscriptError) as e:
        load_transcript(f, shown="transcript.json")
    assert str(e.value).startswith(f"transcript.json:{line}:"), str(e.value)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(TranscriptError, match=r"^nope\.json: no such file"):
        load_transcript("nope.json")


# --- matching --------------------------------------------------------------------------------

def test_each_post_goes_to_its_speakers_statement_the_state_under_review_by_time() -> None:
    sts = [_st(0, "Mr. A", "USA", 300, 1000), _st(1, "Mr. B", "USA", 1000, 1790),
           _st(2, "Slovakia", None, 1806, 1861),  # no tag: the name is read as a country
           _st(3, "Mr. B", "USA", 3772, 4350), _st(4, "Ms. C", "CAN", 5071, 5126)]
    posts = [PostRef(0, None, -30, "anchor"),
             PostRef(1, "United States of America", 200),   # before the SuR's first statement
             PostRef(2, "United States of America", 1500),  # in its second
             PostRef(3, "Slovakia", 1850),
             PostRef(4, "United States of America", 4500),  # after the reply block ended
             PostRef(5, "Canada", 5060),                     # before Canada spoke (posted early)
             PostRef(6, "Spain", 2190), PostRef(7, None, 13000),
             PostRef(8, "President of the Working Group", 60)]
    res = align(posts, reversed(sts))  # any order in the file
    assert [(m.n, m.to_offset, m.statement.index) for m in res.moves] == [
        (1, 300, 0), (2, 1000, 1), (3, 1806, 2), (4, 3772, 3), (5, 5071, 4)]
    assert [m.delay for m in res.moves] == [-100, 500, 44, 728, -11]
    assert res.median_delay == 44
    assert [(u.n, u.offset) for u in res.unmatched] == [(6, 2190), (7, 13000), (8, 60)]
    assert res.unmatched[0].reason == "no statement by Spain (ESP) in the transcript"
    assert res.unmatched[1].reason.startswith("no speaker")
    assert "not a State uprbuzz knows" in res.unmatched[2].reason


def test_a_statement_split_by_the_transcriber_is_one_and_names_match_non_states() -> None:
    sts = [_st(0, "President", None, 10, 290), _st(1, "Ms. T", "ZAF", 2013, 2047),
           _st(2, "Ms. T", "ZAF", 2047, 2069), _st(3, "Mr. U", "ZAF", 2069, 2100),
           _st(4, "Mr. U", "ZAF", 2200, 2230)]
    res = align([PostRef(1, "South Africa", 2060), PostRef(2, "South Africa", 2090),
                 PostRef(3, "president", 100), PostRef(4, "South Africa", 2210)], sts)
    # 2060 is in the second piece of Ms. T's statement: it moves to the statement's start;
    # a different speaker of the same State is a statement of its own, and so is the same
    # speaker after a pause
    assert [(m.n, m.to_offset) for m in res.moves] == [(1, 2013), (2, 2069), (3, 10), (4, 2200)]
    assert res.statements == 5


def test_median_delay_of_an_even_count_and_of_none() -> None:
    sts = [_st(0, "", "SVK", 100), _st(1, "", "SVN", 200)]
    res = align([PostRef(1, "Slovakia", 130), PostRef(2, "Slovenia", 245)], sts)
    assert res.median_delay == 37.5
    assert align([PostRef(1, "Spain", 5)], sts).median_delay is None


def test_report_json_and_table() -> None:
    sts = [_st(0, "Ms. Anja Novak", "SVN", 1873), _st(1, "", "SVK", 1806)]
    res = align([PostRef(4, "Slovakia", 1850), PostRef(6, "Slovenia", 1915),
                 PostRef(8, "Spain", 2190)], sts)
    data = report(res, session="us-upr-2020", transcript="t.json", stored=False,
                  webtv="https://webtv.un.org/en/schedule/2020-11-09")
    assert data["median_delay"] == 43
    assert data["moved"][0] == {
        "n": 4, "speaker": "Slovakia", "from": "00:30:50", "to": "00:30:06", "from_seconds": 1850,
        "to_seconds": 1806, "delay": 44, "webcast": "https://webtv.un.org/en/schedule/2020-11-09?t=0:30:06",
        "statement": {"index": 1, "speaker": "", "country_iso3": "SVK"}}
    assert data["unmatched"] == [{"n": 8, "speaker": "Spain", "offset": "00:36:30",
                                  "offset_seconds": 2190,
                                  "reason": "no statement by Spain (ESP) in the transcript"}]
    lines = format_report(data).splitlines()
    assert lines[0] == "us-upr-2020: 2 posts aligned to t.json (2 statements); 1 kept its offset."
    assert lines[2:5] == [
        "#  posted        statement  delay  speaker   statement by",
        "4  00:30:50  ->  00:30:06   +44 s  Slovakia  Slovakia (SVK)",
        "6  00:31:55  ->  00:31:13   +42 s  Slovenia  Ms. Anja Novak (SVN)"]
    assert "Operator's median delay: +43 s (the post's offset minus the statement's start, " \
           "over 2 posts)." in lines
    assert lines[-6:-3] == ["", "Kept its offset (no statement of its speaker in the transcript):",
                            "#  offset    speaker  why"]
    assert lines[-3:] == ["8  00:36:30  Spain    no statement by Spain (ESP) in the transcript",
                          "", "Dry run: nothing stored."]


def test_one_of_each_is_said_in_the_singular() -> None:
    res = align([PostRef(4, "Slovakia", 1850)], [_st(0, "", "SVK", 1806)])
    data = report(res, session="s", transcript="t.json", stored=True, webtv="")
    text = format_report(data)
    assert text.splitlines()[0] == "s: 1 post aligned to t.json (1 statement); 0 kept their offset."
    assert "over 1 post)." in text
    assert "1 posts" not in text and "1 statements" not in text


# --- what reads but aligns nothing ---------------------------------------------------------

def test_unknown_codes_and_nameless_statements_are_warned_about_with_their_indexes(
        tmp_path: Path) -> None:
    f = tmp_path / "t.json"
    f.write_text(json.dumps([
        {"speaker": "Slovakia", "country_iso3": "SVK", "start": 10},
        {"speaker": "Ms. A", "country_iso3": "XXX", "start": 20},
        {"speaker": "Mr. B", "country_iso3": "QQQ", "start": 30},
        {"speaker": "Ms. C", "country_iso3": "xxx", "start": 40},
        {"start": 50},                                   # names no one
        {"speaker": None, "country_iso3": "SVN", "start": 60},  # no speaker, a State: fine
    ], indent=1), encoding="utf-8")
    sts = load_transcript(f, shown="t.json")
    assert transcript_warnings(sts, "t.json") == [
        "t.json:7:1: warning: country_iso3 'XXX' is not a State's ISO-3 code (statements 1 and 3): "
        "they match no post; write the State's code (e.g. \"SVK\"), or null to match by the "
        "speaker's name",
        "t.json:12:1: warning: country_iso3 'QQQ' is not a State's ISO-3 code (statement 2): it "
        "matches no post; write the State's code (e.g. \"SVK\"), or null to match by the "
        "speaker's name",
        "t.json:22:1: warning: statement 4 names neither a speaker nor a country_iso3: it matches "
        "no post; give the speaker's name or the State's code"]
    # what the warnings say: XXX aligns nothing; the speaker-less SVN statement matches Slovenia
    res = align([PostRef(1, "Slovakia", 15), PostRef(2, "Slovenia", 70)], sts)
    assert [(m.n, m.statement.index) for m in res.moves] == [(1, 0), (2, 5)]
    assert transcript_warnings(sts[:1], "t.json") == []


# --- one table, one link rule ----------------------------------------------------------------

def test_every_speaker_of_the_sample_session_has_an_iso3_code() -> None:
    session = load_session(SAMPLE)
    codes = {sp.name: iso3(sp.name) for sp in session.speakers}
    assert all(codes.values()), [n for n, c in codes.items() if not c]
    assert len(set(codes.values())) == len(codes)  # no two States share a code
    assert iso3(session.state_under_review) == "USA"
    assert iso3("Cote d'Ivoire") == iso3("Côte d’Ivoire") == "CIV"
    assert iso3("Turkey") == iso3("Türkiye") == iso3("tur") == "TUR"
    assert iso3("the Netherlands") == "NLD" and iso3("Narnia") is None and iso3("") is None
    assert country_name("gbr") == "United Kingdom of Great Britain and Northern Ireland"


def test_webcast_link_sets_t_and_keeps_the_rest() -> None:
    assert webcast_link("https://webtv.un.org/en/schedule/2020-11-09", 1865.9) == \
        "https://webtv.un.org/en/schedule/2020-11-09?t=0:31:05"
    assert webcast_link("https://e.org/v?a=b%20c&t=5#x", 3725) == "https://e.org/v?a=b%20c&t=1:02:05#x"
    assert webcast_link("https://e.org/v", -30) == "https://e.org/v?t=0:00:00"
    assert webcast_link("", 100) == ""
