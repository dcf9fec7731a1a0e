"""store/engagement.py on both backends (``store_url``: SQLite, then a real PostgreSQL): the
snapshots a read records, the freshest per part, the series, what is due (late stages taken
once, earlier passed ones skipped) and X's paid reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from uprbuzz.platforms.base import Remote
from uprbuzz.store import Store
from uprbuzz.store.engagement import Snapshot, due_stage, next_stage_at

SENT = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
STAGES = [("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7))]
H = timedelta(hours=1)


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        yield s


def sent(store: Store, post_id: str, channel: str, part: int, at: datetime) -> None:
    pubs = store.publications
    assert pubs.claim(post_id, channel, [(part, f"text {post_id}", None)], "h", "me", at,
                      timedelta(minutes=5))
    pubs.mark_sent(post_id, channel, part, Remote(channel, f"id-{post_id}-{part}",
                                                  f"https://x/{post_id}", f"at://{post_id}"), at)


def snap(post_id: str, stage: str, taken: datetime, likes: int, channel: str = "bluesky",
         part: int = 0) -> Snapshot:
    return Snapshot(post_id, channel, part, stage, taken, likes=likes, reposts=likes // 2,
                    replies=1, quotes=0)


def test_due_rule_takes_the_latest_passed_stage_only_once() -> None:
    assert due_stage(SENT, [], STAGES, SENT + 59 * timedelta(minutes=1)) is None
    assert due_stage(SENT, [], STAGES, SENT + H) == ("1h", SENT + H)
    # down for a day and a half: the 24 h reading, not a 1 h one taken at the same instant
    assert due_stage(SENT, [], STAGES, SENT + 30 * H) == ("24h", SENT + 24 * H)
    assert due_stage(SENT, ["24h"], STAGES, SENT + 30 * H) is None
    assert next_stage_at(SENT, ["24h"], STAGES) == SENT + 7 * 24 * H  # 1h is skipped for good
    assert next_stage_at(SENT, ["7d"], STAGES) is None
    assert next_stage_at(SENT, ["now"], STAGES) == SENT + H  # a manual read changes nothing


def test_latest_and_series(store: Store) -> None:
    sent(store, "a", "bluesky", 0, SENT)
    sent(store, "a", "bluesky", 1, SENT)
    sent(store, "b", "mastodon", 0, SENT)
    eng = store.engagement
    eng.record([snap("a", "1h", SENT + H, 2), snap("a", "1h", SENT + H, 1, part=1),
                snap("b", "1h", SENT + H, 5, channel="mastodon")])
    eng.record([snap("a", "24h", SENT + 24 * H, 7)])
    eng.record([snap("a", "now", SENT + 2 * H, 3, part=1)])
    latest = {(s.post_id, s.channel, s.part): (s.stage, s.likes) for s in eng.latest()}
    assert latest == {("a", "bluesky", 0): ("24h", 7), ("a", "bluesky", 1): ("now", 3),
                      ("b", "mastodon", 0): ("1h", 5)}
    assert [s.stage for s in eng.latest("a")] == ["24h", "now"]
    series = eng.series("a", "bluesky")
    assert [(s.part, s.stage, s.likes) for s in series] == [(0, "1h", 2), (0, "24h", 7),
                                                            (1, "1h", 1), (1, "now", 3)]
    assert all(s.sent_at == SENT for s in series)
    assert series[0].due_at == SENT + H and not series[0].late
    # a manual read again replaces the previous one
    eng.record([snap("a", "now", SENT + 3 * H, 9, part=1)])
    assert [(s.stage, s.likes) for s in eng.series("a") if s.part == 1] == [("1h", 1), ("now", 9)]
    assert [e["event"] for e in store.publications.events() if e["event"] == "engagement"]


def test_due_and_late(store: Store) -> None:
    sent(store, "a", "bluesky", 0, SENT)
    sent(store, "b", "bluesky", 0, SENT + 2 * H)
    sent(store, "c", "x", 0, SENT)
    eng = store.engagement
    assert eng.due(STAGES, ["bluesky"], SENT + 30 * timedelta(minutes=1)) == []
    assert eng.next_due(STAGES, ["bluesky"]) == SENT + H
    due = eng.due(STAGES, ["bluesky"], SENT + 3 * H)
    assert [(d.post_id, d.stage, d.late(SENT + 3 * H)) for d in due] == [("a", "1h", True),
                                                                          ("b", "1h", False)]
    assert due[0].remote_id == "id-a-0" and due[0].uri == "at://a"
    late = snap("a", "1h", SENT + 3 * H, 4)
    eng.record([late, snap("b", "1h", SENT + 3 * H, 0)], late=[late])
    [row] = eng.latest("a")
    assert row.late and row.due_at == SENT + H
    assert [e["detail"] for e in store.publications.events("a") if e["event"] ==
            "engagement_late"][0].startswith("1h snapshot taken late")
    assert eng.next_due(STAGES, ["bluesky"]) == SENT + 24 * H
    # X's channel held back (its spending limit) until the next day
    assert eng.next_due(STAGES, ["x"], {"x": SENT + 12 * H}) == SENT + 12 * H


def test_x_reads_are_recorded_and_summed(store: Store) -> None:
    eng = store.engagement
    eng.record_x_reads("x", [("a", 0, 0.001), ("b", 0, 0.005)], SENT)
    eng.record_x_reads("x-es", [("c", 0, 0.001)], SENT + H)
    n, usd = eng.x_read_spend(["x", "x-es"], SENT, SENT + 24 * H)
    assert n == 3 and usd == pytest.approx(0.007)
    assert eng.x_read_spend(["x"], SENT + timedelta(seconds=1), SENT + 24 * H) == (0, 0.0)
