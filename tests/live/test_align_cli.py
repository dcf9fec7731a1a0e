"""`uprbuzz live align` end to end on SQLite and PostgreSQL: a session covered through the live
console (posts sent to the recording platforms, offsets from a fixed clock), aligned to the
fixture transcript (tests/live/data/us-upr-2020-transcript.json); then the stored alignment, a
re-run, a new transcript, a dry run, the recap, and errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.live.conftest import SAMPLE
from tests.live.fakes import FakePlatform
from tests.waiting import wait_for
from uprbuzz.cli import main
from uprbuzz.config import load_config
from uprbuzz.live.console import LiveConsole
from uprbuzz.live.recap import recap_rows, to_csv, to_markdown
from uprbuzz.live.session_file import load_session
from uprbuzz.store import Store
from uprbuzz.store.live_tables import LiveStore

DATA = Path(__file__).parent / "data" / "us-upr-2020-transcript.json"
START = datetime(2020, 11, 9, 13, 30, tzinfo=UTC)  # 14:30 in Geneva: the broadcast's 00:00:00
WEBTV = "https://webtv.un.org/en/schedule/2020-11-09"

# (n, broadcast offset, what is posted, the speaker the console predicts, the statement's start
# in the fixture transcript or None: no statement of that speaker)
POSTS: list[tuple[int, int, str, str | None, int | None]] = [
    (1, 60, "The meeting opens: the UPR of the United States. #UPR36",
     "President of the Working Group", None),        # "President" in the transcript: not the same name
    (2, 700, "The US delegation presents its report. #UPR36", "United States of America", 305),
    (3, 1500, "Destro answers the advance questions. #UPR36", "United States of America", 1010),
    (4, 1850, "Slovakia: abolish the death penalty. #UPR36", "Slovakia", 1806),
    (5, 1855, "card", "Slovakia", 1806),
    (6, 1915, "Slovenia: ratify the CRC. #UPR36", "Slovenia", 1873),
    (7, 2060, "South Africa: racial discrimination in policing. #UPR36", "South Africa", 2013),
    (8, 2190, "Spain asks about migrants' rights. #UPR36", "Spain", None),   # not in the transcript
    (9, 3800, "The US replies to the first States. #UPR36", "United States of America", 3772),
    (10, 5100, "Canada: systemic racism in law enforcement. #UPR36", "Canada", 5071),
    (11, 6500, "The US on the death penalty. #UPR36", "United States of America", 6400),
    (12, 11700, "The US closes its review. #UPR36", "United States of America", 11600),
    (13, 13000, "Thank you for following the review. #UPR36", None, None),  # after the end
]
MATCHED = {n: (off, start) for n, off, _, _, start in POSTS if start is not None}
UNMATCHED = [n for n, *_, start in POSTS if start is None]
# delays (offset - start): 395 490 44 49 42 47 28 29 100 100 -> median (47 + 49) / 2
MEDIAN = 48.0


def _t(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass
class Covered:
    root: Path
    store: Store
    console: LiveConsole

    def align(self, *args: str) -> Any:
        return CliRunner().invoke(main, ["-C", str(self.root), "live", "align", "us-upr-2020",
                                         *args], catch_exceptions=False)

    def rows(self) -> dict[int, tuple[float | None, float | None, str | None]]:
        return {p.n: (p.offset, p.aligned_offset, p.aligned_speaker)
                for p in LiveStore(self.store.db).posts("us-upr-2020")}


@pytest.fixture
def covered(tmp_path: Path, store_url: str) -> Iterator[Covered]:
    """The sample session covered by the live console: the posts of POSTS, sent."""
    from uprbuzz.clock import FixedClock
    from uprbuzz.publish.publisher import Publisher

    (tmp_path / "uprbuzz.toml").write_text(f'[project]\nname = "t"\nstate = "{store_url}"\n',
                                           encoding="utf-8")
    (tmp_path / "schedules").mkdir()
    shutil.copy(SAMPLE, tmp_path / "schedules" / "us-upr-2020.toml")
    config = load_config(tmp_path)
    store = Store.open(config)
    fakes = {"x": FakePlatform("x"), "bluesky": FakePlatform("bluesky")}
    wall = FixedClock(START)
    con = LiveConsole(config, store, load_session(tmp_path / "schedules" / "us-upr-2020.toml"),
                      clock=wall, retry_cap=0.2, publisher_factory=lambda name: Publisher(
                          config, store, platforms=fakes, sleep=lambda s: None,
                          backoff_base=0.01, max_attempts=2))
    try:
        con.start()
        for n, off, text, speaker, _ in POSTS:
            wall.advance(START + timedelta(seconds=off) - wall.now())
            lp = (con.submit_card("Slovakia", "26.46", "Abolish the death penalty at the federal "
                                  "level") if text == "card" else con.submit(text))
            assert (lp.n, lp.offset, lp.speaker) == (n, off, speaker)
        wait_for(lambda: all(p.state == "sent" for p in con.store.posts(con.key)), timeout=60,
                 what="every post sent")
        yield Covered(tmp_path, store, con)
    finally:
        con.stop()
        store.close()


def test_align_moves_every_post_to_its_speakers_statement(covered: Covered) -> None:
    r = covered.align(str(DATA), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    moved = {m["n"]: m for m in data["moved"]}
    assert sorted(moved) == sorted(MATCHED)
    for n, (off, start) in MATCHED.items():
        m = moved[n]
        assert (m["from_seconds"], m["to_seconds"], m["delay"]) == (off, start, off - start), n
        assert m["webcast"] == f"{WEBTV}?t={_t(start)}"
    assert moved[3]["statement"] == {"index": 2, "speaker": "Mr. Robert Destro", "country_iso3": "USA"}
    assert moved[7]["statement"]["index"] == 6  # the split statement's first piece
    assert data["median_delay"] == MEDIAN
    assert [(u["n"], u["offset_seconds"]) for u in data["unmatched"]] == [
        (n, off) for n, off, *_ in POSTS if n in UNMATCHED]
    reasons = {u["n"]: u["reason"] for u in data["unmatched"]}
    assert reasons[8] == "no statement by Spain (ESP) in the transcript"
    assert reasons[13].startswith("no speaker")
    assert data["stored"] is True and data["statements"] == 12

    rows = covered.rows()
    for n, off, _, speaker, start in POSTS:
        if start is None:  # unknown speakers keep their offset and get no alignment
            assert rows[n] == (off, None, None), n
        else:
            assert rows[n] == (off, start, speaker), n
    assert rows[0][1:] == (None, None)  # the anchor is left as it is

    # The same transcript again: the same answer, nothing written.
    again = covered.align(str(DATA), "--json")
    assert json.loads(again.output) == data
    assert covered.rows() == rows
    assert LiveStore(covered.store.db).set_alignment(
        "us-upr-2020", {m["n"]: (m["to_seconds"], m["speaker"]) for m in data["moved"]}) == 0

    # A new transcript replaces the old alignment: Slovakia later, Canada missing.
    statements = json.loads(DATA.read_text(encoding="utf-8"))["statements"]
    statements[3]["start"] = 1810
    statements = [s for s in statements if s["country_iso3"] != "CAN"]
    newer = covered.root / "transcript-v2.json"
    newer.write_text(json.dumps(statements), encoding="utf-8")
    r = covered.align(str(newer), "--json")
    assert r.exit_code == 0, r.output
    rows2 = covered.rows()
    assert rows2[4] == (1850, 1810, "Slovakia") and rows2[5] == (1855, 1810, "Slovakia")
    assert rows2[10] == (5100, None, None)  # its statement is gone: back to the console's time
    assert 10 in [u["n"] for u in json.loads(r.output)["unmatched"]]


def test_dry_run_table_and_the_recap_with_aligned_times(covered: Covered) -> None:
    r = covered.align(str(DATA), "--dry-run")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == (f"us-upr-2020: 10 posts aligned to {DATA} (12 statements); "
                        "3 kept their offset.")
    assert " ".join(lines[3].split()) == "2 00:11:40 -> 00:05:05 +395 s United States of America " \
                                         "Mr. Andrew Bremberg (USA)"
    assert " ".join(lines[5].split()) == "4 00:30:50 -> 00:30:06 +44 s Slovakia Slovakia (SVK)"
    assert ("Operator's median delay: +48 s (the post's offset minus the statement's start, "
            "over 10 posts).") in lines
    assert " ".join(lines[-3].split()) == "13 03:36:40 - no speaker (posted outside the " \
                                          "session's timeline)"
    assert lines[-1] == "Dry run: nothing stored."
    assert all(a is None for _, a, _ in covered.rows().values())
    before = recap_rows(covered.store, covered.console.session)
    assert not any(row["aligned"] for row in before)

    assert covered.align(str(DATA)).output.splitlines()[-1].startswith("Stored:")
    rows = recap_rows(covered.store, covered.console.session)
    by_n = {row["n"]: row for row in rows}
    for n, off, _, _, start in POSTS:
        row = by_n[n]
        shown = start if start is not None else off
        assert row["offset"] == f"{shown // 3600:02d}:{shown % 3600 // 60:02d}:{shown % 60:02d}"
        assert row["webcast_url"] == f"{WEBTV}?t={_t(shown)}"
        assert row["aligned"] == ("transcript" if start is not None else "")
        assert row["posted_offset"] == by_n[n]["posted_offset"]
    assert by_n[3]["posted_offset"] == "00:25:00" and by_n[3]["offset"] == "00:16:50"
    assert by_n[2]["x_url"].startswith("https://x.test/")  # the channels' links stay
    # in broadcast order by the shown (aligned or kept) times, the anchor first
    assert [row["n"] for row in rows] == list(range(14))
    assert [row["_off"] for row in rows[1:]] == sorted(row["_off"] for row in rows[1:])

    md = to_markdown(rows, covered.console.session)
    assert "10 of 14 posts are aligned to the transcript: shown at the start of their speaker's " \
           "statement, the time they were posted beside them." in md
    assert "**00:30:06** (text; aligned to the transcript, posted at 00:30:50)" in md
    assert "**00:30:06** (recommendation 26.46; aligned to the transcript, posted at 00:30:55)" in md
    assert f"[webcast]({WEBTV}?t=0:30:06) at 00:30:06" in md
    assert "**00:36:30** (text)" in md  # Spain: kept
    csv_text = to_csv(rows)
    assert csv_text.splitlines()[0].endswith("webcast_url,webcast_at,state,posted_offset,aligned")

    r = CliRunner().invoke(main, ["-C", str(covered.root), "recap", "us-upr-2020"])
    assert r.exit_code == 0, r.output
    assert "aligned to the transcript, posted at 01:25:00" in r.output  # Canada


BAD_CLI = [
    ('[\n  {"speaker": "Slovakia", "country_iso3": "SVK", "start": 1806},\n'
     '  {"speaker": "Slovenia", "country_iso3": "SVN", "start": "0:31:13"}\n]',
     "bad.json:3:1: statement 1: 'start' is a string \"0:31:13\", not a number of seconds"),
    ('{"statements": [{"speaker": "A", "start": 1}, {"speaker": "B", "start": 2, "end": 1}]}',
     "bad.json:1:1: statement 1: 'end' (1) is before 'start' (2); fix the times"),
    ('{"speaker": "A", "start": 1}', "bad.json:1:1: expected a list of statements"),
    ("", "bad.json:1:1: not JSON: Expecting value"),
]


@pytest.mark.parametrize(("text", "line"), BAD_CLI, ids=["start", "end", "shape", "empty"])
def test_a_malformed_transcript_is_one_line_exit_2(tmp_path: Path, text: str, line: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "t"\n', encoding="utf-8")
    (tmp_path / "schedules").mkdir()
    shutil.copy(SAMPLE, tmp_path / "schedules" / "us-upr-2020.toml")
    (tmp_path / "bad.json").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "live", "align", "us-upr-2020", "bad.json"])
    assert r.exit_code == 2, r.output
    assert r.output.startswith(f"uprbuzz: {line}"), r.output
    assert r.output.count("\n") == 1 and "Traceback" not in r.output


def test_the_console_script_too(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "t"\n', encoding="utf-8")
    (tmp_path / "schedules").mkdir()
    shutil.copy(SAMPLE, tmp_path / "schedules" / "us-upr-2020.toml")
    (tmp_path / "t.json").write_text('[{"speaker": "A", "start": "soon"}]', encoding="utf-8")
    exe = Path(sys.executable).parent / "uprbuzz"
    r = subprocess.run([str(exe), "live", "align", "us-upr-2020", "t.json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("uprbuzz: t.json:1:1: statement 0: 'start' is a string \"soon\"")
    assert r.stderr.count("\n") == 1


def test_nothing_to_align_says_so(tmp_path: Path) -> None:
    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "t"\n', encoding="utf-8")
    (tmp_path / "schedules").mkdir()
    shutil.copy(SAMPLE, tmp_path / "schedules" / "us-upr-2020.toml")
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "live", "align", "us-upr-2020", str(DATA)])
    assert r.exit_code == 2 and "nothing was covered, nothing to align" in r.output
    Store.open(load_config(tmp_path)).close()  # an empty ledger
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "live", "align", "us-upr-2020", str(DATA),
                                  "--key", "us-upr-2020~rehearsal-x"])
    assert r.exit_code == 2
    assert "no live posts under 'us-upr-2020~rehearsal-x': nothing to align" in r.output
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "live", "align", "us-upr-2020",
                                  str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and f"{tmp_path / 'missing.json'}: no such file" in r.output


def test_a_transcript_with_unknown_codes_warns_on_stderr_and_in_json(covered: Covered) -> None:
    odd = json.loads(DATA.read_text(encoding="utf-8"))
    sts = odd["statements"] if isinstance(odd, dict) else odd
    slovakia = next(i for i, s in enumerate(sts) if s.get("country_iso3") == "SVK")
    sts[slovakia]["country_iso3"] = "XXX"  # not a State's code: Slovakia's posts stay put
    f = covered.root / "odd.json"
    f.write_text(json.dumps(odd, indent=1), encoding="utf-8")
    r = covered.align(str(f), "--json", "--dry-run")
    assert r.exit_code == 0, r.output
    warning = (f"{f}:{_line_of(f, slovakia)}:1: warning: country_iso3 'XXX' is not a State's "
               f"ISO-3 code (statement {slovakia}): it matches no post;")
    assert r.stderr.startswith(warning) and r.stderr.count("\n") == 1, r.stderr
    data = json.loads(r.stdout)
    assert len(data["warnings"]) == 1 and data["warnings"][0].startswith(warning)
    assert {u["n"] for u in data["unmatched"]} == {*UNMATCHED, 4, 5}  # the two Slovakia posts
    r = covered.align(str(DATA), "--dry-run")  # the fixture itself: nothing to warn about
    assert r.exit_code == 0 and r.stderr == "", r.stderr


def _line_of(path: Path, index: int) -> int:
    from uprbuzz.live.align import load_transcript

    return load_transcript(path)[index].line


def test_an_unknown_session_lists_only_live_sessions_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "t"\n', encoding="utf-8")
    (tmp_path / "schedules").mkdir()
    shutil.copy(SAMPLE, tmp_path / "schedules" / "us-upr-2020.toml")
    repo_schedules = Path(__file__).parents[2] / "schedules"
    for campaign in ("awareness.toml", "countdown.toml"):  # campaigns share the folder
        shutil.copy(repo_schedules / campaign, tmp_path / "schedules" / campaign)
    for args in (["align", "nosuch", str(DATA)], ["who", "nosuch", "--at", "00:10:00"]):
        r = CliRunner().invoke(main, ["-C", str(tmp_path), "live", *args])
        assert r.exit_code == 2, r.output
        assert r.output.endswith("; sessions here: us-upr-2020\n"), r.output
        assert r.output.count("\n") == 1 and "Traceback" not in r.output
