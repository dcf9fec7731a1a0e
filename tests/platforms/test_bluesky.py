"""BlueskyPlatform against a real local PDS (records read back with getRecord/listRecords),
plus error mapping through injected httpx transports."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.fixtures.pds import CountingTransport
from tests.http_pages import serve_pages
from uprbuzz.config import BlueskyConfig, Secret
from uprbuzz.platforms import bluesky_records as rec
from uprbuzz.platforms.base import (
    Ambiguous,
    AuthFailed,
    OutgoingMedia,
    OutgoingPart,
    Platform,
    RateLimited,
    Rejected,
    Remote,
    TransientError,
)
from uprbuzz.platforms.bluesky import BlueskyPlatform

SINCE = datetime(2020, 1, 1, tzinfo=UTC)


# --- helpers -------------------------------------------------------------------------------

def get_record(pds: Any, remote: Remote) -> dict[str, Any]:
    did, _, rkey = remote.uri[5:].split("/")
    r = httpx.get(f"{pds.url}/xrpc/com.atproto.repo.getRecord",
                  params={"repo": did, "collection": rec.POST, "rkey": rkey})
    r.raise_for_status()
    return r.json()


def list_records(pds: Any, did: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{pds.url}/xrpc/com.atproto.repo.listRecords",
                  params={"repo": did, "collection": rec.POST, "limit": 100})
    r.raise_for_status()
    return r.json()["records"]


def get_blob(pds: Any, did: str, cid: str) -> bytes:
    r = httpx.get(f"{pds.url}/xrpc/com.atproto.sync.getBlob", params={"did": did, "cid": cid})
    r.raise_for_status()
    return r.content


def png(w: int, h: int, noise: bool = False) -> bytes:
    from PIL import Image

    if noise:
        import os

        im = Image.frombytes("RGB", (w, h), os.urandom(w * h * 3))
    else:
        im = Image.new("RGB", (w, h), (200, 30, 60))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def platform(cfg: BlueskyConfig, store: dict[str, str] | None = None, **kw: Any) -> BlueskyPlatform:
    store = {} if store is None else store
    return BlueskyPlatform(cfg, session_load=lambda: store.get("s"),
                           session_save=lambda s: store.__setitem__("s", s), **kw)


@pytest.fixture
def plat(bsky_config: BlueskyConfig) -> BlueskyPlatform:
    return platform(bsky_config)


# --- TIDs (no server) ----------------------------------------------------------------------

def test_tids_are_spec_shaped_monotonic_and_decode_to_now() -> None:
    clock = rec.TidClock(clock_id=7)
    before = time.time_ns() // 1000
    tids = [clock.next() for _ in range(2000)]
    after = time.time_ns() // 1000
    assert all(rec.is_tid(t) for t in tids)
    assert tids == sorted(tids) and len(set(tids)) == len(tids)
    micros, cid = rec.decode_tid(tids[0])
    assert before <= micros <= after + 2000 and cid == 7
    assert rec.encode_tid(*rec.decode_tid("3jzfcijpj2z2a")) == "3jzfcijpj2z2a"  # spec example
    for bad in ("3jzfcijpj2z2", "zjzfcijpj2z2a", "3jzfcijpj2z21", "3JZFCIJPJ2Z2A"):
        assert not rec.is_tid(bad)


def test_tid_clock_never_goes_back_when_the_wall_clock_does() -> None:
    times = iter([5_000_000, 5_000_000, 4_000_000, 6_000_000])
    clock = rec.TidClock(clock_id=1, now_us=lambda: next(times))
    got = [rec.decode_tid(clock.next())[0] for _ in range(4)]
    assert got == [5_000_000, 5_000_001, 5_000_002, 6_000_000]


def test_platform_satisfies_protocol() -> None:
    p = BlueskyPlatform(BlueskyConfig())
    assert isinstance(p, Platform) and p.limits.atomic_threads and p.limits.max_length == 300
    keys = p.new_keys(3)
    assert keys == sorted(keys) and all(rec.is_tid(k) for k in keys)  # type: ignore[arg-type]


# --- publishing against the real PDS ------------------------------------------------------

def test_text_with_link_and_tag_facets_langs_and_local_cid(pds: Any, plat: BlueskyPlatform) -> None:
    text = "Watch the review of Ünïcode 🇨🇭 live #UPR37 https://webtv.un.org/live now"
    [remote] = plat.publish([OutgoingPart(text, langs=("fr", "en"))], plat.new_keys(1))
    got = get_record(pds, remote)
    assert got["cid"] == remote.cid  # CID computed locally == CID stored by the PDS
    v = got["value"]
    assert v["text"] == text and v["langs"] == ["fr", "en"]
    data = text.encode()
    spans = {f["features"][0]["$type"].split("#")[1]:
             data[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode() for f in v["facets"]}
    assert spans == {"tag": "#UPR37", "link": "https://webtv.un.org/live"}
    tag = next(f for f in v["facets"] if f["features"][0]["$type"].endswith("#tag"))
    assert tag["features"][0]["tag"] == "UPR37"
    assert remote.url == f"https://bsky.app/profile/{plat.config.handle}/post/{remote.id}"


def test_mentions_resolve_to_dids_and_unknown_ones_are_dropped(
        pds: Any, plat: BlueskyPlatform, bsky_account: Any) -> None:
    other = bsky_account("m")
    text = f"thanks @{other.handle} and @nobody-here.test"
    [remote] = plat.publish([OutgoingPart(text)], plat.new_keys(1))
    facets = get_record(pds, remote)["value"]["facets"]
    assert len(facets) == 1
    did = httpx.get(f"{pds.url}/xrpc/com.atproto.identity.resolveHandle",
                    params={"handle": other.handle}).json()["did"]
    assert facets[0]["features"] == [{"$type": "app.bsky.richtext.facet#mention", "did": did}]
    start, end = facets[0]["index"]["byteStart"], facets[0]["index"]["byteEnd"]
    assert text.encode()[start:end].decode() == f"@{other.handle}"


def test_image_with_alt_and_aspect_ratio_is_uploaded_unchanged(pds: Any, plat: BlueskyPlatform) -> None:
    data = png(640, 360)
    part = OutgoingPart("chart", media=(OutgoingMedia(data, "image/png", "A red square chart", 640, 360),))
    [remote] = plat.publish([part], plat.new_keys(1))
    got = get_record(pds, remote)
    assert got["cid"] == remote.cid
    [img] = got["value"]["embed"]["images"]
    assert img["alt"] == "A red square chart"
    assert img["aspectRatio"] == {"width": 640, "height": 360}
    assert get_blob(pds, plat.did or "", img["image"]["ref"]["$link"]) == data


def test_oversized_image_is_reencoded_to_the_budget(pds: Any, bsky_account: Any) -> None:
    from uprbuzz.imaging import fit_to_budget

    cfg = bsky_account(image_budget=150_000)
    p = platform(cfg)
    data = png(700, 420, noise=True)
    assert len(data) > 150_000
    part = OutgoingPart("noise", media=(OutgoingMedia(data, "image/png", "static noise", 700, 420),))
    [remote] = p.publish([part], p.new_keys(1))
    [img] = get_record(pds, remote)["value"]["embed"]["images"]
    expected = fit_to_budget(data, 150_000)
    assert img["image"]["size"] <= 150_000 and img["image"]["mimeType"] == "image/jpeg"
    assert img["aspectRatio"] == {"width": expected.width, "height": expected.height}
    assert get_blob(pds, p.did or "", img["image"]["ref"]["$link"]) == expected.data


@dataclass
class _OgSite:
    """A page with OpenGraph tags and its og:image, served on 127.0.0.1."""

    image: bytes
    url: str


@pytest.fixture
def og_site() -> Iterator[_OgSite]:
    image = png(1100, 700, noise=True)  # > 1,000,000 bytes: must be re-encoded
    page = (b"<html><head><title>Fallback</title>"
            b'<meta property="og:title" content="UPR of Switzerland &amp; civil society">'
            b'<meta property="og:description" content="Live coverage from Geneva">'
            b'<meta property="og:image" content="/thumb.png"></head><body>x</body></html>')
    with serve_pages({
        "/page": (page, "text/html; charset=utf-8"),
        "/plain": (b"<html><head><title> Just a title </title></head></html>", "text/html"),
        "/thumb.png": (image, "image/png"),
    }) as url:
        yield _OgSite(image, url)


def test_link_card_from_opengraph_with_reencoded_thumb(
        pds: Any, plat: BlueskyPlatform, og_site: _OgSite) -> None:
    assert len(og_site.image) > 1_000_000
    url = f"{og_site.url}/page?x=1"
    [remote] = plat.publish([OutgoingPart("Read our statement", link=url)], plat.new_keys(1))
    got = get_record(pds, remote)
    assert got["cid"] == remote.cid
    ext = got["value"]["embed"]["external"]
    assert ext["uri"] == url
    assert ext["title"] == "UPR of Switzerland & civil society"
    assert ext["description"] == "Live coverage from Geneva"
    assert 0 < ext["thumb"]["size"] <= 1_000_000
    thumb = get_blob(pds, plat.did or "", ext["thumb"]["ref"]["$link"])
    from uprbuzz.imaging import probe

    assert probe(thumb).width > 0


def test_link_card_degrades_without_failing_the_post(
        pds: Any, plat: BlueskyPlatform, og_site: _OgSite) -> None:
    parts = [OutgoingPart("title only", link=f"{og_site.url}/plain"),
             OutgoingPart("unreachable", link="http://127.0.0.1:9/nothing")]
    r1 = plat.publish(parts[:1], plat.new_keys(1))[0]
    r2 = plat.publish(parts[1:], plat.new_keys(1))[0]
    e1 = get_record(pds, r1)["value"]["embed"]["external"]
    assert e1["title"] == "Just a title" and "thumb" not in e1
    e2 = get_record(pds, r2)["value"]["embed"]["external"]
    assert e2["title"] == "http://127.0.0.1:9/nothing" and "thumb" not in e2


def test_three_part_thread_is_atomic_and_chained(pds: Any, plat: BlueskyPlatform) -> None:
    parts = [OutgoingPart(f"part {i} of 3", langs=("de",)) for i in (1, 2, 3)]
    keys = plat.new_keys(3)
    before = pds.counters().get("com.atproto.repo.applyWrites", 0)
    r = plat.publish(parts, keys)
    assert pds.counters()["com.atproto.repo.applyWrites"] == before + 1  # one write for 3 posts
    assert [x.id for x in r] == keys
    stored = {x["uri"]: x for x in list_records(pds, plat.did or "")}
    assert set(stored) == {x.uri for x in r}
    for x in r:
        assert stored[x.uri]["cid"] == x.cid
    assert "reply" not in stored[r[0].uri]["value"]
    root = {"uri": r[0].uri, "cid": r[0].cid}
    assert stored[r[1].uri]["value"]["reply"] == {"root": root, "parent": root}
    assert stored[r[2].uri]["value"]["reply"] == {"root": root, "parent": {"uri": r[1].uri, "cid": r[1].cid}}


def test_reply_to_places_a_thread_under_an_existing_post(pds: Any, plat: BlueskyPlatform) -> None:
    [top] = plat.publish([OutgoingPart("live: session opens")], plat.new_keys(1))
    [mid] = plat.publish([OutgoingPart("update 1")], plat.new_keys(1), reply_to=(top, top))
    new = plat.publish([OutgoingPart("update 2a"), OutgoingPart("update 2b")], plat.new_keys(2),
                       reply_to=(top, mid))
    ref = lambda x: {"uri": x.uri, "cid": x.cid}  # noqa: E731
    no_cid = Remote("bluesky", top.id, top.url, uri=top.uri)  # a ledger row without the CID
    [late] = plat.publish([OutgoingPart("update 3")], plat.new_keys(1), reply_to=(no_cid, no_cid))
    assert get_record(pds, late)["value"]["reply"] == {"root": ref(top), "parent": ref(top)}
    assert get_record(pds, mid)["value"]["reply"] == {"root": ref(top), "parent": ref(top)}
    assert get_record(pds, new[0])["value"]["reply"] == {"root": ref(top), "parent": ref(mid)}
    assert get_record(pds, new[1])["value"]["reply"] == {"root": ref(top), "parent": ref(new[0])}


def test_retry_with_the_same_keys_does_not_duplicate(pds: Any, bsky_config: BlueskyConfig) -> None:
    p = platform(bsky_config)
    parts = [OutgoingPart("once"), OutgoingPart("only once")]
    keys = p.new_keys(2)
    first = p.publish(parts, keys)
    again = platform(bsky_config).publish(parts, keys)  # e.g. resend after a lost answer
    assert [(x.uri, x.cid) for x in again] == [(x.uri, x.cid) for x in first]
    assert len(list_records(pds, p.did or "")) == 2


def test_lookup_and_delete(pds: Any, plat: BlueskyPlatform) -> None:
    part = OutgoingPart("to be retracted")
    key = plat.new_keys(1)[0]
    assert plat.lookup(part, key, SINCE) is None
    [remote] = plat.publish([part], [key])
    found = plat.lookup(part, key, SINCE)
    assert found is not None and (found.uri, found.cid) == (remote.uri, remote.cid)
    plat.delete(remote)
    assert plat.lookup(part, key, SINCE) is None
    plat.delete(remote)  # already gone: fine
    assert list_records(pds, plat.did or "") == []


def test_verify_returns_the_account(plat: BlueskyPlatform) -> None:
    acct = plat.verify()
    assert acct.handle == plat.config.handle and acct.id.startswith("did:plc:")


def test_server_rejection_keeps_the_message(plat: BlueskyPlatform) -> None:
    with pytest.raises(Rejected) as e:
        plat.publish([OutgoingPart("x" * 301)], plat.new_keys(1))
    assert "grapheme too big (maximum 300, got 301)" in str(e.value)
    assert e.value.status == 400 and not e.value.retryable


# --- sessions ----------------------------------------------------------------------------

def test_saved_session_is_reused_without_login(pds: Any, bsky_config: BlueskyConfig) -> None:
    store: dict[str, str] = {}
    t1 = CountingTransport()
    platform(bsky_config, store, transport=t1).publish([OutgoingPart("first run")], [rec.TidClock().next()])
    assert t1.logins == 1 and store["s"].count(":::") == 4
    assert bsky_config.password.reveal() not in store["s"]  # type: ignore[union-attr]
    for i in range(3):  # later runs: new instances, same stored session
        t = CountingTransport()
        p = platform(bsky_config, store, transport=t)
        p.publish([OutgoingPart(f"run {i}")], p.new_keys(1))
        assert t.logins == 0 and t.calls["com.atproto.repo.applyWrites"] == 1
        assert sum(t.calls.values()) == 1  # not even a profile/session fetch


def _fake_jwt(exp: int) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'HS256', 'typ': 'at+jwt'})}.{enc({'exp': exp, 'sub': 'x'})}.c2ln"


@pytest.mark.parametrize("kind", ["invalid", "expired"])
def test_dead_stored_session_is_refreshed_or_gives_exactly_one_password_login(
        pds: Any, bsky_config: BlueskyConfig, kind: str) -> None:
    store: dict[str, str] = {}
    seed = platform(bsky_config, store)
    seed.verify()
    handle, did, access, refresh, endpoint = store["s"].split(":::")
    if kind == "invalid":  # garbage access token: the PDS answers 400 InvalidToken
        access = _fake_jwt(int(time.time()) + 3600)
    else:  # expired access token + revoked refresh token: refresh fails with ExpiredToken
        httpx.post(f"{pds.url}/xrpc/com.atproto.server.deleteSession",
                   headers={"Authorization": f"Bearer {refresh}"}).raise_for_status()
        access = _fake_jwt(int(time.time()) - 60)
    store["s"] = ":::".join([handle, did, access, refresh, endpoint])
    dead = store["s"]
    t = CountingTransport()
    p = platform(bsky_config, store, transport=t)
    [remote] = p.publish([OutgoingPart(f"after {kind} session")], p.new_keys(1))
    if kind == "invalid":  # the refresh token still works: refreshed, no password needed
        assert t.calls["com.atproto.server.refreshSession"] == 1
        assert t.logins == 0 and p.password_logins == 0
    else:  # the refresh token was revoked too: exactly one password login
        assert t.logins == 1 and p.password_logins == 1
    assert t.calls["com.atproto.repo.applyWrites"] == 2  # refused once (token), then applied
    assert store["s"] != dead  # the new session was saved
    assert get_record(pds, remote)["value"]["text"] == f"after {kind} session"
    t2 = CountingTransport()
    platform(bsky_config, store, transport=t2).verify()
    assert t2.logins == 0


def test_wrong_password_is_auth_failed_after_one_attempt(bsky_config: BlueskyConfig) -> None:
    cfg = BlueskyConfig(pds_url=bsky_config.pds_url, handle=bsky_config.handle, password=Secret("nope-123"))
    t = CountingTransport()
    with pytest.raises(AuthFailed) as e:
        platform(cfg, transport=t).publish([OutgoingPart("x")], [rec.TidClock().next()])
    assert t.logins == 1 and "nope-123" not in str(e.value)
    assert "Invalid identifier or password" in str(e.value)


# --- error mapping with injected transports (no server) ----------------------------------

SESSION = ":::".join(["a.test", "did:plc:abc", _fake_jwt(int(time.time()) + 7200),
                      _fake_jwt(int(time.time()) + 86400), "http://localhost:1"])


def _mock(handler: Any) -> BlueskyPlatform:
    return BlueskyPlatform(BlueskyConfig(pds_url="http://localhost:1", handle="a.test"),
                           session_load=lambda: SESSION, transport=httpx.MockTransport(handler))


def _post(p: BlueskyPlatform) -> None:
    p.publish([OutgoingPart("hi")], p.new_keys(1))


def test_429_is_rate_limited_with_reset_time() -> None:
    reset = int(time.time()) + 120
    p = _mock(lambda r: httpx.Response(429, json={"error": "RateLimitExceeded", "message": "slow down"},
                                       headers={"ratelimit-reset": str(reset), "ratelimit-limit": "30"}))
    with pytest.raises(RateLimited) as e:
        _post(p)
    assert e.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)


def test_413_is_rejected_not_retried() -> None:
    p = _mock(lambda r: httpx.Response(413, json={"error": "PayloadTooLarge", "message": "request entity too large"}))
    with pytest.raises(Rejected) as e:
        _post(p)
    assert not e.value.retryable and "PayloadTooLarge" in str(e.value)


@pytest.mark.parametrize("exc,expected", [
    (httpx.ReadTimeout("slow"), Ambiguous),
    (httpx.RemoteProtocolError("dropped"), Ambiguous),
    (httpx.ConnectError("refused"), TransientError),
])
def test_transport_failures_on_writes(exc: Exception, expected: type) -> None:
    def boom(r: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(expected):
        _post(_mock(boom))


def test_read_timeout_on_lookup_is_transient() -> None:
    def boom(r: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(TransientError):
        _mock(boom).lookup(OutgoingPart("x"), rec.TidClock().next(), SINCE)


def test_5xx_on_write_is_ambiguous_and_401_is_auth_failed() -> None:
    with pytest.raises(Ambiguous):
        _post(_mock(lambda r: httpx.Response(503, json={"error": "Unavailable", "message": "down"})))
    with pytest.raises(AuthFailed):
        _post(_mock(lambda r: httpx.Response(401, json={"error": "AuthenticationRequired", "message": "no"})))


def test_no_credentials_and_no_session_is_auth_failed_without_requests() -> None:
    t = CountingTransport(httpx.MockTransport(lambda r: httpx.Response(500)))
    p = BlueskyPlatform(BlueskyConfig(pds_url="http://localhost:1"), transport=t)
    with pytest.raises(AuthFailed):
        p.verify()
    assert sum(t.calls.values()) == 0
