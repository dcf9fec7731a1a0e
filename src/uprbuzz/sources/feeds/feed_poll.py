"""Polling a feed: fetch (conditionally), pick the new items, make exactly one post for each.

Exactly once: every new item gets a post id derived from its link (``feed/<slug>``) before
anything is written; the post is written (draft file, or stored post), then the item is
recorded. A crash in between makes the next poll write the same file/post again (a file
already holding the item is kept), so a retry never makes a second post.

The fetch itself writes nothing and holds nothing. A caller that may be told to stop while a
fetch drips (the daemon's feed worker) passes ``writing``: every write a poll makes happens
inside ``writing()``, and when that yields False (stopping) the poll writes nothing more and
drops what it fetched, so the feed's state only ever moves after a complete fetch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from uprbuzz.model import Post
from uprbuzz.sources.feeds.feed_fetch import FeedError, Fetched, fetch
from uprbuzz.sources.feeds.feed_items import (
    FeedConfig,
    Item,
    feed_configs,
    item_post,
    item_slug,
    link_problem,
    parse_feed,
    wanted,
)

if TYPE_CHECKING:
    from uprbuzz.clock import Clock
    from uprbuzz.config import Config
    from uprbuzz.store import Store
    from uprbuzz.store.feed_state import FeedState

Fetcher = Callable[..., Fetched]
#: Entered around a poll's writes; yields False when the caller is stopping (write nothing).
Writing = Callable[[], AbstractContextManager[bool]]
FEED_DIR = "feed"  # under posts/


@dataclass
class PollResult:
    feed: str
    status: str  # ok | not-modified | error | stopped (the caller stopped it: nothing written)
    posts: list[Post] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # draft files written (relative to root)
    skipped: int = 0  # old (before the subscription), filtered by tags, already handled
    refused: list[str] = field(default_factory=list)  # items that may not be posted, and why
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "error"

    def summary(self) -> str:
        if self.status == "error":
            return f"{self.feed}: error: {self.error}"
        if self.status == "not-modified":
            return f"{self.feed}: not modified"
        if self.status == "stopped":
            return f"{self.feed}: stopped; nothing written (the next poll fetches it again)"
        made = ", ".join(p.id for p in self.posts) or "no new items"
        line = f"{self.feed}: {len(self.posts)} new ({made}); {self.skipped} skipped"
        if self.refused:
            line += f"; {len(self.refused)} refused: " + "; ".join(self.refused)
        return line

    def as_dict(self) -> dict[str, object]:
        return {"feed": self.feed, "status": self.status, "posts": [p.id for p in self.posts],
                "files": self.files, "skipped": self.skipped, "refused": self.refused,
                "warnings": self.warnings, "error": self.error}


def _free() -> AbstractContextManager[bool]:
    return nullcontext(True)


def poll_feed(config: Config, store: Store, feed: FeedConfig, *, clock: Clock,
              fetcher: Fetcher = fetch, writing: Writing | None = None) -> PollResult:
    writing = writing or _free
    now = clock.now()
    res = PollResult(feed.name, "ok")
    with writing() as may:
        if not may:
            res.status = "stopped"
            return res
        st = store.feeds.subscribe(feed.name, now)
        _attempted(store, feed.name, now)
    try:  # no lock held and nothing written while the server answers (or drips)
        got = fetcher(feed.url, etag=st.etag, last_modified=st.last_modified,
                      timeout=feed.timeout, max_bytes=feed.max_bytes)
        if got.status == 304:
            res.status = "not-modified"
            return res  # no parsing, no writes
        items, res.warnings = parse_feed(got.body)
    except FeedError as e:  # the cursor is not advanced: the next poll fetches again
        res.status, res.error = "error", str(e)
        return res
    with writing() as may:
        if not may:  # stopping: the fetch is dropped, the cursor stays where it was
            res.status, res.warnings = "stopped", []
            return res
        return _take(config, store, feed, st, items, got, now, res)


def _take(config: Config, store: Store, feed: FeedConfig, st: FeedState, items: list[Item],
          got: Fetched, now: datetime, res: PollResult) -> PollResult:
    """Write one post per new item of a complete fetch, then move the feed's cursor."""
    first = st.last_polled is None
    seen = store.feeds.seen_keys(feed.name)
    fresh = [it for it in items if it.key not in seen]
    res.skipped += len(items) - len(fresh)
    backfill: set[str] = set()
    if first and feed.backfill > 0:
        dated = sorted(((it.published, it) for it in fresh if it.published),
                       key=lambda pair: pair[0], reverse=True)
        backfill = {it.key for _, it in dated[:feed.backfill]}
    # Oldest first, so posts (and their approve-mode times) follow the blog's order.
    fresh.sort(key=lambda it: (it.published is None, it.published or now))
    done: set[str] = set()
    for it in fresh:
        if it.key in done:
            continue  # the same item twice in one document
        done.add(it.key)
        if not wanted(it, feed) or not _is_new(it, st.subscribed_at, first, backfill):
            store.feeds.record(feed.name, it.key, None, it.published, now)
            res.skipped += 1
            continue
        problem = link_problem(it)
        if problem:  # not recorded: once the blog fixes the link, the item is posted
            res.refused.append(problem)
            continue
        try:
            post, path = _make(config, store, feed, it, now)
        except FeedError as e:
            res.warnings.append(f"item {it.title[:60]!r} skipped: {e}")
            continue
        if store.feeds.record(feed.name, it.key, post.id, it.published, now):
            res.posts.append(post)
            if path:
                res.files.append(path)
    store.feeds.polled(feed.name, got.etag, got.last_modified, now)
    return res


def _is_new(it: Item, subscribed: datetime, first: bool, backfill: set[str]) -> bool:
    if it.key in backfill:
        return True
    if it.published is None:
        return not first  # undated items present at subscription time are old
    return it.published > subscribed


def _post_id(store: Store, config: Config, feed: FeedConfig, it: Item) -> str:
    """``feed/<slug>``; a slug already used by another item gets a short hash of the item."""
    pid = f"{FEED_DIR}/{item_slug(it)}"
    owner = store.feeds.post_id_owner(pid)
    if owner is not None:
        clash = owner != (feed.name, it.key)
    else:  # unrecorded: free, or left by a crashed poll of this very item
        path = _draft_path(config, pid)
        stored = store.posts.get_stored(pid)
        clash = (path.exists() and _marker(it) not in path.read_text(errors="replace")) or (
            stored is not None and stored.link != it.link)
    if clash:
        pid += "-" + hashlib.sha256(it.key.encode()).hexdigest()[:6]
    return pid


def _draft_path(config: Config, pid: str) -> Path:
    return config.root / config.posts_dir / f"{pid}.md"


def _marker(it: Item) -> str:
    return f"# feed-item: {it.key}"


def _make(config: Config, store: Store, feed: FeedConfig, it: Item,
          now: datetime) -> tuple[Post, str | None]:
    pid = _post_id(store, config, feed, it)
    if feed.mode == "approve":
        post = item_post(it, feed, pid, at=now, status="approved")
        store.posts.put_stored(post)
        return post, None
    post = item_post(it, feed, pid, at=None, status="draft")
    path = _draft_path(config, pid)
    if not path.exists():  # a file already holding this item is a crashed earlier poll's
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(draft_file(post, it, feed), encoding="utf-8")
        tmp.replace(path)
    return post, str(path.relative_to(config.root))


def draft_file(post: Post, it: Item, feed: FeedConfig) -> str:
    """A post file for staff review: status draft, no time (set one when approving)."""
    import yaml

    meta: dict[str, object] = {"status": "draft", "platforms": list(post.platforms),
                               "lang": post.langs[0]}
    if post.link:
        meta["link"] = post.link
    meta["tags"] = list(post.tags)
    if post.card:
        meta["card"] = {"template": post.card.template, **dict(post.card.fields)}
        if post.card.alt:
            meta["card"]["alt"] = post.card.alt  # type: ignore[index]
    head = [
        f"# From the {feed.name!r} feed: {it.title}"[:200],
        _marker(it),
        "# To publish: review the text, set `at:` (e.g. 2020-11-10 09:00) and `status: approved`.",
    ]
    body = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    text = post.parts[0].text
    return "---\n" + "\n".join(h.replace("\n", " ") for h in head) + "\n" + body + "---\n" + text + "\n"


def poll_feeds(config: Config, store: Store, names: list[str] | None = None, *,
             clock: Clock | None = None, fetcher: Fetcher = fetch,
             writing: Writing | None = None) -> list[PollResult]:
    from uprbuzz.clock import default_clock

    clock = clock or default_clock()
    feeds = feed_configs(config)
    if names:
        unknown = set(names) - {f.name for f in feeds}
        if unknown:
            raise FeedError(f"no feed named {', '.join(sorted(unknown))} in uprbuzz.toml "
                            f"(configured: {', '.join(f.name for f in feeds) or 'none'})")
        feeds = [f for f in feeds if f.name in names]
    return [poll_feed(config, store, f, clock=clock, fetcher=fetcher, writing=writing)
            for f in feeds]


def _attempted(store: Store, feed: str, now: datetime) -> None:
    # In kv, not feed_state: last_polled means "last success" (it ends the subscription's
    # first poll); the attempt time only paces retries of a failing feed.
    store.db.execute("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                     "SET value=excluded.value", (f"feed-attempt:{feed}", now.isoformat()))


def last_attempt(store: Store, feed: str) -> datetime | None:
    rows = store.db.query("SELECT value FROM kv WHERE key=?", (f"feed-attempt:{feed}",))
    return datetime.fromisoformat(rows[0][0]) if rows else None


# --- entry points for the scheduler (tick / run) -------------------------------------------------

def next_poll_time(config: Config, store: Store, now: datetime) -> datetime | None:
    """When the earliest configured feed is next due (its last attempt + its interval)."""
    times = []
    for f in feed_configs(config):
        last = last_attempt(store, f.name)
        times.append(now if last is None else last + f.interval)
    return min(times) if times else None


def poll_all(config: Config, store: Store, names: list[str] | None = None, *,
             now: datetime | None = None, log: Callable[[str], None] | None = None,
             due_only: bool = True, writing: Writing | None = None) -> list[str]:
    """Poll the feeds that are due (all of ``names`` when given); one summary line each."""
    from uprbuzz.clock import FixedClock, default_clock

    clock = FixedClock(now) if now is not None else default_clock()
    t = clock.now()
    if names is None and due_only:
        names = [f.name for f in feed_configs(config)
                 if (la := last_attempt(store, f.name)) is None or la + f.interval <= t]
        if not names:
            return []
    lines = []
    for r in poll_feeds(config, store, names, clock=clock, writing=writing):
        if r.status == "stopped":
            continue  # said once by the daemon, not once per feed
        line = "feed " + r.summary()
        lines.append(line)
        if log:
            log(line)
    return lines
