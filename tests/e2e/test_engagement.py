"""Engagement read-back end to end, on the sandbox `uprbuzz sandbox start` sets up: two
accounts on each of the X stand-in, the real local PDS (read through the sandbox's getPosts
read service) and the Mastodon stand-in. A post and a thread go to all six channels; the
second account of each platform likes, reposts (retweets, reblogs), replies and quotes on the
servers themselves; `uprbuzz tick` with the clock moved past 1 h, 24 h and 10 days takes the
snapshots, and the ledger's `engagement` table holds the exact counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.engagement_helpers import Bsky
from tests.fixtures.publish import make_project, run_uprbuzz
from uprbuzz.config import Secret, XConfig, load_config
from uprbuzz.sandbox import manager
from uprbuzz.store import Store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHANNELS = {"x": "x", "x-es": "x", "bluesky": "bluesky", "bluesky-es": "bluesky",
            "mastodon": "mastodon", "mastodon-es": "mastodon"}
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def now_env(t: datetime) -> dict[str, str]:
    return {"UPRBUZZ_NOW": t.isoformat()}


@pytest.fixture
def sandbox(tmp_path: Path, needs_pds: None):  # type: ignore[no-untyped-def]
    at = (T0 - timedelta(minutes=1)).isoformat()
    toml = "mastodon = 1000\n[engagement]\nx = true\n"
    for name, platform in CHANNELS.items():
        toml += f'[channels.{name}]\nplatform = "{platform}"\n'
    root = make_project(tmp_path / "p", {
        "eng/one.md": f"---\nat: {at}\nstatus: approved\n---\nRead the UPR recommendations\n",
        "eng/thread.md": (f"---\nat: {at}\nstatus: approved\n---\nThread part one\n---\n"
                          "Thread part two\n"),
    }, toml=toml)
    state, _ = manager.start(root)
    try:
        yield root, state, manager.channel_env(state)
    finally:
        manager.stop(root)


# --- engaging on the servers themselves (Bluesky: tests/e2e/engagement_helpers.Bsky) ---------

def x_client(state: dict[str, Any], i: int) -> Any:
    from uprbuzz.platforms.x import XPlatform

    a = state["x"]["accounts"][i]
    return XPlatform(XConfig(api_url=state["x"]["url"], consumer_key=Secret(a["consumer_key"]),
                             consumer_secret=Secret(a["consumer_secret"]),
                             access_token=Secret(a["access_token"]),
                             access_secret=Secret(a["access_secret"]))).client


def mastodon_client(state: dict[str, Any], i: int) -> Any:
    from mastodon import Mastodon

    return Mastodon(access_token=state["mastodon"]["accounts"][i]["access_token"],
                    api_base_url=state["mastodon"]["url"], version_check_mode="none")


def ledger(root: Path, env: dict[str, str]) -> dict[tuple[str, str, int], Any]:
    with Store.open(load_config(root, env=env)) as store:
        return {(r.post_id, r.channel, r.part): r for r in store.publications.rows()}


def freshest(root: Path, env: dict[str, str]) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    with Store.open(load_config(root, env=env)) as store:
        return {(s.post_id, s.channel, s.part): (s.stage, s.likes, s.reposts, s.replies,
                                                 s.quotes, s.impressions, s.late)
                for s in store.engagement.latest()}


def tick(root: Path, env: dict[str, str], at: datetime) -> str:
    out = run_uprbuzz(["tick"], root, env, extra_env=now_env(at), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_likes_and_reposts_on_the_local_servers_reach_the_snapshots(sandbox) -> None:  # type: ignore[no-untyped-def]
    root, state, env = sandbox
    out = tick(root, env, T0)
    assert "6 published" in out or "published" in out, out
    rows = ledger(root, env)
    assert len(rows) == 18 and {r.state for r in rows.values()} == {"sent"}

    # --- Bluesky: the second account (bluesky-es) and the first engage on the PDS ----------
    b = state["bluesky"]
    main = Bsky(b["url"], b["accounts"][0]["handle"], b["accounts"][0]["password"])
    es = Bsky(b["url"], b["accounts"][1]["handle"], b["accounts"][1]["password"])
    one = rows[("eng/one", "bluesky", 0)]
    ref = {"uri": one.uri, "cid": one.cid}
    es.like(ref)
    main.like(ref)
    es.repost(ref)
    es.reply(ref, "Agreed, read them")
    es.quote(ref, "Worth reading")
    two = rows[("eng/thread", "bluesky-es", 1)]  # the thread's second part on the other account
    main.like({"uri": two.uri, "cid": two.cid})

    # --- Mastodon: favourites, a reblog and a reply on the stand-in -------------------------
    m_main, m_es = mastodon_client(state, 0), mastodon_client(state, 1)
    sid = rows[("eng/one", "mastodon", 0)].remote_id
    m_es.status_favourite(sid)
    m_main.status_favourite(sid)
    m_es.status_reblog(sid)
    m_es.status_post("Thank you", in_reply_to_id=sid)
    # the stand-in reports them as Mastodon does
    assert (m_main.status(sid)["favourites_count"], m_main.status(sid)["reblogs_count"]) == (2, 1)

    # --- X: likes, a retweet, a reply and a quote on the stand-in ---------------------------
    x_main, x_es = x_client(state, 0), x_client(state, 1)
    tid = rows[("eng/one", "x", 0)].remote_id
    x_es.like(tid, user_auth=True)
    x_main.like(tid, user_auth=True)
    x_es.like(tid, user_auth=True)  # twice: still one like
    x_es.retweet(tid, user_auth=True)
    x_es.create_tweet(text="Replying on X", in_reply_to_tweet_id=tid, user_auth=True)
    x_es.create_tweet(text="Quoting on X", quote_tweet_id=tid, user_auth=True)
    httpx.post(state["x"]["url"] + "/_admin/impressions", json={"tweet_id": tid, "count": 42})

    # --- a tick past 1 h takes the 1h snapshots of every part on every channel --------------
    out = tick(root, env, T0 + timedelta(minutes=61))
    assert "engagement: 18 snapshots taken" in out, out
    snaps = freshest(root, env)
    assert len(snaps) == 18 and {s[0] for s in snaps.values()} == {"1h"}
    assert snaps[("eng/one", "bluesky", 0)] == ("1h", 2, 1, 1, 1, None, False)
    assert snaps[("eng/thread", "bluesky-es", 1)] == ("1h", 1, 0, 0, 0, None, False)
    assert snaps[("eng/one", "mastodon", 0)] == ("1h", 2, 1, 1, 0, None, False)
    assert snaps[("eng/one", "x", 0)] == ("1h", 2, 1, 1, 1, 42, False)
    engaged = {("eng/one", "bluesky", 0), ("eng/thread", "bluesky-es", 1),
               ("eng/one", "mastodon", 0), ("eng/one", "x", 0)}
    for key, s in snaps.items():
        if key in engaged:
            continue
        # a thread's first part has its own second part as a reply, on every platform
        want = (0, 0, 1, 0) if key[0] == "eng/thread" and key[2] == 0 else (0, 0, 0, 0)
        assert s[1:5] == want, (key, s)

    # X reads were paid: one owned read ($0.001) per X part
    with Store.open(load_config(root, env=env)) as store:
        reads = [e for e in store.publications.events() if e["event"] == "x_read"]
    assert len(reads) == 6 and sum(float(e["detail"]) for e in reads) == pytest.approx(0.006)
    counts = httpx.get(state["x"]["url"] + "/_admin/counts").json()
    assert counts["reads"] == 6

    # --- nothing more is due until 24 h: the tick's fast path says so ----------------------
    assert tick(root, env, T0 + timedelta(hours=2)).strip() == "uprbuzz tick: nothing due"
    assert tick(root, env, T0 + timedelta(hours=23)).strip() == "uprbuzz tick: nothing due"

    # more engagement, then the 24h snapshot
    es.repost(ref)  # again: the PDS replaces its earlier repost of the same post (still one)
    main.repost(ref)
    m_main.status_unfavourite(sid)
    out = tick(root, env, T0 + timedelta(hours=24, minutes=5))
    assert "engagement: 18 snapshots taken" in out, out
    snaps = freshest(root, env)
    assert snaps[("eng/one", "bluesky", 0)] == ("24h", 2, 2, 1, 1, None, False)
    assert snaps[("eng/one", "mastodon", 0)] == ("24h", 1, 1, 1, 0, None, False)

    # --- the scheduler was down for days: the 7d snapshot is taken late, once ---------------
    out = tick(root, env, T0 + timedelta(days=10))
    assert "engagement: 18 snapshots taken (18 late" in out, out
    snaps = freshest(root, env)
    assert {s[0] for s in snaps.values()} == {"7d"} and all(s[6] for s in snaps.values())
    assert tick(root, env, T0 + timedelta(days=11)).strip() == "uprbuzz tick: nothing due"

    # --- the series and `engagement show --json` agree with the table ---------------------
    shown = run_uprbuzz(["engagement", "show", "--series", "--json", "--post", "eng/one",
                         "--channel", "bluesky"], root, env)
    assert shown.returncode == 0, shown.stderr
    series = json.loads(shown.stdout)
    assert [(s["stage"], s["likes"], s["reposts"], s["late"]) for s in series] == [
        ("1h", 2, 1, False), ("24h", 2, 2, False), ("7d", 2, 2, True)]
    with Store.open(load_config(root, env=env)) as store:
        late = [e for e in store.publications.events() if e["event"] == "engagement_late"]
    assert len(late) == 18 and all(e["detail"].startswith("7d snapshot taken late") for e in late)

    # --- and the impact report shows them: its totals are the freshest snapshots' -----------
    rep = run_uprbuzz(["report", "--format", "json", "-o", str(root / "report.json")], root, env,
                      extra_env=now_env(T0 + timedelta(days=11)))
    assert rep.returncode == 0, rep.stdout + rep.stderr
    data = json.loads((root / "report.json").read_text(encoding="utf-8"))
    fresh = freshest(root, env).values()
    want = {k: sum(s[i] for s in fresh) for i, k in enumerate(
        ("likes", "reposts", "replies", "quotes"), start=1)}
    # Bluesky one + the thread's part 2 on bluesky-es + Mastodon + X; each thread's first
    # part has its second part as a reply on all six channels
    assert want == {"likes": 2 + 1 + 1 + 2, "reposts": 2 + 1 + 1, "replies": 1 + 1 + 1 + 6,
                    "quotes": 1 + 1}
    # The ledger keeps the platforms' raw counts; the report leaves out the network's own
    # replies (impact/own_replies.py): the six thread replies are ours, the other three are not
    assert {k: data["totals"][k] for k in want} == {**want, "replies": 1 + 1 + 1}
    assert sum(d["reads"] for d in data["x_spend"]) == 18  # 6 X parts x 3 stages
    assert sum(d["reads_usd"] for d in data["x_spend"]) == pytest.approx(0.018)
