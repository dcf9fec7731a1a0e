"""Publisher.request_stop: the part in flight completes and is recorded, nothing new is claimed,
and a retry or rate-limit wait ends at once with its claim released for the next run."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from tests.fixtures.publish import make_project
from tests.publish.fakes import FakePlatform
from tests.publish.test_publish_loop import env, post  # noqa: F401  (env is a fixture)
from uprbuzz.clock import FixedClock, SystemClock
from uprbuzz.config import Config, load_config
from uprbuzz.platforms.base import Ambiguous, RateLimited
from uprbuzz.publish.lane import STOPPING
from uprbuzz.publish.publisher import Publisher
from uprbuzz.store import Store


def test_stop_mid_thread_finishes_the_part_in_flight_only(env):  # noqa: F811
    pub, x, _bs, store, clock, lines = env
    x.on_publish = lambda parts, keys: pub.request_stop()  # arrives while part 1 is being sent
    out = pub.publish_post(post("t", ("one", "two", "three")), platforms=["x"])
    assert x.texts() == ["one"] and len(x.calls) == 1
    assert out["x"].state == "deferred" and out["x"].message == STOPPING
    assert [r.id for r in out["x"].remotes] == [x.posts[0]["id"]]
    rows = store.publications.lane("t", "x")
    assert list(rows) == [0] and rows[0].state == "sent"  # parts 2 and 3 were never claimed
    again = pub.publish_post(post("u", ("other",)), platforms=["x"])
    assert again["x"].state == "deferred" and len(x.calls) == 1
    assert store.publications.rows("u") == []
    x.on_publish = None
    nxt = Publisher(pub.config, store, clock=clock, platforms={"x": x}, log=lines.append)
    assert nxt.publish_post(post("t", ("one", "two", "three")), platforms=["x"])["x"].state == "sent"
    assert x.texts() == ["one", "two", "three"]
    assert [p["parent"] for p in x.posts] == [None, x.posts[0]["id"], x.posts[1]["id"]]


def test_stop_in_publish_due_claims_no_other_post(tmp_path, store_url):
    now = datetime(2020, 11, 9, 14, 0, tzinfo=UTC)
    root = make_project(tmp_path / "p", {
        f"p{i}.md": f"---\nat: 2020-11-09T13:5{i}:00+00:00\nstatus: approved\nplatforms: [x]\n"
                    f"---\npost {i}\n" for i in range(3)})
    config = load_config(root, env={"UPRBUZZ_STATE": store_url})
    clock = FixedClock(now)
    x = FakePlatform("x", clock=clock)
    with Store.open(config) as store:
        pub = Publisher(config, store, clock=clock, platforms={"x": x}, log=lambda _l: None)
        x.on_publish = lambda parts, keys: pub.request_stop()
        report = pub.publish_due()
        assert x.texts() == ["post 0"]
        assert [(r.post_id, r.state) for r in store.publications.rows()] == [("p0", "sent")]
        assert [(i.post_id, i.state, i.message) for i in report.items] == [
            ("p0", "sent", ""), ("p1", "deferred", STOPPING), ("p2", "deferred", STOPPING)]
        x.on_publish = None
        Publisher(config, store, clock=clock, platforms={"x": x}).publish_due()
        assert x.texts() == ["post 0", "post 1", "post 2"]


def _real_time(tmp_path, store_url, **kw):
    store = Store.open(store_url)
    x = FakePlatform("x")
    pub = Publisher(Config(root=tmp_path, state=store_url), store, clock=SystemClock(),
                    platforms={"x": x},
                    log=lambda _l: None, **kw)
    return pub, x, store


def _stop_soon(pub: Publisher) -> threading.Timer:
    t = threading.Timer(0.3, pub.request_stop)
    t.start()
    return t


def test_stop_cuts_a_rate_limit_wait_short_and_releases_the_claim(tmp_path, store_url):
    pub, x, store = _real_time(tmp_path, store_url, max_rate_wait=60)
    reset = datetime.now(UTC) + timedelta(seconds=30)
    x.fail(RateLimited("429", platform="x", reset_at=reset))
    _stop_soon(pub)
    t0 = time.monotonic()
    out = pub.publish_post(post("a", ("hello",)), platforms=["x"])
    assert time.monotonic() - t0 < 5
    row = store.publications.lane("a", "x")[0]
    assert out["x"].state == "deferred" and (row.state, row.kind, row.owner) == (
        "deferred", "stopped", None)
    assert row.not_before is None and x.posts == []
    nxt = Publisher(pub.config, store, platforms={"x": x}, log=lambda _l: None)
    assert nxt.publish_post(post("a", ("hello",)), platforms=["x"])["x"].state == "sent"
    assert x.texts() == ["hello"]
    store.close()


def test_stop_during_a_retry_after_an_unclear_write_leaves_it_to_reconcile(tmp_path, store_url):
    pub, x, store = _real_time(tmp_path, store_url, backoff_base=40, backoff_cap=40)
    x.fail(Ambiguous("timed out", platform="x"))  # not applied; lookup finds nothing; backoff
    _stop_soon(pub)
    t0 = time.monotonic()
    out = pub.publish_post(post("a", ("hello",)), platforms=["x"])
    assert time.monotonic() - t0 < 5 and out["x"].state == "unknown"
    row = store.publications.lane("a", "x")[0]
    assert (row.state, row.owner) == ("unknown", None) and x.posts == []
    nxt = Publisher(pub.config, store, platforms={"x": x}, log=lambda _l: None)
    assert nxt.publish_post(post("a", ("hello",)), platforms=["x"])["x"].state == "sent"
    assert x.texts() == ["hello"] and x.lookups == 2  # the unclear write, then reconciliation
    store.close()
