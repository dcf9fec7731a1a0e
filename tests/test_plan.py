"""`uprbuzz plan`: time order across zones, DST, per-day totals in the project zone, drafts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from tests.fixtures.queue import SAMPLE_NOW
from uprbuzz.cli import main
from uprbuzz.config import load_config
from uprbuzz.schedule.plan import build_plan
from uprbuzz.store import Store

POSTS = {
    # written in three zones; in time order: geneva (13:30Z) < ny (13:45Z) < la (14:00Z)
    "la.md": "---\nat: 2020-11-09 06:00\ntz: America/Los_Angeles\nstatus: approved\n---\nLA\n",
    "geneva.md": "---\nat: 2020-11-09 14:30\ntz: Europe/Zurich\nstatus: approved\n---\nGeneva\n",
    "ny.md": "---\nat: 2020-11-09T08:45:00-05:00\nstatus: approved\n---\nNew York\n",
    # 23:30 in New York is already the next day in UTC: it counts on the 9th (project zone)
    "late.md": "---\nat: 2020-11-09 23:30\nstatus: approved\nplatforms: [bluesky]\n---\nLate\n",
    "draft.md": "---\nat: 2020-11-09 10:00\nstatus: draft\n---\nDraft\n---\nPart two\n",
    "thread.md": ("---\nat: 2020-11-10 09:00\nstatus: approved\nx:\n  text: One part on X\n---\n"
                  "One\n---\nTwo\n---\nThree\n"),
    # both sides of the fall-back night, written with offsets
    # (01:15 EST is after 01:45 EDT, though its wall time is earlier)
    "fold1.md": "---\nat: 2020-11-01T01:45:00-04:00\nstatus: approved\n---\nFirst 01:45\n",
    "fold2.md": "---\nat: 2020-11-01T01:15:00-05:00\nstatus: approved\n---\nSecond 01:15\n",
    "before.md": "---\nat: 2020-10-01 09:00\nstatus: approved\n---\nOld\n",
    "unscheduled.md": "---\nstatus: approved\n---\nOn demand\n",
}


def make(project) -> Path:
    return project(POSTS)


def ids(plan) -> list[str]:
    return [it.post_id for it in plan.items]


def test_time_order_across_zones_and_window(project) -> None:
    cfg = load_config(make(project), env={})
    start = datetime.fromisoformat("2020-11-09T00:00:00-05:00")
    plan = build_plan(cfg, None, start, start + timedelta(days=2))
    assert ids(plan) == ["geneva", "ny", "la", "draft", "late", "thread"]
    assert [it.at.utcoffset() for it in plan.items] == [timedelta(hours=-5)] * 6
    ny = plan.items[1]
    row = ny.rows()[0]
    assert row["when"] == "2020-11-09T08:45:00-05:00" and row["when_utc"] == "2020-11-09T13:45:00+00:00"


def test_days_in_project_zone_drafts_not_counted_threads_per_platform(project) -> None:
    cfg = load_config(make(project), env={})
    start = datetime.fromisoformat("2020-11-09T00:00:00-05:00")
    plan = build_plan(cfg, None, start, start + timedelta(days=2))
    d9, d10 = plan.days
    assert d9["date"] == "2020-11-09" and d9["posts"] == 4 and d9["drafts"] == 1
    assert d9["by_platform"] == {"x": 3, "bluesky": 4}
    assert d10["by_platform"] == {"x": 1, "bluesky": 3} and d10["publications"] == 4
    thread = plan.items[-1]
    assert thread.nparts == 3 and [len(thread.lengths["x"]), len(thread.lengths["bluesky"])] == [1, 3]
    rows = thread.rows()
    assert rows[1]["lengths"]["x"] is None and rows[1]["lengths"]["bluesky"]["length"] == 3
    assert rows[0]["lengths"]["x"] == {"length": 13, "limit": 280, "valid": True}


def test_dst_fall_back_night_keeps_both_posts_in_order(project) -> None:
    cfg = load_config(make(project), env={})
    start = datetime.fromisoformat("2020-10-31T12:00:00-04:00")
    plan = build_plan(cfg, None, start, start + timedelta(days=1))
    assert ids(plan) == ["fold1", "fold2"]
    a, b = plan.items
    assert (a.at.hour, a.at.minute, b.at.hour, b.at.minute) == (1, 45, 1, 15)
    assert b.at.astimezone(UTC) - a.at.astimezone(UTC) == timedelta(minutes=30)
    assert a.at.tzname() == "EDT" and b.at.tzname() == "EST"
    assert len(plan.days) == 1 and plan.days[0]["posts"] == 2


def test_published_posts_are_marked(project) -> None:
    root = make(project)
    cfg = load_config(root, env={})
    start = datetime.fromisoformat("2020-11-09T00:00:00-05:00")
    with Store.open(cfg) as store:
        store.db.execute("INSERT INTO publications (post_id, channel, part, content_hash, state,"
                         " updated_at) VALUES ('ny','x',0,'h','sent','2020-11-09T13:45:00+00:00')")
        plan = build_plan(cfg, store, start, start + timedelta(days=1))
        assert {it.post_id: it.status for it in plan.items}["ny"] == "published"
        warm = build_plan(cfg, store, start, start + timedelta(days=1))  # served from the cache
        assert [r for it in warm.items for r in it.rows()] == [r for it in plan.items for r in it.rows()]


def test_cli_plan_text_and_json(project) -> None:
    root = make(project)
    runner = CliRunner()
    r = runner.invoke(main, ["-C", str(root), "plan", "--from", "2020-11-09", "--days", "1"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    table = [ln for ln in lines if ln.startswith(("Mon", "Tue"))]
    assert [ln.split()[5] for ln in table] == ["geneva", "ny", "la", "draft", "draft", "late"]
    assert "13:30Z" in table[0] and "DRAFT" in table[3]
    assert any("2020-11-09  4 posts" in ln and "1 draft not counted" in ln for ln in lines)
    r = runner.invoke(main, ["-C", str(root), "plan", "--from", "2020-11-09T00:00:00-05:00",
                             "--days", "2", "--json"])
    data = json.loads(r.stdout)
    assert [i["post_id"] for i in data["items"]][:3] == ["geneva", "ny", "la"]
    assert {"when", "when_utc", "post_id", "part", "platforms", "lengths", "status"} <= set(data["items"][0])
    assert [d["date"] for d in data["days"]] == ["2020-11-09", "2020-11-10"]
    r = runner.invoke(main, ["-C", str(root), "plan", "--from", "2020-11-01 01:30"])
    assert r.exit_code == 2 and "happens twice" in r.output


def test_plan_defaults_to_the_clock(project) -> None:
    root = make(project)
    r = CliRunner().invoke(main, ["-C", str(root), "plan", "--json", "--days", "9"],
                           env={"UPRBUZZ_NOW": SAMPLE_NOW})
    data = json.loads(r.stdout)
    # the clock runs on from UPRBUZZ_NOW (microseconds later): shown to the whole second
    assert data["from"] == "2020-11-02T09:00:00-05:00"
    assert data["to"] == "2020-11-11T09:00:00-05:00"
    assert [i["post_id"] for i in data["items"]][:2] == ["geneva", "ny"]


def test_sample_project_plan(tmp_path) -> None:
    root = Path(__file__).resolve().parent.parent
    r = CliRunner().invoke(main, ["-C", str(root), "plan", "--from", "2020-11-09", "--days", "1",
                                  "--json"], env={"UPRBUZZ_STATE": str(tmp_path / "s.sqlite")})
    assert r.exit_code == 0, r.output
    items = {i["post_id"]: i for i in json.loads(r.stdout)["items"]}
    assert items["review/starting-now"]["when"] == "2020-11-09T08:30:00-05:00"
    assert items["review/recap-draft"]["status"] == "draft"
    assert items["review/watch-live"]["lengths"]["x"]["length"] < items["review/watch-live"]["lengths"]["bluesky"]["length"]
