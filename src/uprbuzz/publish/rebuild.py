"""``uprbuzz state rebuild``: recover the ledger from what the platforms show.

Used when the ledger was lost, emptied or replaced by an older copy (store/ledger_mark.py
stops publishing until then). For every approved post whose time has come, on every channel
it is routed to, each part the ledger has no row for is claimed as if a crashed process had
left it in flight: with the keys the publish loop derives (platforms.base.KeySeed), dated at
the post's time. The publish loop's own reconciliation then asks each platform about it (Bluesky:
the record at the derived key; X and Mastodon: the account's recent posts, matched by exact
text) and adopts what it finds as sent. A part it cannot find is forgotten again, so the due
rule decides about it as before (a post past ``late_limit`` stays missed, not sent late).
Finally the project's ledger mark is rewritten for this ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from uprbuzz.platforms.base import KeySeed, PlatformError
from uprbuzz.publish import due_rule
from uprbuzz.publish.prepare import MediaReader, PrepareError, outgoing_parts, render_cards
from uprbuzz.publish.publisher import Publisher
from uprbuzz.store import ledger_mark

if TYPE_CHECKING:
    from uprbuzz.clock import Clock
    from uprbuzz.config import Config
    from uprbuzz.platforms.base import Platform
    from uprbuzz.store import Store

OWNER = "state-rebuild"  # not a process: the claims are stale at once, for reconcile to take
LOOKBACK = timedelta(days=30)  # how far back a post without a time is looked for


@dataclass
class Found:
    post_id: str
    channel: str
    part: int
    url: str = ""
    why: str = ""


@dataclass
class RebuildReport:
    adopted: list[Found] = field(default_factory=list)  # found on the platform: now sent
    missing: list[Found] = field(default_factory=list)  # not found: the due rule decides
    unchecked: list[Found] = field(default_factory=list)  # could not be asked (why)
    known: int = 0  # parts the ledger already had a row for

    def as_dict(self) -> dict[str, object]:
        def rows(xs: list[Found]) -> list[dict[str, object]]:
            return [vars(x) for x in xs]

        return {"adopted": rows(self.adopted), "missing": rows(self.missing),
                "unchecked": rows(self.unchecked), "known": self.known}


def rebuild(config: Config, store: Store, *, log: Callable[[str], None],
            clock: Clock | None = None, platforms: dict[str, Platform] | None = None
            ) -> RebuildReport:
    from uprbuzz.sources.gather import load_all

    report = RebuildReport()
    pub = Publisher(config, store, clock=clock, platforms=platforms, log=lambda _line: None)
    now = pub.now()
    pubs = store.publications
    posts = due_rule.unique_posts(load_all(config, store).posts)
    reader = MediaReader(config)
    mine: set[tuple[str, str, int]] = set()
    todo = [p for p in posts.values() if p.status == "approved" and (p.at is None or p.at <= now)]
    todo.sort(key=lambda p: (p.at or now, p.id))
    log(f"checking {len(todo)} post(s) whose time has come against the platforms")
    for post in todo:
        chash = post.content_hash()
        targets = config.route(post)
        try:
            ready = render_cards(post, config)
            parts = {ch.name: outgoing_parts(ready, ch, reader) for ch in targets}
        except PrepareError as e:
            report.unchecked += [Found(post.id, ch.name, 0, why=str(e)) for ch in targets]
            continue
        for ch in targets:
            lane = pubs.lane(post.id, ch.name)
            report.known += sum(1 for k in range(len(parts[ch.name])) if k in lane)
            new = [k for k in range(len(parts[ch.name])) if k not in lane]
            if not new:
                continue
            try:
                keys = pub.platform(ch.name).new_keys(len(parts[ch.name]),
                                                      KeySeed(post.id, chash, 0, post.at))
            except PlatformError as e:
                report.unchecked += [Found(post.id, ch.name, k, why=e.message) for k in new]
                continue
            claimed_at = post.at or now - LOOKBACK
            got = pubs.claim(post.id, ch.name,
                             [(k, parts[ch.name][k].text, keys[k]) for k in new],
                             chash, OWNER, claimed_at, timedelta(0))
            if got is not None:
                mine.update((post.id, ch.name, k) for k in new)
    log(f"asking the platforms about {len(mine)} part(s) the ledger did not know")
    pub.settle_stale()
    for post_id, channel, part in sorted(mine):
        row = pubs.lane(post_id, channel).get(part)
        if row is None:
            continue
        if row.state == "sent":
            report.adopted.append(Found(post_id, channel, part, url=row.url or row.uri or ""))
        elif row.state == "deferred" and row.kind is None:  # reconcile: "did not land"
            pubs.forget(post_id, channel, part, now, "state rebuild: not found on the platform")
            report.missing.append(Found(post_id, channel, part))
        else:  # the platform could not be asked (unknown): the next run asks again
            report.unchecked.append(Found(post_id, channel, part, why=row.error or row.state))
    ledger_mark.advance(store, config.root)
    return report
