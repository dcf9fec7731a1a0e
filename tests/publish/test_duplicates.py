"""A lookup hit (after "duplicate content", an unclear write, or a crash) is adopted only when no
other ledger row owns it: identical texts of two posts must never share one remote post."""

from __future__ import annotations

import socket
from datetime import timedelta

from tests.publish.test_publish_loop import env, post  # noqa: F401  (env is a fixture)
from uprbuzz.platforms.base import Ambiguous, DuplicateContent, Remote
from uprbuzz.publish.publisher import Publisher

DEAD = f"{socket.gethostname()}:999999999:1:dead"


def test_duplicate_of_another_post_fails_and_names_it(env):  # noqa: F811
    pub, x, _bs, store, _clock, lines = env
    first = pub.publish_post(post("camp/a", ("Same words",)), platforms=["x"])
    assert first["x"].state == "sent"
    url = first["x"].urls[0]
    x.fail(DuplicateContent("duplicate content", platform="x"))  # X refuses the second copy
    out = pub.publish_post(post("camp/b", ("Same words",)), platforms=["x"])
    assert out["x"].state == "failed"
    assert out["x"].message == (f"X refused this text as a duplicate of camp/a ({url}); "
                                "edit the text to post it")
    b = store.publications.lane("camp/b", "x")[0]
    assert (b.state, b.kind, b.remote_id) == ("failed", "duplicate", None)
    assert store.publications.lane("camp/a", "x")[0].url == url
    assert len(x.posts) == 1 and x.lookups == 1
    # never retried while the content stays the same, neither named nor by a later run
    again = pub.publish_post(post("camp/b", ("Same words",)), platforms=["x"])
    assert again["x"].state == "failed" and len(x.calls) == 2
    # an edit (new content hash) sends it
    edited = pub.publish_post(post("camp/b", ("Same words, edited",)), platforms=["x"])
    assert edited["x"].state == "sent" and x.texts() == ["Same words", "Same words, edited"]
    assert any("failed: X refused this text as a duplicate of camp/a" in ln for ln in lines)


def test_duplicate_with_nothing_found_fails_without_retry(env):  # noqa: F811
    pub, x, _bs, store, *_ = env
    x.fail(DuplicateContent("duplicate content", platform="x"))
    out = pub.publish_post(post("b", ("Posted by hand long ago",)), platforms=["x"])
    assert out["x"].state == "failed" and "duplicate of an earlier post" in out["x"].message
    assert store.publications.lane("b", "x")[0].kind == "duplicate"


def test_duplicate_of_our_own_earlier_attempt_is_adopted(env):  # noqa: F811
    pub, x, _bs, store, clock, _ = env
    pub.publish_post(post("a", ("Same words",)), platforms=["x"])
    clock.advance(25 * 3600)  # past X's duplicate window: the same words may go out again
    x.fail(DuplicateContent("duplicate content", platform="x"), applied=True)  # b had landed
    out = pub.publish_post(post("b", ("Same words",)), platforms=["x"])
    a, b = (store.publications.lane(p, "x")[0] for p in ("a", "b"))
    assert out["x"].state == "sent" and b.remote_id == x.posts[1]["id"] != a.remote_id


def test_unclear_write_does_not_adopt_another_posts_copy(env):  # noqa: F811
    pub, x, _bs, store, clock, _ = env
    pub.publish_post(post("a", ("Same words",)), platforms=["x"])
    clock.advance(25 * 3600)  # past X's duplicate window: the same words may go out again
    x.fail(Ambiguous("timed out", platform="x"))  # not applied; the lookup finds a's post
    out = pub.publish_post(post("b", ("Same words",)), platforms=["x"])
    a, b = (store.publications.lane(p, "x")[0] for p in ("a", "b"))
    assert out["x"].state == "sent" and len(x.calls) == 2 + 1  # a, b (unclear), b again
    assert b.remote_id == x.posts[1]["id"] and b.remote_id != a.remote_id


def test_reconcile_does_not_adopt_another_posts_copy(env):  # noqa: F811
    pub, x, _bs, store, clock, lines = env
    pub.publish_post(post("a", ("Same words",)), platforms=["x"])
    a_id = store.publications.lane("a", "x")[0].remote_id
    store.publications.claim("b", "x", [(0, "Same words", None)], "h", DEAD, clock.now(),
                             timedelta(minutes=15))  # a crash before b's write was sent
    fresh = Publisher(pub.config, store, clock=clock, platforms={"x": x}, log=lines.append)
    fresh.reconcile()
    b = store.publications.lane("b", "x")[0]
    assert b.state == "deferred" and b.remote_id is None
    assert store.publications.lane("a", "x")[0].remote_id == a_id


def test_reconcile_gives_a_shared_text_to_the_oldest_claim(env):  # noqa: F811
    pub, x, _bs, store, clock, lines = env
    for pid in ("z-first", "a-second"):  # claimed in this order, by a process now dead
        store.publications.claim(pid, "x", [(0, "Same words", None)], "h", DEAD, clock.now(),
                                 timedelta(minutes=15))
        clock.advance(1)
    x.posts.append({"id": "77", "key": None, "text": "Same words", "parent": None, "media": [],
                    "langs": ("en",), "link": None, "at": clock.now()})
    fresh = Publisher(pub.config, store, clock=clock, platforms={"x": x}, log=lines.append)
    fresh.reconcile()
    first, second = (store.publications.lane(p, "x")[0] for p in ("z-first", "a-second"))
    assert (first.state, first.remote_id) == ("sent", "77")
    assert (second.state, second.remote_id) == ("deferred", None)


def test_adopt_refuses_owned_and_live_in_flight_text(env):  # noqa: F811
    pub, _x, _bs, store, clock, _ = env
    pubs, now, lease = store.publications, clock.now(), timedelta(minutes=15)
    hit = Remote("x", "55", "https://x.test/55")
    pubs.claim("a", "x", [(0, "Same", None)], "h", pub.owner, now, lease)  # live: this process
    pubs.claim("b", "x", [(0, "Same", None)], "h", DEAD, now, lease)
    blocking = pubs.adopt("b", "x", 0, hit, now, "Same")
    assert blocking is not None and (blocking.post_id, blocking.remote_id) == ("a", None)
    assert pubs.lane("b", "x")[0].state == "claimed"
    pubs.mark_sent("a", "x", 0, hit, now)
    owned = pubs.adopt("b", "x", 0, hit, now, "Same", stale_blocks=False)
    assert owned is not None and (owned.post_id, owned.remote_id) == ("a", "55")
    # a dead process's same-text claim blocks the loop, but not reconciliation itself
    pubs.claim("c", "x", [(0, "Other", None)], "h", DEAD, now, lease)
    pubs.claim("d", "x", [(0, "Other", None)], "h", pub.owner, now, lease)
    other = Remote("x", "56", "https://x.test/56")
    assert pubs.adopt("d", "x", 0, other, now, "Other").post_id == "c"  # type: ignore[union-attr]
    assert pubs.adopt("d", "x", 0, other, now, "Other", stale_blocks=False) is None
    assert pubs.lane("d", "x")[0].remote_id == "56"

