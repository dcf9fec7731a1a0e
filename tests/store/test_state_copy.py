"""`uprbuzz state copy`: SQLite -> PostgreSQL -> SQLite gives back every row of every table,
events keep their ids (so the ledger mark still holds), a non-empty destination is refused
unless --force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.publish import make_project, run_uprbuzz
from uprbuzz.model import Part, Post
from uprbuzz.platforms.base import Remote
from uprbuzz.store import Store, ledger_mark
from uprbuzz.store.live_tables import LiveStore
from uprbuzz.store.state_copy import CopyRefused, copy_state

NOW = datetime(2020, 11, 9, 13, 30, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def fill(store: Store) -> None:
    """Rows in every table, with the awkward values: NULLs, blobs, floats, quotes, % and ?."""
    pubs = store.publications
    for i in range(30):
        assert pubs.claim(f"review/{i}", "x", [(0, f"it's {i}% done?", None)], "h", "me", NOW,
                          LEASE)
        if i % 3:
            pubs.mark_sent(f"review/{i}", "x", 0, Remote("x", f"r{i}", f"https://x.test/{i}"), NOW)
    pubs.mark("late", "bluesky", 0, "missed", NOW, error="too late")
    store.sessions.save("bluesky", "a.test", '{"s": "ïñ"}')
    store.cache.put_many([(f"posts/{i}.md", f"h{i}", bytes([i, 0, 255]) * 50) for i in range(5)])
    store.feeds.subscribe("https://f.test/rss", NOW)
    store.feeds.record("https://f.test/rss", "k", None, None, NOW)
    post = Post("feed/1", (Part("Feed text"),), at=NOW, status="approved", origin="feed")
    store.posts.put_stored(post)
    store.posts.record_seen(post)
    store.db.execute("INSERT INTO rate_limits (platform, endpoint, remaining, reset_at, "
                     "updated_at) VALUES (?,?,?,?,?)", ("x", "/2/tweets", None, None, "now"))
    live = LiveStore(store.db)
    live.ensure_session("s", "src", "Title", NOW)
    live.add_sync("s", NOW, 0.1 + 0.2, NOW)
    live.add_mark("s", 1, "Speaker", 1 / 3)
    live.add_post("s", kind="text", text="hi", data_for=lambda n, pid: {}, speaker=None,
                  offset=None)
    live.set_cue("s", "c1", "fired")
    store.db.execute(
        "INSERT INTO records (doc, paragraph, text, states, themes, position, links, imported_at,"
        " updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        ("A/HRC/46/15", "26.1", "Consider ratifying \u00e9", '["Somalia"]', '["Ratification"]',
         "supported", '{"document": "https://docs.un.org/en/A/HRC/46/15"}', NOW, NOW))
    store.db.execute(
        "INSERT INTO engagement (post_id, channel, part, stage, taken_at, likes, reposts,"
        " impressions) VALUES (?,?,?,?,?,?,?,?)", ("p", "x", 0, "1h", NOW, 3, 1, None))


def dump(store: Store) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for t in store.db.tables():
        if t == "schema_migrations":
            continue
        cols = sorted(store.db.columns(t))
        rows = store.db.query(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{t}"')
        out[t] = sorted((tuple(r) for r in rows), key=repr)
    return out


def test_round_trip_sqlite_postgresql_sqlite_loses_nothing(tmp_path: Path, pg_url: str) -> None:
    root = make_project(tmp_path / "p", {})
    src = root / ".uprbuzz" / "state.sqlite"
    with Store.open(src) as store:
        fill(store)
        ledger_mark.advance(store, root)
        before = dump(store)
    assert all(before[t] for t in before), [t for t in before if not before[t]]

    r = run_uprbuzz(["state", "copy", str(src), pg_url], root, {})
    assert r.returncode == 0, r.stderr
    assert "copied events: " in r.stderr and "copied publications: 31 row(s)" in r.stderr
    with Store.open(pg_url) as pg:
        assert dump(pg) == before
        ledger_mark.verify(pg, root, pg_url)  # same ledger id, same last event: the mark holds
        last = ledger_mark.high_water(pg)
        pg.event("after the move")  # new ids follow the copied ones
        assert ledger_mark.high_water(pg) == last + 1
        before_back = dump(pg)

    back = tmp_path / "back.sqlite"
    r = run_uprbuzz(["state", "copy", pg_url, str(back)], root, {})
    assert r.returncode == 0, r.stderr
    with Store.open(back) as store:
        assert dump(store) == before_back
        store.event("and back again")
        assert ledger_mark.high_water(store) == last + 2


def test_a_non_empty_destination_is_refused_unless_forced(tmp_path: Path, store_url: str) -> None:
    src = tmp_path / "src.sqlite"
    with Store.open(src) as store:
        fill(store)
        want = dump(store)
    with Store.open(store_url) as dest:
        dest.event("already here")
    with pytest.raises(CopyRefused, match="not empty .*events"):
        copy_state(src, store_url)
    with Store.open(store_url) as dest:
        assert [e["event"] for e in dest.publications.events()] == ["already here"]
    seen: list[str] = []
    copy_state(src, store_url, force=True, progress=lambda c: seen.append(c.table))
    with Store.open(store_url) as dest:
        assert dump(dest) == want
    assert "publications" in seen and "schema_migrations" not in seen
    with pytest.raises(CopyRefused, match="same ledger"):
        copy_state(store_url, store_url)
    with pytest.raises(CopyRefused, match="no ledger here"):
        copy_state(tmp_path / "missing.sqlite", store_url)
