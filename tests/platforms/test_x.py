"""XPlatform (tweepy Client + v2 media upload) against the X API stand-in over real HTTP."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.xapi import ACCOUNT, OTHER
from uprbuzz.config import Secret
from uprbuzz.platforms.base import (
    Ambiguous,
    AuthFailed,
    DuplicateContent,
    OutgoingMedia,
    OutgoingPart,
    Platform,
    RateLimited,
    Rejected,
    Remote,
    TransientError,
)
from uprbuzz.platforms.x import XPlatform, comparable

NOW = lambda: datetime.now(UTC)  # noqa: E731


def image(fmt: str = "PNG", size=(64, 48), frames: int = 1) -> OutgoingMedia:
    from PIL import Image

    b = io.BytesIO()
    if frames > 1:
        ims = [Image.new("RGB", size, (i * 80, 0, 255 - i * 80)) for i in range(frames)]
        ims[0].save(b, "GIF", save_all=True, append_images=ims[1:], duration=100)
    else:
        Image.new("RGB", size, "green").save(b, fmt)
    mime = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}[fmt]
    return OutgoingMedia(b.getvalue(), mime, f"alt for a {fmt}", *size, filename=f"a.{fmt.lower()}")


@pytest.fixture
def x(xapi) -> XPlatform:
    return XPlatform(xapi.config)


def test_implements_protocol_and_verify(x):
    assert isinstance(x, Platform)
    acct = x.verify()
    assert (acct.id, acct.handle) == (ACCOUNT.user_id, ACCOUNT.username)
    assert x.new_keys(3) == [None, None, None]


def test_single_post_with_images_and_alt_text(x, xapi):
    [r] = x.publish([OutgoingPart("UPR review today", (image("PNG"), image("JPEG", (30, 40))))], [None])
    assert r.url == f"https://x.com/{ACCOUNT.username}/status/{r.id}"
    t = xapi.server.store.find(r.id)
    assert t["text"] == "UPR review today" and t["alt_texts"] == ["alt for a PNG", "alt for a JPEG"]
    media = [xapi.server.store.media[m] for m in t["media_ids"]]
    assert [(m["width"], m["height"], m["owner"]) for m in media] == [(64, 48, ACCOUNT.user_id),
                                                                       (30, 40, ACCOUNT.user_id)]
    assert "x-rate-limit-remaining" in x.rate["POST /2/tweets"]


def test_gif_goes_through_chunked_upload_with_status_polling(xapi):
    sleeps: list[float] = []
    x = XPlatform(xapi.config, sleep=lambda s: (sleeps.append(s), time.sleep(0.06)))
    [r] = x.publish([OutgoingPart("animated", (image("GIF", (40, 40), frames=3),))], [None])
    t = xapi.server.store.find(r.id)
    m = xapi.server.store.media[t["media_ids"][0]]
    assert m["category"] == "tweet_gif" and m["frames"] == 3 and m["alt_text"] == "alt for a GIF"
    assert sleeps, "finalize said pending: the client must poll STATUS"


def test_thread_whole_and_resumed_part_by_part(x, xapi):
    rs = x.publish([OutgoingPart("1/3 start"), OutgoingPart("2/3 middle"), OutgoingPart("3/3 end")], [None] * 3)
    store = xapi.server.store
    assert [store.find(r.id)["in_reply_to_tweet_id"] for r in rs] == [None, rs[0].id, rs[1].id]
    assert {store.find(r.id)["conversation_id"] for r in rs} == {rs[0].id}
    assert rs[2].extra["root"] == rs[0].id and rs[2].extra["parent"] == rs[1].id
    # the loop resuming at part k sends one part with reply_to=(root, parent)
    [more] = x.publish([OutgoingPart("4/3 addendum")], [None], reply_to=(rs[0], rs[2]))
    assert store.find(more.id)["in_reply_to_tweet_id"] == rs[2].id
    assert store.find(more.id)["conversation_id"] == rs[0].id



def test_delete_and_delete_again(x, xapi):
    [r] = x.publish([OutgoingPart("to be retracted")], [None])
    x.delete(r)
    assert xapi.server.store.find(r.id)["deleted"]
    x.delete(r)  # already deleted: fine
    x.delete(Remote("x", "1999999999999999999", ""))  # never existed: fine


def test_lookup_exact_text_after_normalisation(x, xapi):
    decomposed = "Re\u0301sume\u0301 & <review> https://example.org/a"
    [r] = x.publish([OutgoingPart(decomposed)], [None])
    found = x.lookup(OutgoingPart(decomposed + "  "), None, NOW() - timedelta(minutes=1))
    assert found is not None and found.id == r.id and found.url == r.url
    # X rewrites URLs to t.co: comparison ignores URLs
    assert comparable("see https://t.co/abc") == comparable("see https://example.org/x")
    assert x.lookup(OutgoingPart("never posted"), None, NOW() - timedelta(minutes=1)) is None
    # a frozen clock far ahead of the server's does not hide the post
    assert x.lookup(OutgoingPart(decomposed), None, NOW() + timedelta(days=400)).id == r.id


def test_lookup_pages_through_recent_posts_and_matches_media_only(x, xapi):
    [media_only] = x.publish([OutgoingPart("", (image(),))], [None])
    for i in range(120):
        xapi.server.store.add_tweet(ACCOUNT.user_id, f"filler {i}", None, [])
    assert x.lookup(OutgoingPart("", (image(),)), None, NOW() - timedelta(minutes=5)).id == media_only.id


# --- error mapping --------------------------------------------------------------------------

def _script(xapi, *kinds, **kw):
    xapi.server.set_faults(script=list(kinds), paths=["POST /2/tweets"], **kw)


def test_5xx_is_transient_and_not_applied(x, xapi):
    _script(xapi, "error")
    with pytest.raises(TransientError) as e:
        x.publish([OutgoingPart("a")], [None])
    assert e.value.status == 503 and not xapi.server.store.tweets


def test_429_is_rate_limited_with_reset(x, xapi):
    _script(xapi, "rate_limit", rate_limit_reset=5)
    with pytest.raises(RateLimited) as e:
        x.publish([OutgoingPart("a")], [None])
    assert NOW() + timedelta(seconds=3) < e.value.reset_at <= NOW() + timedelta(seconds=7)


def test_exhausted_window_is_rate_limited(x, xapi):
    xapi.server.set_limits({"POST /2/tweets": (1, 120)})
    x.publish([OutgoingPart("one")], [None])
    assert x.rate["POST /2/tweets"]["x-rate-limit-remaining"] == "0"
    with pytest.raises(RateLimited) as e:
        x.publish([OutgoingPart("two")], [None])
    assert e.value.reset_at > NOW() + timedelta(seconds=100)


def test_dropped_after_write_is_ambiguous_and_lookup_finds_it(x, xapi):
    _script(xapi, "drop_after_write")
    with pytest.raises(Ambiguous):
        x.publish([OutgoingPart("landed anyway")], [None])
    assert x.lookup(OutgoingPart("landed anyway"), None, NOW() - timedelta(minutes=1)) is not None
    with pytest.raises(DuplicateContent):  # a blind resend is refused: evidence it exists
        x.publish([OutgoingPart("landed anyway")], [None])


def test_dropped_before_write_is_ambiguous_and_lookup_says_no(x, xapi):
    _script(xapi, "drop")
    with pytest.raises(Ambiguous):
        x.publish([OutgoingPart("lost")], [None])
    assert x.lookup(OutgoingPart("lost"), None, NOW() - timedelta(minutes=1)) is None


def test_timeout_is_ambiguous(xapi):
    x = XPlatform(replace(xapi.config, timeout=0.3))
    _script(xapi, "delay", delay_seconds=2.0)
    t0 = time.monotonic()
    with pytest.raises(Ambiguous):
        x.publish([OutgoingPart("slow")], [None])
    assert time.monotonic() - t0 < 1.8  # the call gave up on its timeout


def test_read_timeout_is_transient(xapi):
    x = XPlatform(replace(xapi.config, timeout=0.3))
    xapi.server.set_faults(script=["delay"], delay_seconds=0.8, paths=["GET /2/users/"])
    with pytest.raises(TransientError):
        x.lookup(OutgoingPart("a"), None, NOW())


def test_connection_refused_is_transient(xapi):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    x = XPlatform(replace(xapi.config, api_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(TransientError) as e:
        x.publish([OutgoingPart("a")], [None])
    assert not isinstance(e.value, Ambiguous)


def test_bad_credentials_are_auth_failed_without_leaking(xapi):
    cfg = replace(xapi.config, access_secret=Secret("wrong-secret-value-123"))
    with pytest.raises(AuthFailed) as e:
        XPlatform(cfg).publish([OutgoingPart("a")], [None])
    text = repr(e.value) + str(e.value) + repr(e.value.__cause__)
    for secret in (ACCOUNT.consumer_secret, ACCOUNT.access_secret, "wrong-secret-value-123"):
        assert secret not in text


def test_missing_credentials_are_auth_failed(xapi):
    with pytest.raises(AuthFailed, match="UPRBUZZ_X_CONSUMER_KEY"):
        XPlatform(replace(xapi.config, consumer_key=None)).verify()


def test_duplicate_and_too_long_and_bad_reply_are_rejections(x):
    x.publish([OutgoingPart("only once")], [None])
    with pytest.raises(DuplicateContent, match="duplicate content"):
        x.publish([OutgoingPart("only once")], [None])
    with pytest.raises(Rejected, match="too long") as e:
        x.publish([OutgoingPart("x" * 281)], [None])
    assert not isinstance(e.value, DuplicateContent)
    gone = Remote("x", "1999999999999999999", "")
    with pytest.raises(Rejected, match="deleted or not visible"):
        x.publish([OutgoingPart("reply")], [None], reply_to=(gone, gone))


def test_failure_mid_thread_reports_landed_parts(x, xapi):
    _script(xapi, "ok", "error")  # part 1 lands, part 2 gets a 503
    with pytest.raises(TransientError) as e:
        x.publish([OutgoingPart("p1"), OutgoingPart("p2")], [None, None])
    assert [r.extra["text"] for r in e.value.published] == ["p1"]
    assert [t["text"] for t in xapi.server.store.tweets] == ["p1"]


def test_media_of_another_account_is_rejected(xapi):
    other = XPlatform(xapi.config_for(OTHER))
    mid = other.upload(image())
    me = XPlatform(xapi.config)
    with pytest.raises(Rejected, match="media IDs are invalid"):
        me._call("post", lambda: me.client.create_tweet(text="steal", media_ids=[mid], user_auth=True))


def test_production_routing_has_timeouts_and_no_import_of_tweepy_at_import(xapi):
    x = XPlatform(replace(xapi.config, api_url=None, timeout=7.5))
    for host in ("https://api.x.com/2/tweets", "https://api.twitter.com/2/tweets", "https://upload.twitter.com/x"):
        adapter = x.client.session.get_adapter(host)
        assert adapter.timeout == 7.5 and adapter.base is None
    code = "import uprbuzz.platforms.x, sys; print('tweepy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
