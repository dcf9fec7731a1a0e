"""`uprbuzz publish` / `status` / `retract` as processes against the X stand-in and the real PDS,
then everything read back from both servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.fixtures.publish import (
    make_project,
    pds_record,
    pds_records,
    pub_env,
    run_uprbuzz,
)

pytestmark = pytest.mark.e2e


def _at(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def _project(tmp_path, og_url: str):
    posts = {
        "review/text.md": f"---\nat: {_at(-5)}\nstatus: approved\nlang: [en, fr]\n---\n"
                          "Watch the #UPR review live: https://webtv.un.org/ #HumanRights\n",
        "review/images.md": f"---\nat: {_at(-4)}\nstatus: approved\nmedia:\n"
                            "  - path: media/wide.png\n    alt: A wide banner, white square on red\n"
                            "  - path: media/tall.png\n    alt: A tall portrait, white square on blue\n"
                            "---\nTwo pictures from Geneva\n",
        "review/thread.md": f"---\nat: {_at(-3)}\nstatus: approved\n---\nThread 1/3 on the review\n"
                            "---\nThread 2/3: recommendations\n"
                            "![A green chart of accepted recommendations](media/chart.png)\n"
                            "---\nThread 3/3: what next\n",
        "review/card.md": f"---\nat: {_at(-2)}\nstatus: approved\nlink: {og_url}\n---\n"
                          "Read our briefing before the review\n",
        "review/decor.md": f"---\nat: {_at(-2)}\nstatus: approved\nmedia:\n"
                           "  - path: media/rule.png\n    alt: \"\"\n    decorative: true\n"
                           "---\nA post with a decorative divider\n",
        "review/xonly.md": f"---\nat: {_at(-1)}\nstatus: approved\nbluesky:\n  skip: true\n---\n"
                           "Only on X, this one\n",
        "review/draft.md": f"---\nat: {_at(-1)}\nstatus: draft\n---\nNot approved yet\n",
        "review/old.md": f"---\nat: {_at(-180)}\nstatus: approved\n---\nWay too late to send\n",
        "review/later.md": f"---\nat: {_at(60)}\nstatus: approved\n---\nNot due for an hour\n",
    }
    images = {"media/wide.png": (1600, 900, "red"), "media/tall.png": (600, 800, "blue"),
              "media/chart.png": (1200, 675, "green"), "media/rule.png": (800, 40, "grey")}
    return make_project(tmp_path / "proj", posts, images)


def test_publish_everything_and_read_it_back(tmp_path, xapi, bsky_config, pds, og_page):
    root = _project(tmp_path, og_page.url)
    env = pub_env(xapi, bsky_config)
    r = run_uprbuzz(["publish", "--json"], root, env)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    got = {(i["post"], i["platform"]): i["state"] for i in report["items"]}
    for pid in ("text", "images", "thread", "card", "decor"):
        assert got[(f"review/{pid}", "x")] == "sent"
        assert got[(f"review/{pid}", "bluesky")] == "sent"
    assert got[("review/xonly", "x")] == "sent" and ("review/xonly", "bluesky") not in got
    assert got[("review/old", "x")] == "missed" and got[("review/old", "bluesky")] == "missed"
    assert not any(k[0] in ("review/draft", "review/later") for k in got)
    assert "x: posted review/thread part 3 -> " in r.stderr

    # --- X stand-in: what it accepted ---------------------------------------------------------
    tweets = {t["text"]: t for t in xapi.server.store.tweets if not t["deleted"]}
    assert len(tweets) == 8 and len(xapi.server.store.tweets) == 8
    media = xapi.server.store.media
    img = tweets["Two pictures from Geneva"]
    assert [(media[m]["width"], media[m]["height"]) for m in img["media_ids"]] == [(1600, 900), (600, 800)]
    assert img["alt_texts"] == ["A wide banner, white square on red",
                                "A tall portrait, white square on blue"]
    t1, t2, t3 = (tweets[f"Thread {i}/3" + s] for i, s in
                  ((1, " on the review"), (2, ": recommendations"), (3, ": what next")))
    assert t1["in_reply_to_tweet_id"] is None
    assert t2["in_reply_to_tweet_id"] == t1["id"] and t3["in_reply_to_tweet_id"] == t2["id"]
    assert t3["conversation_id"] == t1["id"]
    assert t2["alt_texts"] == ["A green chart of accepted recommendations"]
    assert tweets["A post with a decorative divider"]["alt_texts"] == [None]

    # --- PDS: every record read back ------------------------------------------------------------
    recs = {r["value"]["text"]: r for r in pds_records(pds.url, bsky_config.handle)}
    assert len(recs) == 7 and "Only on X, this one" not in recs
    text = recs["Watch the #UPR review live: https://webtv.un.org/ #HumanRights"]["value"]
    assert text["langs"] == ["en", "fr"]
    feats = sorted((f["index"]["byteStart"], f["features"][0]["$type"].split("#")[1],
                    f["features"][0].get("tag") or f["features"][0].get("uri"))
                   for f in text["facets"])
    b = text["text"].encode()
    assert feats == [(b.index(b"#UPR"), "tag", "UPR"),
                     (b.index(b"https://"), "link", "https://webtv.un.org/"),
                     (b.index(b"#HumanRights"), "tag", "HumanRights")]
    imgs = recs["Two pictures from Geneva"]["value"]["embed"]
    assert imgs["$type"] == "app.bsky.embed.images"
    assert [(i["alt"], i["aspectRatio"]) for i in imgs["images"]] == [
        ("A wide banner, white square on red", {"width": 1600, "height": 900}),
        ("A tall portrait, white square on blue", {"width": 600, "height": 800})]
    card = recs["Read our briefing before the review"]["value"]["embed"]
    assert card["$type"] == "app.bsky.embed.external"
    ext = card["external"]
    assert (ext["uri"], ext["title"], ext["description"]) == (og_page.url, og_page.title,
                                                              og_page.description)
    assert ext["thumb"]["size"] <= 1_000_000 and ext["thumb"]["mimeType"].startswith("image/")
    assert "/og.png" in og_page.hits
    b1, b2, b3 = (recs[t1["text"]], recs[t2["text"]], recs[t3["text"]])
    assert "reply" not in b1["value"]
    assert b2["value"]["reply"]["root"] == {"uri": b1["uri"], "cid": b1["cid"]}
    assert b2["value"]["reply"]["parent"] == {"uri": b1["uri"], "cid": b1["cid"]}
    assert b3["value"]["reply"]["root"]["uri"] == b1["uri"]
    assert b3["value"]["reply"]["parent"] == {"uri": b2["uri"], "cid": b2["cid"]}
    assert b2["value"]["embed"]["images"][0]["alt"] == "A green chart of accepted recommendations"
    decor = recs["A post with a decorative divider"]["value"]["embed"]["images"][0]
    assert decor["alt"] == "" and decor["aspectRatio"] == {"width": 800, "height": 40}

    # --- status: every row with its link -------------------------------------------------------
    s = run_uprbuzz(["status", "--json"], root, env)
    rows = json.loads(s.stdout)
    sent = [row for row in rows if row["state"] == "sent"]
    assert len(sent) == 8 + 7
    by_uri = {row["uri"]: row for row in sent if row["platform"] == "bluesky"}
    assert set(by_uri) == {rec["uri"] for rec in recs.values()}
    x_rows = [row for row in sent if row["platform"] == "x"]
    assert {row["remote_id"] for row in x_rows} == {t["id"] for t in tweets.values()}
    assert all(row["url"].endswith("/status/" + row["remote_id"]) for row in x_rows)
    table = run_uprbuzz(["status"], root, env).stdout
    assert "review/thread" in table and "missed" in table and "https://" in table

    # --- a second run sends nothing --------------------------------------------------------------
    again = run_uprbuzz(["publish"], root, env)
    assert again.returncode == 0, again.stderr
    assert "0 published" in again.stdout
    assert len(xapi.server.store.tweets) == 8
    assert len(pds_records(pds.url, bsky_config.handle)) == 7

    # --- naming a missed post sends it anyway; a draft is refused ------------------------------
    named = run_uprbuzz(["publish", "review/old", "review/draft"], root, env)
    assert named.returncode == 1  # the draft is a failure to report
    assert "is a draft" in named.stdout
    assert any(t["text"] == "Way too late to send" for t in xapi.server.store.tweets)

    # --- retract the thread everywhere -----------------------------------------------------------
    rt = run_uprbuzz(["retract", "review/thread", "--yes"], root, env)
    assert rt.returncode == 0, rt.stdout + rt.stderr
    gone = {t["text"]: t["deleted"] for t in xapi.server.store.tweets}
    assert gone[t1["text"]] and gone[t2["text"]] and gone[t3["text"]]
    left = {r["value"]["text"] for r in pds_records(pds.url, bsky_config.handle)}
    assert not {t1["text"], t2["text"], t3["text"]} & left
    with pytest.raises(httpx.HTTPStatusError, match="400"):  # RecordNotFound
        pds_record(pds.url, b1["uri"])
    rows = json.loads(run_uprbuzz(["status", "--json", "--post", "review/thread"], root, env).stdout)
    assert {row["state"] for row in rows} == {"retracted"} and len(rows) == 6
    run_uprbuzz(["publish", "review/thread"], root, env)  # retracted stays retracted
    assert sum(1 for t in xapi.server.store.tweets if t["text"] == t1["text"]) == 1
