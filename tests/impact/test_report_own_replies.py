"""The network's own replies are not interactions: a real live thread and a real two-part post
on the Mastodon stand-in over HTTP (each live post replies to the previous one, part 2 to
part 1, so the server's ``replies_count`` holds them), one human reply by another account, a
snapshot read back from the server, and the report counting only the human reply while the
ledger keeps the server's raw counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.mastodon import OTHER, MastodonApi
from tests.waiting import wait_for
from uprbuzz.clock import default_clock
from uprbuzz.config import load_config
from uprbuzz.impact import Scope, compute
from uprbuzz.live.console import LiveConsole
from uprbuzz.live.session_file import parse_session
from uprbuzz.model import Part, Post
from uprbuzz.platforms.mastodon import MastodonPlatform
from uprbuzz.publish.engagement import take_due
from uprbuzz.publish.publisher import Publisher
from uprbuzz.store import Store
from uprbuzz.store.live_tables import LiveStore

SESSION = """[session]
title = "Review of the United States"
start = 2020-11-09T14:30:00
timezone = "Europe/Zurich"
hashtags = ["#UPR36"]
platforms = ["mastodon"]
anchor = "LIVE from Geneva: the review of the United States #UPR36"
"""


def test_the_networks_own_thread_replies_are_not_interactions(tmp_path: Path,
                                                              mastodon_api: MastodonApi) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "uprbuzz.toml").write_text(
        f'[project]\nname = "n"\ntimezone = "UTC"\n[channels.mastodon]\nplatform = "mastodon"\n'
        f'url = "{mastodon_api.url}"\n', encoding="utf-8")
    config = load_config(root, env={"UPRBUZZ_MASTODON_ACCESS_TOKEN":
                                    mastodon_api.account.access_token})
    plats: dict[str, Any] = {"mastodon": MastodonPlatform(config.channel("mastodon").account)}  # type: ignore[arg-type]
    session = parse_session(SESSION, session_id="wg36")
    with Store.open(config) as store:
        pub = Publisher(config, store, platforms=plats, sleep=lambda s: None)
        con = LiveConsole(config, store, session, retry_cap=0.2,
                          publisher_factory=lambda name: Publisher(
                              config, store, platforms=plats, sleep=lambda s: None))
        con.start()
        try:
            con.ensure_anchor()
            for text in ("Slovakia: abolish the death penalty", "Slovenia: ratify the Covenant",
                         "Spain: train the police"):
                con.submit(text)
            ls = LiveStore(store.db)
            wait_for(lambda: [p.state for p in ls.posts(con.key)] == ["sent"] * 4, timeout=30,
                     what="the anchor and three live posts on Mastodon")
        finally:
            con.stop()
        thread = Post("followup/thread", (Part("The US answered: part one"),
                                          Part("part two")))
        assert pub.publish_post(thread, platforms=["mastodon"])["mastodon"].state == "sent"
        rows = {(r.post_id, r.part): r for r in store.publications.rows()}
        # a human reply (another account) to the second live post
        second = rows[(f"live/{con.key}/2", 0)].remote_id
        httpx.post(f"{mastodon_api.url}/api/v1/statuses", data={
            "status": "Thank you!", "in_reply_to_id": second},
            headers={"Authorization": f"Bearer {OTHER.access_token}"}).raise_for_status()
        now = default_clock().now()
        report = take_due(config, store, lambda n: plats[n], now, manual=True)
        assert report.taken == 6
        raw = {(s.post_id, s.part): s.replies for s in store.engagement.latest()}
        # the ledger keeps what the server said: the thread's own replies are in it
        assert raw == {(f"live/{con.key}/anchor", 0): 1, (f"live/{con.key}/1", 0): 1,
                       (f"live/{con.key}/2", 0): 2, (f"live/{con.key}/3", 0): 0,
                       ("followup/thread", 0): 1, ("followup/thread", 1): 0}
        data = compute(store, config, Scope(), now=now)
        assert data.totals.replies == 1 and data.totals.interactions == 1
        assert [(p.post_id, p.counts.replies) for p in data.top_posts] == [
            (f"live/{con.key}/2", 1)]
        assert data.engagement[-1].counts.replies == 1  # over time: the same rule
        # the page, the CSV and the JSON are renderings of the same numbers
        from uprbuzz.impact import render

        d = json.loads(render(data, "json"))
        assert d["totals"]["replies"] == 1
