"""Post files -> Posts: the format, positions of every value, and the file-level checks."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from uprbuzz.config import Config
from uprbuzz.sources.posts.post_parse import default_id, parse_post_bytes
from uprbuzz.sources.posts.when import parse_at

CFG = Config(root=Path("/nonexistent/proj"), timezone="America/New_York", lang="en")


def parse(text: str, rel: str = "posts/review/a.md", config: Config = CFG):
    return parse_post_bytes(textwrap.dedent(text).lstrip("\n").encode(), rel, config)


def codes(diags) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in diags]


def test_full_post_with_thread_media_and_overrides() -> None:
    post, diags = parse("""
        ---
        at: 2020-11-09 08:30
        status: approved
        lang: [en, es]
        tags: ["#UPR36", HumanRights]
        link: https://webtv.un.org/en/schedule/2020-11-09
        media:
          - path: media/a.png
            alt: Four clocks
        x:
          text: Short for X
          media: [{path: media/b.png, alt: B}]
        bluesky:
          skip: true
        ---
        First part

        ---
        Second part
        ![A photo of the hall](media/c.jpg)
        ---
        Third
        """)
    assert diags == []
    assert post.id == "review/a"
    assert post.at == datetime(2020, 11, 9, 13, 30, tzinfo=UTC)
    assert post.at.utcoffset().total_seconds() == -5 * 3600
    assert post.status == "approved" and post.langs == ("en", "es")
    assert post.tags == ("UPR36", "HumanRights")
    assert [p.text for p in post.parts] == ["First part", "Second part", "Third"]
    assert [p.loc.line for p in post.parts] == [16, 19, 22]
    assert post.parts[0].media[0].path == "media/a.png" and post.parts[0].media[0].loc.line == 8
    assert post.parts[1].media[0].alt == "A photo of the hall"
    assert post.parts[1].media[0].loc.line == 20
    assert post.targets == ("x",)
    x = post.parts_for("x")
    assert [p.text for p in x] == ["Short for X"] and x[0].media[0].path == "media/b.png"
    assert x[0].loc.line == 11


def test_default_id_is_path_under_posts_and_stable_when_text_changes() -> None:
    a, _ = parse("---\nstatus: draft\n---\nOne\n", rel="posts/x/y.md")
    b, _ = parse("---\nstatus: draft\n---\nTwo\n", rel="posts/x/y.md")
    assert a.id == b.id == "x/y" == default_id(CFG, "posts/x/y.md")
    assert a.content_hash() != b.content_hash()


def test_defaults_come_from_config() -> None:
    cfg = Config(root=Path("/p"), timezone="Europe/Zurich", lang="fr")
    post, diags = parse("---\nat: 2020-11-09 14:30\n---\nBonjour\n", config=cfg)
    assert not diags and post.langs == ("fr",) and post.status == "draft"
    assert post.at.astimezone(UTC).hour == 13
    assert post.platforms == cfg.platforms


@pytest.mark.parametrize("text, code, line", [
    ("---\nat: 2020-11-09 14:30\nstauts: approved\n---\nHi\n", "unknown-key", 3),
    ("---\nstatus: aproved\n---\nHi\n", "bad-status", 2),
    ("---\nat: [1, 2]\n---\nHi\n", "wrong-type", 2),
    ("---\nat: 2020-11-09\n---\nHi\n", "bad-time", 2),
    ("---\nat: soon\n---\nHi\n", "bad-time", 2),
    ("---\nstatus: draft\ntags: {a: 1}\n---\nHi\n", "wrong-type", 3),
    ("---\nplatforms: [x, myspace]\n---\nHi\n", "unknown-platform", 2),
    ("---\ntz: Europe/Zurik\n---\nHi\n", "unknown-zone", 2),
    ("---\nlang: english please\n---\nHi\n", "bad-lang", 2),
    ("---\nlink: not a url\n---\nHi\n", "bad-link", 2),
    ("---\nstatus: draft\nstatus: approved\n---\nHi\n", "duplicate-key", 3),
    ("---\nstatus: draft\n---\n\n\n", "empty-post", 3),
    ("---\nstatus: draft\n---\nOne\n---\n---\nThree\n", "empty-part", 5),
    ("---\nstatus: draft\n---\nOne\n---\n", "empty-part", 5),
    ("No front matter here\n", "no-front-matter", 1),
    ("---\nstatus: draft\nNo closing line\n", "front-matter-unclosed", 1),
    ("---\nstatus: draft\nat: [unclosed\n---\nHi\n", "yaml-syntax", 4),
    ("---\nmedia:\n  - {path: media/a.png, atl: x}\n---\nHi\n", "unknown-key", 3),
    ("---\nx:\n  skp: true\n---\nHi\n", "unknown-key", 3),
    ("---\ncard: {template: countdwn}\n---\nHi\n", "card-template", 2),
])
def test_file_level_problems_point_at_their_line(text: str, code: str, line: int) -> None:
    _, diags = parse(text)
    assert (code, line) in codes(diags), diags
    assert all(d.severity == "error" for d in diags if d.code == code)


def test_did_you_mean() -> None:
    _, diags = parse("---\nstauts: approved\n---\nHi\n")
    assert "did you mean 'status'" in diags[0].message
    assert str(diags[0]).startswith("posts/review/a.md:2:1: error: unknown key 'stauts'")


def test_nonexistent_and_ambiguous_local_times() -> None:
    # 2020-03-08 02:30 does not exist in New York (spring forward); 2020-11-01 01:30 happens twice.
    _, gap = parse("---\nat: 2020-03-08 02:30\n---\nHi\n")
    assert codes(gap) == [("nonexistent-time", 2)] and "does not exist" in gap[0].message
    _, fold = parse("---\nat: 2020-11-01 01:30\n---\nHi\n")
    assert codes(fold) == [("ambiguous-time", 2)]
    assert "2020-11-01T01:30-04:00" in fold[0].message and "2020-11-01T01:30-05:00" in fold[0].message
    # in Geneva the change is a week earlier: same wall time is fine there
    post, ok = parse("---\nat: 2020-11-01 01:30\ntz: Europe/Zurich\n---\nHi\n")
    assert ok == [] and post.at.utcoffset().total_seconds() == 3600
    # an explicit offset disambiguates
    post, ok = parse("---\nat: 2020-11-01T01:30:00-05:00\n---\nHi\n")
    assert ok == [] and post.at.astimezone(UTC).hour == 6


def test_offset_disagreeing_with_tz_warns() -> None:
    post, diags = parse("---\nat: 2020-11-09T14:30:00+02:00\ntz: Europe/Zurich\n---\nHi\n")
    assert codes(diags) == [("offset-mismatch", 2)] and diags[0].severity == "warning"
    assert post.at.astimezone(UTC).hour == 12


def test_parse_at_round_trips_every_quarter_hour_of_a_dst_day() -> None:
    # every wall time either maps to exactly one instant that reads back the same, or is refused
    for h in range(24):
        for m in (0, 15, 30, 45):
            dt, problem = parse_at(f"2020-11-01 {h:02d}:{m:02d}", "America/New_York")
            if h == 1:
                assert problem and problem[0] == "ambiguous-time"
            else:
                assert problem is None and (dt.hour, dt.minute) == (h, m)


def test_crlf_bom_and_non_utf8() -> None:
    post, diags = parse_post_bytes(b"\xef\xbb\xbf---\r\nstatus: draft\r\n---\r\nHi\r\nthere\r\n",
                                   "posts/a.md", CFG)
    assert diags == [] and post.parts[0].text == "Hi\nthere"
    _, bad = parse_post_bytes(b"---\nstatus: draft\n---\nline\ncaf\xe9\n", "posts/a.md", CFG)
    assert codes(bad) == [("encoding", 5)]


def test_yaml_timestamps_stay_local() -> None:
    # YAML would turn this into UTC by itself; we keep the offset as written
    post, diags = parse("---\nat: 2020-11-09 14:30:00+01:00\n---\nHi\n")
    assert diags == [] and post.at.isoformat() == "2020-11-09T14:30:00+01:00"


def test_decorative_and_string_media_entries() -> None:
    post, diags = parse("""
        ---
        media:
          - {path: media/rule.png, alt: "", decorative: true}
          - media/plain.png
        ---
        Text
        """)
    assert diags == []
    m = post.parts[0].media
    assert m[0].decorative and m[0].alt == "" and m[1].path == "media/plain.png" and m[1].alt == ""


def test_override_for_a_platform_not_targeted_warns() -> None:
    _, diags = parse("---\nplatforms: [bluesky]\nx:\n  text: hi\n---\nHi\n")
    assert codes(diags) == [("unused-override", 3)] and diags[0].severity == "warning"


def test_card_block() -> None:
    post, diags = parse("---\ncard:\n  template: countdown\n  days: 7\n  alt: Seven days\n---\nHi\n")
    assert diags == [] and post.card.template == "countdown"
    assert post.card.fields == {"days": "7"} and post.card.alt == "Seven days"


def test_the_documented_full_example_parses_cleanly() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "post-format.md").read_text()
    example = doc.split("```markdown\n", 1)[1].split("```\n", 1)[0]
    post, diags = parse_post_bytes(example.encode(), "posts/review/watch-live.md", CFG)
    assert diags == [], diags
    assert post.id == "review/watch-live" and len(post.parts) == 2
    assert post.parts[1].media[0].path == "media/hall.jpg"
    assert post.parts_for("x")[0].text.startswith("Today the UN reviews")
