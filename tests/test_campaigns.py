from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from uprbuzz.config import Config
from uprbuzz.platforms.text_measure import bluesky_count, x_length
from uprbuzz.sources.campaigns.campaign_posts import load_campaigns

ROOT = Path(__file__).resolve().parent.parent
NY = ZoneInfo("America/New_York")


def project(tmp_path: Path, files: dict[str, str], tz: str = "America/New_York") -> Config:
    (tmp_path / "schedules").mkdir(exist_ok=True)
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return Config(root=tmp_path, timezone=tz)


def test_sixty_days_across_the_us_dst_change(tmp_path: Path) -> None:
    cfg = project(tmp_path, {"schedules/fall.toml": """
[campaign]
name = "fall"
start = 2020-10-15
end = 2020-12-13
status = "approved"

[[rule]]
every = "daily 09:00"
text = "Day {date} at {time}"
"""})
    out = load_campaigns(cfg)
    assert out.diagnostics == []
    posts = out.posts
    # Expected independently: every calendar day of the window, 09:00 EDT (13:00Z) before the
    # 1 Nov 2020 change, 09:00 EST (14:00Z) from it on.
    day, expected = date(2020, 10, 15), []
    while day <= date(2020, 12, 13):
        utc_hour = 13 if day < date(2020, 11, 1) else 14
        expected.append((f"fall/{day.isoformat()}",
                         datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)))
        day += timedelta(days=1)
    assert len(expected) == 60
    assert [(p.id, p.at) for p in posts] == expected
    assert all(p.at.astimezone(NY).strftime("%H:%M") == "09:00" for p in posts)
    assert all(p.status == "approved" and p.origin == "campaign" for p in posts)
    nov2 = next(p for p in posts if p.id == "fall/2020-11-02")
    assert nov2.parts[0].text == "Day 2 November 2020 at 09:00"
    assert nov2.at.utcoffset() == timedelta(hours=-5)
    # deterministic: a second load gives identical posts
    assert load_campaigns(cfg).posts == posts


def test_several_rules_use_time_ids_and_weekday_filters(tmp_path: Path) -> None:
    cfg = project(tmp_path, {"schedules/two.toml": """
[campaign]
start = 2020-10-26
end = 2020-11-08

[[rule]]
every = "weekdays 12:30"
text = "lunch"

[[rule]]
every = "mon,wed,fri 18:00"
text = "evening"
"""})
    out = load_campaigns(cfg)
    assert not out.diagnostics
    ids = [p.id for p in out.posts]
    assert "two/2020-10-26T1230" in ids and "two/2020-10-26T1800" in ids
    assert "two/2020-10-27T1800" not in ids  # Tuesday
    assert not any(i.startswith("two/2020-10-31") for i in ids)  # Saturday
    assert len([i for i in ids if i.endswith("T1230")]) == 10
    assert len([i for i in ids if i.endswith("T1800")]) == 6
    assert all(p.at.astimezone(NY).strftime("%H:%M") in ("12:30", "18:00") for p in out.posts)


def test_spring_gap_moves_forward_with_warning_and_overlap_takes_first(tmp_path: Path) -> None:
    cfg = project(tmp_path, {
        "schedules/spring.toml": """
[campaign]
start = 2021-03-13
end = 2021-03-15

[[rule]]
every = "daily 02:30"
text = "night owl"
""",
        "schedules/autumn.toml": """
[campaign]
start = 2020-11-01
end = 2020-11-01

[[rule]]
every = "daily 01:30"
text = "twice?"
"""})
    out = load_campaigns(cfg)
    by_id = {p.id: p for p in out.posts}
    gap = by_id["spring/2021-03-14"]
    assert gap.at.astimezone(NY).strftime("%H:%M") == "03:30"
    assert gap.at.astimezone(UTC).hour == 7
    warns = [d for d in out.diagnostics if d.severity == "warning"]
    assert len(warns) == 1 and "does not exist" in warns[0].message
    assert warns[0].path == "schedules/spring.toml" and warns[0].line == 7
    # 01:30 on 1 Nov 2020 happens twice in New York; the first is EDT (05:30Z)
    assert by_id["autumn/2020-11-01"].at.astimezone(UTC).hour == 5
    assert by_id["spring/2021-03-13"].at.astimezone(NY).strftime("%H:%M") == "02:30"


@pytest.mark.parametrize("order", ["listed", "shuffled"])
def test_rotation_spends_the_pool_before_repeating(tmp_path: Path, order: str) -> None:
    msgs = [f"fact number {i}" for i in range(6)]
    body = "\n".join(f'  "{m}",' for m in msgs)
    cfg = project(tmp_path, {"schedules/facts.toml": f"""
[campaign]
start = 2020-10-01
end = 2020-10-20

[[rule]]
every = "daily 10:00"
order = "{order}"
messages = [
{body}
]
"""})
    posts = load_campaigns(cfg).posts
    texts = [p.parts[0].text for p in posts]
    assert len(texts) == 20
    for cycle in range(3):
        chunk = texts[cycle * 6:(cycle + 1) * 6]
        assert sorted(chunk) == sorted(msgs), chunk
    assert sorted(texts[18:]) == sorted(set(texts[18:]))
    assert all(a != b for a, b in zip(texts, texts[1:], strict=False))
    if order == "listed":
        assert texts[:6] == msgs
    # stable: the same file gives the same assignment
    assert [p.parts[0].text for p in load_campaigns(cfg).posts] == texts


def test_rotation_from_pool_files_with_variants(tmp_path: Path) -> None:
    cfg = project(tmp_path, {
        "schedules/pool.toml": """
[campaign]
start = 2020-10-05
end = 2020-10-09

[[rule]]
every = "weekdays 09:00"
pool = "schedules/pool/*.md"
""",
        "schedules/pool/a.md": "---\nx:\n  text: short for X\n---\nFirst message\n---\nsecond part\n",
        "schedules/pool/b.md": "Second message\n",
    })
    out = load_campaigns(cfg)
    assert not out.diagnostics
    p = out.posts
    assert [q.parts[0].text for q in p] == ["First message", "Second message"] * 2 + ["First message"]
    assert [pt.text for pt in p[0].parts] == ["First message", "second part"]
    assert p[0].parts_for("x")[0].text == "short for X"
    assert p[0].parts_for("bluesky")[0].text == "First message"


def test_countdown_text_zones_card_and_stop_at_event(tmp_path: Path) -> None:
    cfg = project(tmp_path, {"schedules/cd.toml": """
[campaign]
start = 2020-10-30
end = 2020-11-20
tz = "Europe/Zurich"
status = "approved"

[[rule]]
every = "daily 09:00"
event = "2020-11-09 14:30"
event_tz = "Europe/Zurich"
text = "{days} {days_label} to go: {event_time} Geneva / {time:America/New_York} ET / {time:America/Chicago} CT / {time:America/Los_Angeles} PT ({event_date})"
today = "Today at {event_time} Geneva"
x.text = "X: {days}"
bluesky.skip = true
card = { template = "countdown", days = "{days}", alt = "{days} days" }
"""}, tz="UTC")
    out = load_campaigns(cfg)
    assert not out.diagnostics
    ids = [p.id for p in out.posts]
    assert ids[0] == "cd/2020-10-30" and ids[-1] == "cd/2020-11-09"  # stops at the event
    assert len(ids) == 11
    first = out.posts[0]
    assert first.parts[0].text == ("10 days to go: 14:30 Geneva / 08:30 ET / 07:30 CT / 05:30 PT "
                                   "(9 November 2020)")
    assert first.parts_for("x")[0].text == "X: 10"
    assert first.parts_for("bluesky") is None and first.targets == ("x",)
    assert first.card is not None and first.card.template == "countdown"
    assert dict(first.card.fields) == {"days": "10"} and first.card.alt == "10 days"
    eve = next(p for p in out.posts if p.id == "cd/2020-11-08")
    assert eve.parts[0].text.startswith("1 day to go")
    assert out.posts[-1].parts[0].text == "Today at 14:30 Geneva"
    assert out.posts[-1].at == datetime(2020, 11, 9, 8, 0, tzinfo=UTC)


def test_fixed_annual_and_one_off_dates(tmp_path: Path) -> None:
    cfg = project(tmp_path, {"schedules/days.toml": """
[campaign]
start = 2019-11-01
end = 2021-03-01
tz = "Europe/Zurich"

[[rule]]
dates = ["12-10", "02-29", "2020-11-13"]
time = "10:00"
text = "{weekday} {date}"
"""})
    out = load_campaigns(cfg)
    assert not out.diagnostics
    assert [p.id for p in out.posts] == [
        "days/2019-12-10", "days/2020-02-29", "days/2020-11-13", "days/2020-12-10"]
    assert out.posts[-1].parts[0].text == "Thursday 10 December 2020"
    assert out.posts[-1].at == datetime(2020, 12, 10, 9, 0, tzinfo=UTC)
    assert out.posts[0].status == "draft"  # the safe default


def _diag(tmp_path: Path, text: str) -> list[str]:
    cfg = project(tmp_path, {"schedules/bad.toml": text})
    out = load_campaigns(cfg)
    assert out.posts == [] or all(d.severity == "error" for d in out.diagnostics)
    return [str(d) for d in out.diagnostics]


def test_toml_syntax_error_has_line(tmp_path: Path) -> None:
    d = _diag(tmp_path, '[campaign]\nstart = 2020-10-01\nend = 2020-10-02\nname = "x\n')
    assert len(d) == 1 and d[0].startswith("schedules/bad.toml:4:") and "TOML syntax" in d[0]


def test_unknown_keys_suggest(tmp_path: Path) -> None:
    d = _diag(tmp_path, """[campaign]
start = 2020-10-01
end = 2020-10-02
platfroms = ["x"]

[[rule]]
every = "daily 09:00"
txt = "hello"
""")
    assert any(s.startswith("schedules/bad.toml:4:") and "did you mean 'platforms'" in s for s in d)
    assert any(s.startswith("schedules/bad.toml:8:") and "did you mean 'text'" in s for s in d)


@pytest.mark.parametrize("rule,line,words", [
    ('every = "dialy 09:00"\ntext = "a"', 7, "unknown day"),
    ('text = "a"\nevery = "daily 9h"', 8, "not a time"),
    ('every = "daily 09:00"\ntext = "{days} left"', 8, "needs an event"),
    ('every = "daily 09:00"\ntext = "{dayz} left"', 8, "unknown placeholder"),
    ('dates = ["13-40"]\ntime = "09:00"\ntext = "a"', 7, "not a valid date"),
    ('every = "daily 09:00"', 6, "exactly one of"),
])
def test_bad_rules_point_at_their_line(tmp_path: Path, rule: str, line: int, words: str) -> None:
    d = _diag(tmp_path, f"[campaign]\nstart = 2020-10-01\nend = 2020-10-02\n\n# rules\n[[rule]]\n{rule}\n")
    assert len(d) == 1, d
    assert d[0].startswith(f"schedules/bad.toml:{line}:") and words in d[0], d


def test_files_without_campaign_table_are_ignored(tmp_path: Path) -> None:
    cfg = project(tmp_path, {
        "schedules/us-2020.toml": '[session]\nname = "US"\n[[speaker]]\nstate = "Slovakia"\n',
        "schedules/broken-session.toml": '[session\nname = "x"\n',
    })
    out = load_campaigns(cfg)
    assert out.posts == [] and out.diagnostics == []


def test_sample_campaigns_load_cleanly() -> None:
    cfg = Config(root=ROOT, timezone="America/New_York")
    out = load_campaigns(cfg)
    assert out.diagnostics == []
    ids = {p.id for p in out.posts}
    assert "countdown/2020-11-01" in ids and "countdown/2020-11-09" in ids
    assert "human-rights-day/2020-12-10" in ids
    cd = next(p for p in out.posts if p.id == "countdown/2020-11-01")
    assert cd.at == datetime(2020, 11, 1, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert "8 days" in cd.parts[0].text and "08:30 ET" in cd.parts[0].text
    from uprbuzz.checks.card_fields import card_problem

    for p in out.posts:  # every occurrence's card would render on its day
        if p.card is not None:
            assert card_problem(p.card, p.at.astimezone(cfg.zone).date()) is None, p.id
    for p in out.posts:
        for plat, count in (("x", x_length), ("bluesky", bluesky_count)):
            for part in p.parts_for(plat) or ():
                assert count(part.text).valid, (p.id, plat, part.text)
