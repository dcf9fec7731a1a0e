"""store.posts (versions seen, stored posts, published ids) and store.cache on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from uprbuzz.model import Media, Part, Post
from uprbuzz.store import Store


def post(text: str = "Hello", pid: str = "a") -> Post:
    return Post(pid, (Part(text, (Media("media/x.png", "An x"),)),),
                at=datetime(2020, 11, 9, 13, 30, tzinfo=UTC), status="approved",
                origin="feed")


def test_versions_are_recorded_once_per_content(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        store.posts.record_seen(post("one"))
        store.posts.record_seen(post("one"))
        store.posts.record_seen(post("two"))
        versions = store.posts.versions("a")
        assert [v["hash"] for v in versions] == [post("one").content_hash(), post("two").content_hash()]


def test_stored_posts_round_trip_and_replace(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.posts.put_stored(post("first"))
        store.posts.put_stored(post("second"))
        store.posts.put_stored(post("other", pid="b"))
    with Store.open(path) as store:  # survives reopening
        got = {p.id: p for p in store.posts.stored()}
        assert got["a"] == post("second") and got["b"].parts[0].text == "other"
        assert store.posts.get_stored("b") == post("other", pid="b")
        store.posts.delete_stored("b")
        assert [p.id for p in store.posts.stored()] == ["a"]


def test_published_ids_count_landed_or_maybe_landed_states(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        for pid, state in [("sent", "sent"), ("gone", "retracted"), ("unsure", "unknown"),
                           ("failed", "failed"), ("late", "missed"), ("later", "deferred")]:
            store.db.execute(
                "INSERT INTO publications (post_id, channel, part, content_hash, state, updated_at)"
                " VALUES (?, 'x', 0, 'h', ?, '2020-11-09T00:00:00+00:00')", (pid, state))
        assert store.posts.published_ids() == {"sent", "gone", "unsure"}


def test_parse_cache(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        c = store.cache
        c.put_many([("posts/a.md", "h1", b"r1"), ("posts/b.md", "h2", b"r2")])
        assert c.get("posts/a.md", "h1") == b"r1" and c.get("posts/a.md", "other") is None
        c.put("posts/a.md", "h3", b"r3")
        assert c.load_all() == {"posts/a.md": ("h3", b"r3"), "posts/b.md": ("h2", b"r2")}
        assert c.forget(keep=["posts/a.md"]) == 1 and list(c.load_all()) == ["posts/a.md"]


def test_whole_project_scan_drops_cache_rows_of_deleted_files(tmp_path) -> None:
    from uprbuzz.config import load_config
    from uprbuzz.sources.posts.collect import collect
    from uprbuzz.store import Store

    (tmp_path / "uprbuzz.toml").write_text('[project]\ntimezone = "UTC"\n', encoding="utf-8")
    posts = tmp_path / "posts"
    posts.mkdir()
    for name in ("a", "b"):
        (posts / f"{name}.md").write_text("---\nstatus: draft\n---\nHello\n", encoding="utf-8")
    config = load_config(tmp_path, env={})
    seen: list[tuple[int, int]] = []
    with Store.open(config) as store:
        collect(config, store, progress=lambda d, t: seen.append((d, t)))
        assert set(store.cache.load_all()) == {"posts/a.md", "posts/b.md"}
        assert seen and seen[-1] == (2, 2)  # a cold run reports its progress
        (posts / "b.md").unlink()
        collect(config, store, [posts / "a.md"])  # a partial scan keeps other rows
        assert set(store.cache.load_all()) == {"posts/a.md", "posts/b.md"}
        collect(config, store)
        assert set(store.cache.load_all()) == {"posts/a.md"}
