"""``Platform.metrics`` on all three platforms, over HTTP on 127.0.0.1: X (tweepy) against the
X stand-in, Mastodon (Mastodon.py) against the Mastodon stand-in, Bluesky against the sandbox's
getPosts read service over the real local PDS. Engagement is made by a second account on the
server itself; counts come back exact; deleted posts are left out; errors map into the tree."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from tests.e2e.engagement_helpers import Bsky
from uprbuzz.config import BlueskyConfig
from uprbuzz.platforms.base import Counts, OutgoingPart, Rejected, Remote, TransientError
from uprbuzz.platforms.bluesky import BlueskyPlatform
from uprbuzz.platforms.mastodon import MastodonPlatform
from uprbuzz.platforms.x import XPlatform
from uprbuzz.sandbox import bsky_read


def test_x_public_metrics_and_owned_reads(xapi) -> None:  # type: ignore[no-untyped-def]
    me = XPlatform(xapi.config)
    [a] = me.publish([OutgoingPart("UPR: the recommendations")], [None])
    [b] = me.publish([OutgoingPart("UPR: the responses")], [None])
    other = XPlatform(xapi.config_for(xapi.server.accounts[1]))
    [theirs] = other.publish([OutgoingPart("Another NGO's post")], [None])
    oc = other.client
    oc.like(a.id, user_auth=True)
    oc.like(a.id, user_auth=True)  # twice is once
    me.client.like(a.id, user_auth=True)
    oc.retweet(a.id, user_auth=True)
    oc.create_tweet(text="A reply", in_reply_to_tweet_id=a.id, user_auth=True)
    oc.create_tweet(text="A quote", quote_tweet_id=a.id, user_auth=True)
    httpx.post(xapi.url + "/_admin/impressions", json={"tweet_id": a.id, "count": 7})
    me.delete(b)

    got = me.metrics([a, b, theirs])
    assert got == {a.id: Counts(likes=2, reposts=1, replies=1, quotes=1, impressions=7),
                   theirs.id: Counts(impressions=0, owned=False)}  # b is gone: left out
    assert httpx.get(xapi.url + "/_admin/counts").json()["reads"] == 2  # X bills what it returns
    with pytest.raises(Rejected, match="101 posts in one read"):
        me.metrics([Remote("x", str(10**18 + i), "") for i in range(101)])


def test_x_stand_in_refuses_what_x_refuses(xapi) -> None:  # type: ignore[no-untyped-def]
    me = XPlatform(xapi.config)
    [a] = me.publish([OutgoingPart("Like me")], [None])
    other = xapi.server.accounts[1]
    # liking on behalf of another user
    r = me.client.session.post(f"https://api.x.com/2/users/{other.user_id}/likes",
                               json={"tweet_id": a.id}, auth=me._auth())
    assert r.status_code == 403
    r = me.client.session.get("https://api.x.com/2/tweets", params={"ids": "1,x"},
                              auth=me._auth())
    assert r.status_code == 400 and r.json()["title"] == "Invalid Request"
    r = me.client.session.get("https://api.x.com/2/tweets", params={"ids": "123"},
                              auth=me._auth())
    assert r.status_code == 200 and r.json()["errors"][0]["resource_id"] == "123"


def test_mastodon_counts_favourites_reblogs_replies(mastodon_api) -> None:  # type: ignore[no-untyped-def]
    from mastodon import Mastodon

    me = MastodonPlatform(mastodon_api.config)
    [a] = me.publish([OutgoingPart("UPR: the recommendations")], ["k1"])
    [b] = me.publish([OutgoingPart("UPR: the responses")], ["k2"])
    acct = mastodon_api.server.accounts[1]
    other = Mastodon(access_token=acct.access_token, api_base_url=mastodon_api.url,
                     version_check_mode="none")
    assert other.status_favourite(a.id)["favourites_count"] == 1
    other.status_favourite(a.id)  # twice is once
    me.api.status_favourite(a.id)
    wrapper = other.status_reblog(a.id)
    assert wrapper["reblog"]["id"] == a.id and wrapper["reblog"]["reblogs_count"] == 1
    other.status_post("A reply", in_reply_to_id=a.id)
    me.api.status_favourite(b.id)
    me.api.status_unfavourite(b.id)
    me.delete(b)
    assert me.metrics([a]) == {a.id: Counts(likes=2, reposts=1, replies=1)}
    assert me.metrics([b]) == {}  # deleted: left out, not an error
    assert me.api.status(a.id)["favourited"] is True  # as the reader sees it


def test_bluesky_counts_from_the_read_service(bsky_account, pds) -> None:  # type: ignore[no-untyped-def]
    svc = bsky_read.serve(pds.url)
    try:
        cfg, fan_cfg = replace(bsky_account(), read_url=svc.url), bsky_account()
        main = BlueskyPlatform(cfg)
        me = Bsky(pds.url, str(cfg.handle), cfg.password.reveal())
        fan = Bsky(pds.url, str(fan_cfg.handle), fan_cfg.password.reveal())
        [a] = main.publish([OutgoingPart("UPR: read the recommendations")], main.new_keys(1))
        [b] = main.publish([OutgoingPart("UPR: nobody engages with this")], main.new_keys(1))
        ref = {"uri": a.uri, "cid": a.cid}
        for collection, record in (
                ("app.bsky.feed.like", {"subject": ref}),
                ("app.bsky.feed.repost", {"subject": ref}),
                ("app.bsky.feed.post", {"text": "reply", "reply": {"root": ref, "parent": ref}}),
                ("app.bsky.feed.post", {"text": "quote", "embed": {
                    "$type": "app.bsky.embed.record", "record": ref}})):
            fan.create(collection, record)
        me.like(ref)
        gone = Remote("bluesky", "3zzzzzzzzzzzz", "", a.uri.rsplit("/", 1)[0] + "/3zzzzzzzzzzzz")
        assert main.metrics([a, b, gone]) == {a.id: Counts(likes=2, reposts=1, replies=1, quotes=1),
                                              b.id: Counts()}
        with pytest.raises(Rejected, match="26 posts in one read"):
            main.metrics([replace(a, uri=f"{a.uri}{i}") for i in range(26)])
    finally:
        svc.stop()
    with pytest.raises(TransientError, match="read engagement"):  # the service is gone
        main.metrics([a])


def test_quotes_with_media_count_too() -> None:
    rec = {"embed": {"$type": "app.bsky.embed.recordWithMedia",
                     "record": {"record": {"uri": "at://did:plc:x/app.bsky.feed.post/1"}}}}
    assert bsky_read.quoted_uri(rec) == "at://did:plc:x/app.bsky.feed.post/1"
    assert bsky_read.quoted_uri({"embed": {"$type": "app.bsky.embed.images"}}) is None


def test_read_service_answers_as_an_appview_does() -> None:
    svc = bsky_read.serve("http://127.0.0.1:9")  # a PDS that is not there
    try:
        def get(**q: object) -> httpx.Response:
            return httpx.get(svc.url + "/xrpc/app.bsky.feed.getPosts", params=q)  # type: ignore[arg-type]

        assert get(uris=[f"at://did:plc:x/app.bsky.feed.post/{i}" for i in range(26)]
                   ).json()["error"] == "InvalidRequest"
        assert get(uris="https://bsky.app/x").status_code == 400
        r = get(uris="at://did:plc:x/app.bsky.feed.post/1")
        assert r.status_code == 502 and r.json()["error"] == "UpstreamFailure"
        r = httpx.get(svc.url + "/xrpc/app.bsky.feed.getTimeline")
        assert r.status_code == 501 and r.json()["error"] == "MethodNotImplemented"
        cfg = BlueskyConfig(read_url=svc.url)
        with pytest.raises(TransientError, match="UpstreamFailure"):  # 502: try again later
            BlueskyPlatform(cfg).metrics([Remote("bluesky", "1", "",
                                                 "at://did:plc:x/app.bsky.feed.post/1")])
    finally:
        svc.stop()
