"""One platform contract, the same cases against every backend that plays a platform:

- ``fake-x`` / ``fake-bluesky`` / ``fake-mastodon``: tests.fixtures.publish.FakePlatform
  (in memory)
- ``x``: XPlatform (tweepy) against the X API stand-in over HTTP on 127.0.0.1
- ``bluesky``: BlueskyPlatform (atproto SDK) against the real local PDS (skipped when it is not
  installed; a failure under UPRBUZZ_REQUIRE_SERVERS=1)
- ``mastodon``: MastodonPlatform (Mastodon.py) against the Mastodon API stand-in over HTTP on
  127.0.0.1 (uploads stay processing for 0.05 s, so the client really waits)

Each backend also says what actually landed (``live()``: read from the stand-in's store, the
PDS's listRecords or the fake's list), so no case trusts the platform's own answer alone.
Where the platforms differ by design (duplicate text, oversized images, partial threads), the
case states each rule and picks by ``flavour``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.publish import FakePlatform, pds_records
from uprbuzz.config import Secret
from uprbuzz.platforms import bluesky_records as rec
from uprbuzz.platforms.base import (
    Account,
    AuthFailed,
    DuplicateContent,
    KeySeed,
    OutgoingMedia,
    OutgoingPart,
    Platform,
    Rejected,
    Remote,
)
from uprbuzz.platforms.limits import BLUESKY, MASTODON, NO_LIMIT, X
from uprbuzz.platforms.text_measure import bluesky_count, mastodon_count, x_length

BACKENDS = ["fake-x", "x", "fake-bluesky", "bluesky", "fake-mastodon", "mastodon"]


@dataclass(frozen=True)
class Seen:
    """A post as the backend stored it."""

    id: str
    text: str
    parent: str | None
    alts: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()


@dataclass
class Backend:
    name: str
    flavour: str  # "x" | "bluesky" | "mastodon": whose rules the backend plays
    plat: Any  # a Platform
    bad: Callable[[], Any]  # the same backend with wrong credentials
    live: Callable[[], list[Seen]]  # the account's posts, oldest first


def _x_backend(request: pytest.FixtureRequest) -> Backend:
    from tests.fixtures.xapi import ACCOUNT
    from uprbuzz.platforms.x import XPlatform

    xapi = request.getfixturevalue("xapi")
    store = xapi.server.store

    def live() -> list[Seen]:
        return [Seen(t["id"], t["text"], t["in_reply_to_tweet_id"], tuple(t["alt_texts"]),
                     tuple(store.media[m]["size"] for m in t["media_ids"]))
                for t in reversed(store.user_tweets(ACCOUNT.user_id))]

    bad = replace(xapi.config, access_secret=Secret("wrong-secret-value-123"))
    return Backend("x", "x", XPlatform(xapi.config), lambda: XPlatform(bad), live)


def _bluesky_backend(request: pytest.FixtureRequest) -> Backend:
    from uprbuzz.platforms.bluesky import BlueskyPlatform

    cfg = request.getfixturevalue("bsky_config")  # a fresh account on the local PDS
    plat = BlueskyPlatform(cfg)

    def live() -> list[Seen]:
        out = []
        for r in sorted(pds_records(cfg.pds_url, cfg.handle), key=lambda r: r["uri"]):
            v = r["value"]
            parent = ((v.get("reply") or {}).get("parent") or {}).get("uri")
            images = (v.get("embed") or {}).get("images") or []
            out.append(Seen(r["uri"].rsplit("/", 1)[-1], v["text"],
                            parent.rsplit("/", 1)[-1] if parent else None,
                            tuple(i["alt"] for i in images),
                            tuple(i["image"]["size"] for i in images)))
        return out  # TIDs sort by time

    bad = replace(cfg, password=Secret("not-the-app-password"))
    return Backend("bluesky", "bluesky", plat, lambda: BlueskyPlatform(bad), live)


def _mastodon_backend(request: pytest.FixtureRequest) -> Backend:
    from tests.fixtures.mastodon import ACCOUNT
    from uprbuzz.platforms.mastodon import MastodonPlatform

    api = request.getfixturevalue("mastodon_api")  # a fresh stand-in
    store = api.server.store

    def live() -> list[Seen]:
        return [Seen(st["id"], st["text"], st["in_reply_to_id"],
                     tuple(store.media[m]["description"] or "" for m in st["media_ids"]),
                     tuple(store.media[m]["size"] for m in st["media_ids"]))
                for st in reversed(store.account_statuses(ACCOUNT.id))]

    bad = replace(api.config, access_token=Secret("not-the-access-token"))
    return Backend("mastodon", "mastodon", MastodonPlatform(api.config),
                   lambda: MastodonPlatform(bad), live)


def _fake_backend(flavour: str) -> Backend:
    fake = FakePlatform(flavour)

    def live() -> list[Seen]:
        return [Seen(p["id"], p["text"], p["parent"], tuple(a for a, _, _ in p["media"]),
                     tuple(p.get("sizes", ()))) for p in fake.posts]

    return Backend(f"fake-{flavour}", flavour, fake,
                   lambda: FakePlatform(flavour, credentials_ok=False), live)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "x":
        return _x_backend(request)
    if request.param == "bluesky":
        return _bluesky_backend(request)
    if request.param == "mastodon":
        return _mastodon_backend(request)
    return _fake_backend(request.param.removeprefix("fake-"))


# --- helpers -------------------------------------------------------------------------------

def png(colour: str = "green", size: tuple[int, int] = (32, 24), total: int | None = None,
        alt: str = "a green square") -> OutgoingMedia:
    """A PNG; with ``total``, padded after IEND to exactly that many bytes (still readable)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    data = buf.getvalue()
    if total is not None:
        data += b"\0" * (total - len(data))
    return OutgoingMedia(data, "image/png", alt, *size, filename="a.png")


def publish(b: Backend, *parts: OutgoingPart, plat: Any = None,
            reply_to: tuple[Remote, Remote] | None = None) -> list[Remote]:
    p = plat or b.plat
    return p.publish(list(parts), p.new_keys(len(parts)), reply_to=reply_to)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


# --- the cases -----------------------------------------------------------------------------

def test_is_a_platform_with_its_declared_limits(backend: Backend) -> None:
    plat = backend.plat
    assert isinstance(plat, Platform) and plat.name == backend.flavour
    # Mastodon: the instance's limits (the stand-in states upstream's defaults)
    assert plat.limits == {"x": X, "mastodon": MASTODON}.get(backend.flavour) or BLUESKY.for_account(
        getattr(getattr(plat, "config", None), "image_budget", None))
    acct = plat.verify()
    assert isinstance(acct, Account) and acct.platform == backend.flavour and acct.id


def test_new_keys(backend: Backend) -> None:
    keys = backend.plat.new_keys(3)
    assert len(keys) == 3
    if backend.plat.limits.atomic_threads:  # stored before sending: distinct, in part order
        assert all(keys) and len(set(keys)) == 3 and keys == sorted(keys)  # type: ignore[type-var]
    elif backend.flavour == "mastodon":  # one Idempotency-Key per part
        assert all(keys) and len(set(keys)) == 3
    else:
        assert keys == [None, None, None]


def test_keys_derived_from_a_seed_survive_a_lost_ledger(backend: Backend) -> None:
    """The same post, content and part give the same keys in any process, so a re-send after
    the ledger was lost is answered with the post that landed (X: no keys; its duplicate rule)."""
    at = datetime(2026, 11, 9, 13, 30, tzinfo=UTC)
    seed = KeySeed("2026-11-09-live", "c0ffee", 0, at)
    keys = backend.plat.new_keys(3, seed)
    if backend.flavour == "x":
        assert keys == [None, None, None]
        return
    assert keys == backend.plat.new_keys(3, seed) and len(set(keys)) == 3
    assert backend.plat.new_keys(1, KeySeed("2026-11-09-live", "c0ffee", 1, at)) == keys[1:2]
    assert set(backend.plat.new_keys(3, KeySeed("2026-11-09-live", "beef", 0, at))).isdisjoint(keys)
    if backend.plat.limits.atomic_threads:  # TIDs at the post's second, in part order
        assert keys == sorted(keys)  # type: ignore[type-var]
        assert {rec.decode_tid(k)[0] // 1_000_000 for k in keys} == {int(at.timestamp())}  # type: ignore[arg-type]
    parts = [OutgoingPart("Sent before the ledger was lost")]
    [r] = backend.plat.publish(parts, backend.plat.new_keys(1, seed))
    [again] = backend.plat.publish(parts, backend.plat.new_keys(1, seed))  # a fresh ledger's try
    assert again.id == r.id and len(backend.live()) == 1


def test_publish_one_part(backend: Backend) -> None:
    [r] = publish(backend, OutgoingPart("UPR review of the United States today"))
    assert r.platform == backend.flavour and r.id and r.url.startswith("https://")
    assert backend.live() == [Seen(r.id, "UPR review of the United States today", None)]


def test_thread_of_three_chains_replies(backend: Backend) -> None:
    rs = publish(backend, *(OutgoingPart(f"Part {i} of the thread") for i in (1, 2, 3)))
    assert len(rs) == 3 and len({r.id for r in rs}) == 3
    seen = backend.live()
    assert [s.id for s in seen] == [r.id for r in rs]
    assert [s.parent for s in seen] == [None, rs[0].id, rs[1].id]


def test_reply_to_places_a_part_under_an_existing_post(backend: Backend) -> None:
    [root] = publish(backend, OutgoingPart("The review starts"))
    [r] = publish(backend, OutgoingPart("The first recommendation"), reply_to=(root, root))
    assert {s.id: s.parent for s in backend.live()} == {root.id: None, r.id: root.id}


def test_lookup_finds_a_published_part_and_nothing_else(backend: Backend) -> None:
    t0 = since()
    part = OutgoingPart("Did this one land?")
    keys = backend.plat.new_keys(1)
    [r] = backend.plat.publish([part], keys)
    found = backend.plat.lookup(part, keys[0], t0)
    assert found is not None and found.id == r.id
    other = OutgoingPart("This one was never sent")
    assert backend.plat.lookup(other, backend.plat.new_keys(1)[0], t0) is None


def test_delete_removes_the_part_and_deleting_again_is_fine(backend: Backend) -> None:
    t0 = since()
    part = OutgoingPart("Posted by mistake")
    keys = backend.plat.new_keys(1)
    [r] = backend.plat.publish([part], keys)
    backend.plat.delete(r)
    assert backend.live() == []
    assert backend.plat.lookup(part, keys[0], t0) is None
    backend.plat.delete(r)


def test_the_same_content_again(backend: Backend) -> None:
    """X refuses a second post with the same text (DuplicateContent). Bluesky and Mastodon have
    no such rule; a resend at the same keys returns the stored posts instead of writing twice
    (Mastodon: the same Idempotency-Key within the hour), and new keys make a second post."""
    part = OutgoingPart("Only once, please")
    keys = backend.plat.new_keys(1)
    [r] = backend.plat.publish([part], keys)
    if backend.flavour == "x":
        with pytest.raises(DuplicateContent):
            backend.plat.publish([part], backend.plat.new_keys(1))
        assert len(backend.live()) == 1
    else:
        again = backend.plat.publish([part], keys)
        assert [(a.id, a.cid) for a in again] == [(r.id, r.cid)] and len(backend.live()) == 1
        backend.plat.publish([part], backend.plat.new_keys(1))
        assert [s.text for s in backend.live()] == [part.text, part.text]


def test_wrong_credentials_are_auth_failed(backend: Backend) -> None:
    with pytest.raises(AuthFailed):
        backend.bad().verify()
    with pytest.raises(AuthFailed):
        publish(backend, OutgoingPart("Should never appear"), plat=backend.bad())
    assert backend.live() == []


def test_text_at_the_limit_lands_and_one_over_is_rejected(backend: Backend) -> None:
    n = backend.plat.limits.max_length
    [r] = publish(backend, OutgoingPart("a" * n))
    with pytest.raises(Rejected):
        publish(backend, OutgoingPart("b" * (n + 1)))
    assert [s.id for s in backend.live()] == [r.id]


def test_text_over_the_platforms_own_count_is_rejected(backend: Backend) -> None:
    """Under the limit in code points, over it as the platform counts: X weighs CJK double;
    Bluesky also caps UTF-8 bytes (a family emoji is 1 grapheme, 25 bytes); Mastodon counts
    every URL as 23 characters, however short."""
    if backend.flavour == "x":
        text = "漢" * (X.max_length // 2 + 1)
        assert len(text) <= X.max_length and not x_length(text).valid
    elif backend.flavour == "mastodon":
        text = " ".join(["http://un.org"] * 22)  # 13 characters each, counted 23
        assert len(text) <= MASTODON.max_length and not mastodon_count(text).valid
    else:
        assert BLUESKY.max_bytes < NO_LIMIT
        text = "👨‍👩‍👧‍👦" * (BLUESKY.max_bytes // 25 + 1)
        c = bluesky_count(text)
        assert c.graphemes <= BLUESKY.max_length and not c.valid
    with pytest.raises(Rejected):
        publish(backend, OutgoingPart(text))
    assert backend.live() == []


def test_images_up_to_the_limit_land_with_their_alt_text(backend: Backend) -> None:
    lim = backend.plat.limits
    assert lim.max_alt < NO_LIMIT and lim.max_images < NO_LIMIT  # both platforms declare them
    alts = ["x" * lim.max_alt] + [f"square {i}" for i in range(1, lim.max_images)]
    media = tuple(png(c, alt=a) for c, a in zip(("red", "blue", "green", "navy"), alts, strict=False))
    [r] = publish(backend, OutgoingPart("Four placards", media))
    [s] = backend.live()
    assert s.id == r.id and list(s.alts) == alts


def test_too_many_images_are_rejected_and_nothing_lands(backend: Backend) -> None:
    assert backend.plat.limits.max_images < NO_LIMIT
    media = tuple(png() for _ in range(backend.plat.limits.max_images + 1))
    with pytest.raises(Rejected):
        publish(backend, OutgoingPart("One image too many", media))
    assert backend.live() == []


def test_an_image_over_the_byte_cap(backend: Backend) -> None:
    """X and Mastodon refuse it; Bluesky re-encodes it to the account's budget."""
    cap = backend.plat.limits.max_image_bytes
    assert cap < NO_LIMIT
    part = OutgoingPart("A very large placard", (png(total=cap + 1),))
    if backend.flavour in ("x", "mastodon"):
        with pytest.raises(Rejected):
            publish(backend, part)
        assert backend.live() == []
    else:
        [r] = publish(backend, part)
        [s] = backend.live()
        assert s.id == r.id and 0 < s.sizes[0] <= cap


def test_a_thread_with_a_refused_part(backend: Backend) -> None:
    """Bluesky writes a thread all or nothing; X writes part by part and reports, on the error,
    the parts that did land (the publish loop resumes from there)."""
    n = backend.plat.limits.max_length
    parts = [OutgoingPart("First part"), OutgoingPart("c" * (n + 1)), OutgoingPart("Third part")]
    with pytest.raises(Rejected) as e:
        publish(backend, *parts)
    if backend.plat.limits.atomic_threads:
        assert backend.live() == []
    else:
        landed = e.value.published  # type: ignore[attr-defined]
        assert [s.id for s in backend.live()] == [r.id for r in landed] and len(landed) == 1
