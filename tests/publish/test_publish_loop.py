"""The publish loop's exactly-once and error policy, against in-memory platforms and a real
ledger, SQLite and PostgreSQL (``store_url``; the e2e tests drive the same loop against the X stand-in and the real PDS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.publish.fakes import FakePlatform
from uprbuzz.clock import FixedClock
from uprbuzz.config import Config
from uprbuzz.model import Media, Part, Post
from uprbuzz.platforms.base import (
    Ambiguous,
    AuthFailed,
    DuplicateContent,
    RateLimited,
    Rejected,
    TransientError,
)
from uprbuzz.publish.publisher import Publisher, remote_records
from uprbuzz.store import Store

T0 = datetime(2020, 11, 9, 13, 30, tzinfo=UTC)


@pytest.fixture
def env(tmp_path, store_url):
    config = Config(root=tmp_path, state=store_url)
    store = Store.open(store_url)
    clock = FixedClock(T0)
    x, bs = FakePlatform("x", clock=clock), FakePlatform("bluesky", atomic=True, clock=clock)
    lines: list[str] = []
    pub = Publisher(config, store, clock=clock, platforms={"x": x, "bluesky": bs},
                    log=lines.append, backoff_base=0.5)
    yield pub, x, bs, store, clock, lines
    store.close()


def post(pid="review/a", texts=("hello",), **kw) -> Post:
    return Post(pid, tuple(Part(t) for t in texts), at=T0, status="approved", **kw)


def test_single_post_goes_out_once_per_platform(env):
    pub, x, bs, store, _, lines = env
    out = pub.publish_post(post())
    assert {n: o.state for n, o in out.items()} == {"x": "sent", "bluesky": "sent"}
    assert x.texts() == ["hello"] and bs.texts() == ["hello"]
    again = pub.publish_post(post())
    assert again["x"].state == "sent" and not again["x"].new
    assert len(x.posts) == 1 and len(bs.posts) == 1
    assert any(line.startswith("x: posted review/a part 1 -> https://x.test/") for line in lines)
    recs = remote_records(store, "review/a")
    assert [r.id for r in recs["x"]] == [x.posts[0]["id"]]


def test_atomic_thread_is_one_write_with_keys_claimed_first(env):
    pub, x, bs, store, _, _ = env
    seen = {}

    def check_claimed(parts, keys):  # at send time the keys are already in the ledger
        rows = store.publications.lane("t", "bluesky")
        seen["rows"] = [(r.state, r.idem_key) for r in rows.values()]

    bs.on_publish = check_claimed
    pub.publish_post(post("t", ("one", "two", "three")))
    assert bs.calls == [["one", "two", "three"]]
    assert seen["rows"] == [("claimed", k) for k in bs.keys_seen[0]]
    assert all(bs.keys_seen[0])
    # X: part by part, each replying to the previous one
    assert x.calls == [["one"], ["two"], ["three"]]
    assert [p["parent"] for p in x.posts] == [None, x.posts[0]["id"], x.posts[1]["id"]]


def test_x_thread_failing_at_part_k_resumes_at_part_k(env):
    pub, x, bs, store, _, _ = env
    calls = iter([None, Rejected("boom", platform="x")])

    orig = x.publish

    def flaky(parts, keys, reply_to=None):
        err = next(calls, None)
        if err:
            raise err
        return orig(parts, keys, reply_to)

    x.publish = flaky
    out = pub.publish_post(post("t", ("one", "two", "three")))
    assert out["x"].state == "failed" and "boom" in out["x"].message
    assert out["bluesky"].state == "sent"  # one platform failing never blocks the other
    assert x.texts() == ["one"]
    # a rejection is never retried for the same content ...
    x.publish = orig
    assert pub.publish_post(post("t", ("one", "two", "three")))["x"].state == "failed"
    assert x.texts() == ["one"]
    # ... but an edited part 2 is, resuming at part 2 under part 1
    out = pub.publish_post(post("t", ("one", "two!", "three")))
    assert out["x"].state == "sent"
    assert x.texts() == ["one", "two!", "three"]
    assert x.posts[1]["parent"] == x.posts[0]["id"]


def test_transient_errors_back_off_then_defer(env):
    pub, x, bs, store, clock, _ = env
    x.fail(TransientError("503", platform="x"), times=2)
    start = clock.now()
    assert pub.publish_post(post())["x"].state == "sent"
    waited = (clock.now() - start).total_seconds()
    assert 0.25 * 3 / 2 <= waited <= 0.5 + 1.0  # two backoffs (0.5 s, 1 s, half jittered)
    x.fail(TransientError("503", platform="x"), times=10)
    out = pub.publish_post(post("b"))
    assert out["x"].state == "deferred" and out["x"].not_before > clock.now()
    assert len(x.calls) == 3 + pub.max_attempts
    row = store.publications.lane("b", "x")[0]
    assert row.state == "deferred" and row.owner is None


def test_rate_limit_near_waits_exactly_and_far_defers(env):
    pub, x, bs, store, clock, lines = env
    reset = clock.now() + timedelta(seconds=20)
    x.fail(RateLimited("429", platform="x", reset_at=reset))
    assert pub.publish_post(post())["x"].state == "sent"
    (when, woke), = pub.waits
    assert when == reset and timedelta(0) <= woke - reset <= timedelta(seconds=1)
    far = clock.now() + timedelta(minutes=15)
    x.fail(RateLimited("429", platform="x", reset_at=far))
    out = pub.publish_post(post("b"))
    assert out["x"].state == "deferred" and out["x"].not_before == far
    assert any("rate limited until" in line and "deferring" in line for line in lines)
    n = len(x.calls)
    out = pub.publish_post(post("c"))  # the platform is not hammered again this run
    assert out["x"].state == "deferred" and len(x.calls) == n
    assert out["bluesky"].state == "sent"


def test_ambiguous_applied_is_reconciled_not_resent(env):
    pub, x, bs, *_ = env
    x.fail(Ambiguous("timeout", platform="x"), applied=True)
    bs.fail(Ambiguous("timeout", platform="bluesky"), applied=True)
    out = pub.publish_post(post("t", ("one", "two")))
    assert out["x"].state == "sent" and out["bluesky"].state == "sent"
    assert x.texts() == ["one", "two"] and bs.texts() == ["one", "two"]


def test_ambiguous_not_applied_is_retried(env):
    pub, x, bs, *_ = env
    x.fail(Ambiguous("dropped", platform="x"))
    bs.fail(Ambiguous("dropped", platform="bluesky"))
    out = pub.publish_post(post())
    assert out["x"].state == "sent" and x.texts() == ["hello"]
    assert bs.texts() == ["hello"] and bs.keys_seen[0] == bs.keys_seen[1]  # same rkey reused


def test_duplicate_content_counts_as_published(env):
    pub, x, *_ = env
    x.fail(DuplicateContent("duplicate content", platform="x"), applied=True)
    out = pub.publish_post(post())
    assert out["x"].state == "sent" and len(x.posts) == 1


def test_auth_failure_blocks_only_that_platform(env):
    pub, x, bs, store, *_ = env
    x.fail(AuthFailed("401 Unauthorized", platform="x"))
    out = pub.publish_post(post())
    assert out["x"].state == "failed" and "authentication failed" in out["x"].message
    assert out["bluesky"].state == "sent"
    out = pub.publish_post(post("b"))
    assert out["x"].state == "failed" and len(x.calls) == 1


def test_reconcile_after_crash(env):
    pub, x, bs, store, clock, lines = env
    import socket
    host = socket.gethostname()
    # crash after the X write landed, before it was recorded
    store.publications.claim("a", "x", [(0, "landed", None)], "h", "o", clock.now(),
                             timedelta(minutes=15))
    x.posts.append({"id": "77", "key": None, "text": "landed", "parent": None, "media": [],
                    "langs": ("en",), "link": None, "at": clock.now()})
    # crash before a Bluesky write was sent
    key = bs.new_keys(1)[0]  # a real TID, chosen before the crash as the loop does
    store.publications.claim("b", "bluesky", [(0, "lost", key)], "h", "o", clock.now(),
                             timedelta(minutes=15))
    store.db.execute("UPDATE publications SET owner=?", (f"{host}:999999999:1:dead",))
    pub.reconcile()
    a = store.publications.lane("a", "x")[0]
    b = store.publications.lane("b", "bluesky")[0]
    assert a.state == "sent" and a.remote_id == "77"
    assert b.state == "deferred" and b.idem_key == key
    pub.publish_post(post("b", ("lost",)), platforms=["bluesky"])
    assert bs.keys_seen == [[key]] and bs.texts() == ["lost"]
    pub.publish_post(post("a", ("landed",)), platforms=["x"])
    assert x.texts() == ["landed"]


def test_live_owner_claim_is_skipped(env):
    pub, x, bs, store, clock, _ = env
    other = Publisher(pub.config, store, clock=clock, platforms={"x": x, "bluesky": bs})
    store.publications.claim("a", "x", [(0, "hello", None)], "h", other.owner, clock.now(),
                             other.lease)
    pub.reconcile()
    out = pub.publish_post(post("a"), platforms=["x"])
    assert out["x"].state == "skipped" and x.calls == []
    # once its lease runs out, the claim is someone else's to reconcile
    clock.advance(timedelta(minutes=16))
    pub._reconciled = False
    out = pub.publish_post(post("a"), platforms=["x"])
    assert out["x"].state == "sent" and x.texts() == ["hello"]


def test_retract_deletes_every_part_and_blocks_republish(env):
    pub, x, bs, store, *_ = env
    pub.publish_post(post("t", ("one", "two")))
    ids = [p["id"] for p in x.posts]
    report = pub.retract("t")
    assert report.ok and {i.platform for i in report.retracted} == {"x", "bluesky"}
    assert x.deleted == ids[::-1] and x.posts == [] and bs.posts == []
    assert {r.state for r in store.publications.rows("t")} == {"retracted"}
    out = pub.publish_post(post("t", ("one", "two")))
    assert x.posts == [] and out["x"].state == "retracted"
    assert not pub.retract("nope").ok


def test_changed_post_does_not_resend_sent_parts(env):
    pub, x, bs, store, *_ = env
    x.fail(Rejected("nope", platform="x"))  # part 1 rejected on X only
    pub.publish_post(post("t", ("one",)))
    out = pub.publish_post(post("t", ("one, edited",)))
    assert "not resending" in out["bluesky"].message and bs.texts() == ["one"]
    assert out["x"].state == "sent" and x.texts() == ["one, edited"]


def test_media_read_and_probed(env, tmp_path):
    from PIL import Image

    pub, x, bs, *_ = env
    (tmp_path / "media").mkdir()
    Image.new("RGB", (64, 36), "red").save(tmp_path / "media" / "a.png")
    p = Post("m", (Part("pic", (Media("media/a.png", alt="A red box"),)),), at=T0,
             status="approved", link="https://example.org/")
    out = pub.publish_post(p)
    assert out["x"].state == "sent"
    assert x.posts[0]["media"] == [("A red box", 64, 36)] and x.posts[0]["link"] == "https://example.org/"
    bad = Post("m2", (Part("pic", (Media("../etc/passwd", alt="x"),)),), status="approved")
    out = pub.publish_post(bad)
    assert out["x"].state == "failed" and "outside the project" in out["x"].message


def test_other_machines_claim_waits_for_its_lease_then_is_reconciled_not_resent(env):
    """A claim made on another host cannot be checked by pid: while its lease runs it is that
    machine's; after, it is reconciled with the platform first (landed: adopted, never resent;
    not landed: sent under the key that machine chose)."""
    pub, x, bs, store, clock, _ = env
    lease = timedelta(minutes=15)
    geneva = "geneva-laptop.example:4242:1:abcd"  # another machine (its pid means nothing here)
    store.publications.claim("a", "x", [(0, "landed", None)], "h", geneva, clock.now(), lease)
    x.posts.append({"id": "88", "key": None, "text": "landed", "parent": None, "media": [],
                    "langs": ("en",), "link": None, "at": clock.now()})
    key = bs.new_keys(1)[0]
    store.publications.claim("b", "bluesky", [(0, "lost", key)], "h", geneva, clock.now(), lease)

    clock.advance(timedelta(minutes=10))  # the lease still runs: hands off
    pub.reconcile()
    out_a = pub.publish_post(post("a", ("landed",)), platforms=["x"])
    out_b = pub.publish_post(post("b", ("lost",)), platforms=["bluesky"])
    assert out_a["x"].state == out_b["bluesky"].state == "skipped"
    assert x.calls == [] and bs.keys_seen == []

    clock.advance(timedelta(minutes=6))  # Geneva went silent: its lease ran out
    pub._reconciled = False
    pub.reconcile()
    a = store.publications.lane("a", "x")[0]
    assert a.state == "sent" and a.remote_id == "88"  # found on X: adopted
    pub.publish_post(post("a", ("landed",)), platforms=["x"])
    pub.publish_post(post("b", ("lost",)), platforms=["bluesky"])
    assert x.texts() == ["landed"] and len(x.posts) == 1  # never sent twice
    assert bs.keys_seen == [[key]] and bs.texts() == ["lost"]  # Geneva's key, once
