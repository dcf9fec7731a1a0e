"""A 60-day campaign across the US DST change, published through the real publish loop to the
X stand-in with a controllable clock: every occurrence exactly once, at its local time."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from uprbuzz.clock import FixedClock
from uprbuzz.config import BlueskyConfig, Config
from uprbuzz.sources.campaigns.campaign_posts import load_campaigns
from uprbuzz.store import Store

NY = ZoneInfo("America/New_York")


def test_sixty_day_campaign_publishes_each_occurrence_once(xapi, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from uprbuzz.publish.publisher import Publisher

    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "fall.toml").write_text("""
[campaign]
name = "fall"
start = 2020-10-15
end = 2020-12-13
platforms = ["x"]
status = "approved"

[[rule]]
every = "daily 09:00"
text = "UPR countdown: {date}, {time} New York"
""")
    cfg = Config(root=tmp_path, timezone="America/New_York", x=xapi.config,
                 bluesky=BlueskyConfig(enabled=False))
    occurrences = load_campaigns(cfg).posts
    assert len(occurrences) == 60
    clock = FixedClock(occurrences[0].at - timedelta(minutes=1))
    with Store.open(cfg) as store:
        pub = Publisher(cfg, store, clock=clock, log=lambda _l: None)
        pub.publish_due()
        assert xapi.server.store.tweets == []  # nothing is due a minute early
        for occ in occurrences:
            clock.advance(occ.at + timedelta(seconds=2) - clock.now())  # a tick 2 s after
            first = pub.publish_due()
            assert [(i.post_id, i.state) for i in first.items if i.new] == [(occ.id, "sent")]
            again = pub.publish_due()  # a second run in the same minute posts nothing more
            assert [i for i in again.items if i.new] == []
        tweets = xapi.server.store.tweets
        assert len(tweets) == 60
        texts = [t["text"] for t in tweets]
        assert texts == [o.parts[0].text for o in occurrences]
        assert all(", 09:00 New York" in t for t in texts)
        sent = store.db.query("SELECT post_id, sent_at FROM publications WHERE state='sent' "
                              "ORDER BY sent_at")
        assert [r["post_id"] for r in sent] == [o.id for o in occurrences]
        for r, o in zip(sent, occurrences, strict=False):
            local = datetime.fromisoformat(r["sent_at"]).astimezone(NY)
            assert local.strftime("%H:%M") == "09:00" and local.date() == o.at.date()
