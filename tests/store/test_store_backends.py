"""Every store module on both backends (``store_url``: a SQLite file, then a real PostgreSQL):
the same calls give the same answers, rows read the same way, text sorts the same way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from uprbuzz.model import Part, Post
from uprbuzz.platforms.base import Remote
from uprbuzz.store import Store
from uprbuzz.store.live_tables import LiveStore

NOW = datetime(2020, 11, 9, 13, 30, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        yield s


def test_rows_answer_by_name_by_position_and_as_dicts(store):
    store.event("hello", "50% done", post_id="p", channel="x", part=0)
    [r] = store.db.query("SELECT id, event, detail, part FROM events WHERE post_id=?", ("p",))
    assert r["event"] == r[1] == "hello" and r["EVENT"] == "hello"
    assert dict(r) == {"id": 1, "event": "hello", "detail": "50% done", "part": 0}
    assert list(r.keys()) == ["id", "event", "detail", "part"] and len(r) == 4
    (n,) = store.db.query("SELECT COUNT(*) FROM events WHERE detail LIKE '50%'")[0]
    assert n == 1
    with store.db.transaction() as c:
        assert c.execute("SELECT * FROM events WHERE post_id=?", ("none",)).fetchone() is None
        cur = c.execute("UPDATE events SET detail=? WHERE post_id=?", ("x", "p"))
        assert cur.rowcount == 1
        assert [tuple(row) for row in c.execute("SELECT post_id, part FROM events")] == [("p", 0)]
    assert store.db.version >= 4 and "publications" in store.db.tables()


def test_text_sorts_byte_by_byte_as_sqlite(store):
    ids = ["b", "B", "a-b", "a_b", "a", "é", "Z", "a b", "10", "9"]
    for i in ids:
        store.db.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (i, "v"))
    got = [r[0] for r in store.db.query("SELECT key FROM kv ORDER BY key")]
    assert got == sorted(ids, key=lambda s: s.encode())
    # ISO times compared as text (the budget, leases): same answers
    assert [r[0] for r in store.db.query("SELECT key FROM kv WHERE key > ? ORDER BY key",
                                         ("Z",))] == ["a", "a b", "a-b", "a_b", "b", "é"]


def test_ledger_claims_and_results(store):
    pubs = store.publications
    assert pubs.claim("p", "x", [(0, "one", None), (1, "two", None)], "h", "me", NOW, LEASE)
    assert pubs.claim("p", "x", [(0, "one", None)], "h", "other", NOW, LEASE) is None
    [row] = [r for r in pubs.stale(NOW + 2 * LEASE, "other") if r.part == 0]
    assert pubs.take_over(row, "other", NOW, LEASE)
    assert not pubs.take_over(row, "third", NOW, LEASE)  # compare-and-set on the old owner
    released = pubs.lane("p", "x")[1]
    pubs.mark("p", "x", 1, "deferred", NOW, error="wait")
    assert pubs.lane("p", "x")[1].owner is None and released.owner == "me"
    pubs.mark_sent("p", "x", 0, Remote("x", "r0", "https://x.test/r0"), NOW)
    assert pubs.adopt("q", "x", 0, Remote("x", "r0", "u"), NOW, "one").post_id == "p"
    pubs.note("p", "x", 0, NOW, "edited since")
    pubs.rename("p", "p2", "x", NOW)
    assert [r.state for r in pubs.rows("p2")] == ["sent", "deferred"]
    assert pubs.lane("p2", "x")[0].error == "edited since"
    pubs.mark_retracted("p2", "x", 0, NOW)
    pubs.forget("p2", "x", 1, NOW, "gone")
    assert [(r.part, r.state) for r in pubs.rows("p2")] == [(0, "retracted")]
    assert pubs.by_post().keys() == {"p2"}
    events = [e["event"] for e in pubs.events()]
    assert events[:2] == ["claimed", "claimed"] and events[-2:] == ["retracted", "forgotten"]
    ids = [e["id"] for e in pubs.events()]
    assert ids == list(range(1, len(ids) + 1))


def test_sessions_cache_feeds_and_posts(store):
    store.sessions.save("bluesky", "a.test", "s1")
    store.sessions.save("bluesky", "a.test", "s2")
    assert store.sessions.load("bluesky", "a.test") == "s2"
    store.sessions.clear("bluesky", "a.test")
    assert store.sessions.load("bluesky", "a.test") is None

    blob = bytes(range(256)) * 4
    store.cache.put_many([("a.md", "h1", blob), ("b.md", "h2", b"")])
    assert store.cache.get("a.md", "h1") == blob and store.cache.get("a.md", "zz") is None
    assert store.cache.load_all() == {"a.md": ("h1", blob), "b.md": ("h2", b"")}
    assert type(store.cache.load_all()["a.md"][1]) is bytes
    assert store.cache.forget(["a.md"]) == 1 and store.cache.drop(["a.md"]) == 1
    assert store.cache.load_all() == {}

    st = store.feeds.subscribe("f", NOW)
    assert store.feeds.subscribe("f", NOW + LEASE).subscribed_at == st.subscribed_at
    store.feeds.polled("f", '"etag"', None, NOW)
    assert store.feeds.state("f").etag == '"etag"'
    assert store.feeds.record("f", "k1", "feed/1", NOW, NOW)
    assert not store.feeds.record("f", "k1", "feed/1", NOW, NOW)  # another poller got there
    assert store.feeds.seen_keys("f") == {"k1"} and store.feeds.post_id_owner("feed/1") == ("f", "k1")
    store.feeds.reset("f")
    assert store.feeds.state("f") is None

    post = Post("feed/1", (Part("Text with 100% and ? marks"),), at=NOW, status="approved",
                origin="feed")
    store.posts.record_seen_many([post, post])
    store.posts.put_stored(post)
    assert store.posts.get_stored("feed/1") == post and store.posts.stored() == [post]
    assert [v["hash"] for v in store.posts.versions("feed/1")] == [post.content_hash()]
    assert store.publications.claim("feed/1", "x", [(0, "t", None)], "h", "me", NOW, LEASE)
    assert store.posts.published_ids() == {"feed/1"}
    store.posts.delete_stored("feed/1")
    assert store.posts.stored() == []


def test_live_tables(store):
    live = LiveStore(store.db)
    start = live.ensure_session("s", "src", "Title", NOW)
    assert live.ensure_session("s", "src", "Title", NOW + LEASE) == start
    live.add_sync("s", NOW, 12.5, NOW - timedelta(seconds=12.5))
    live.add_mark("s", 3, "Speaker", 61.25)
    assert live.marks("s") == {3: 61.25} and live.syncs("s")[0]["shown"] == 12.5
    p, made = live.add_post("s", kind="text", text="hi", data_for=lambda n, pid: {"n": n},
                            speaker="A", offset=1.5, client_id="c1")
    again, made2 = live.add_post("s", kind="text", text="hi", data_for=lambda n, pid: {},
                                 speaker="A", offset=1.5, client_id="c1")
    assert made and not made2 and again == p and p.offset == 1.5 and p.data == {"n": 1}
    upd = live.update_platform("s", p.n, "x", ("x", "bluesky"), state="sent", url="u")
    assert upd.state == "sending" and upd.platforms["x"]["url"] == "u"
    assert live.set_cue("s", "c", "fired") and not live.set_cue("s", "c", "skipped")
    live.set_cue_post("s", "c", p.post_id)
    assert live.cues("s")["c"]["post_id"] == p.post_id
    live.set_template("s", "{text}")
    assert live.template("s") == "{text}" and [x.n for x in live.pending("s")] == [1]
    assert json.loads(json.dumps(live.sessions()[0]))["title"] == "Title"
