"""Posts changed after some parts went out: renamed, edited, shortened, deleted. Each run says
once what went out, what will and what never will; the ledger (and `status`) keeps the truth."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fixtures.publish import make_project
from tests.publish.fakes import FakePlatform
from uprbuzz.clock import FixedClock
from uprbuzz.config import load_config
from uprbuzz.platforms.base import Rejected
from uprbuzz.publish.post_edits import EDITED
from uprbuzz.publish.publisher import Publisher
from uprbuzz.store import Store

NOW = datetime(2020, 11, 9, 14, 0, tzinfo=UTC)
HEAD = "---\nat: 2020-11-09T13:55:00+00:00\nstatus: approved\n---\n"


def thread(*parts: str) -> str:
    return HEAD + "\n---\n".join(parts) + "\n"


@pytest.fixture
def proj(tmp_path, store_url):
    root = make_project(tmp_path / "p", {"a.md": thread("One", "Two", "Three")})
    config = load_config(root, env={"UPRBUZZ_STATE": store_url})
    store = Store.open(config)
    clock = FixedClock(NOW)
    plats = {"x": FakePlatform("x", clock=clock),
             "bluesky": FakePlatform("bluesky", atomic=True, clock=clock)}
    yield root, config, store, plats
    store.close()


def run(proj):
    root, config, store, plats = proj
    lines: list[str] = []
    report = Publisher(config, store, clock=FixedClock(NOW), platforms=plats,
                       log=lines.append).publish_due()
    return report, lines


def notices(report):
    return [(i.post_id, i.platform, i.state, i.message) for i in report.items
            if i.state in ("renamed", "edited", "withdrawn")]


def x_fails_part_two(plats) -> None:
    plats["x"].script.extend([(None, False), (Rejected("X said no", platform="x", status=403),
                                              False)])


def test_a_renamed_post_is_recognised_not_sent_again(proj):
    root, config, store, plats = proj
    run(proj)
    (root / "posts" / "a.md").rename(root / "posts" / "renamed.md")
    report, lines = run(proj)
    assert [p["text"] for p in plats["x"].posts] == ["One", "Two", "Three"]
    assert len(plats["bluesky"].posts) == 3 and report.published == []
    assert {(pid, ch, st) for pid, ch, st, _ in notices(report)} == {
        ("renamed", "x", "renamed"), ("renamed", "bluesky", "renamed")}
    assert "is a renamed; already published there" in lines[0]
    assert [r.state for r in store.publications.rows("renamed")] == ["sent"] * 6
    assert store.publications.rows("a") == []
    assert run(proj)[0].items == []  # said once


def test_an_edit_after_part_one_went_out(proj):
    root, config, store, plats = proj
    x_fails_part_two(plats)
    first, _ = run(proj)
    assert [i.state for i in first.items if i.platform == "x"] == ["failed"]
    (root / "posts" / "a.md").write_text(thread("One, edited", "Two, fixed", "Three"))
    report, lines = run(proj)
    x = plats["x"].posts
    assert [p["text"] for p in x] == ["One", "Two, fixed", "Three"]  # part 1 keeps its text
    assert x[1]["parent"] == x[0]["id"] and x[2]["parent"] == x[1]["id"]
    [(_, channel, state, msg)] = [n for n in notices(report) if n[1] == "x"]
    assert state == "edited" and msg.startswith("part 1 went out before the edit and keeps the "
                                                "old text; parts 2 and 3 will go out as")
    assert any(line.startswith("x: edited a") for line in lines)
    assert store.publications.lane("a", "x")[0].error == EDITED  # what `status` shows
    assert notices(run(proj)[0]) == []  # said once


def test_a_shortened_thread_withdraws_the_parts_it_no_longer_has(proj):
    root, config, store, plats = proj
    x_fails_part_two(plats)
    run(proj)
    (root / "posts" / "a.md").write_text(thread("One"))
    report, _ = run(proj)
    [(_, _, state, msg)] = [n for n in notices(report) if n[1] == "x"]
    assert state == "edited" and "parts 2 and 3 will never be sent" not in msg  # 3 was never tried
    assert "part 2 will never be sent" in msg
    lane = store.publications.lane("a", "x")
    assert lane[1].state == "withdrawn" and report.deferred == [] and report.failed == []
    assert [p["text"] for p in plats["x"].posts] == ["One"]


def test_a_deleted_post_withdraws_what_never_went_out(proj):
    root, config, store, plats = proj
    x_fails_part_two(plats)
    run(proj)
    (root / "posts" / "a.md").unlink()
    report, lines = run(proj)
    assert notices(report) == [("a", "x", "withdrawn", "the post is gone: part 1 went out and "
                                "stays; part 2 will never be sent")]
    assert store.publications.lane("a", "x")[1].state == "withdrawn"
    assert notices(run(proj)[0]) == [] and report.ok


def test_a_file_that_cannot_be_read_is_not_a_deleted_post(proj):
    root, config, store, plats = proj
    x_fails_part_two(plats)
    run(proj)
    (root / "posts" / "a.md").write_text("---\nat: [unclosed\n---\nOne\n")
    report, _ = run(proj)
    assert notices(report) == []
    assert store.publications.lane("a", "x")[1].state == "failed"
