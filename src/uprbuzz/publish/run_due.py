"""Which posts are due, and the run over them (``Publisher.publish_due``).

What is due is the due rule's to say (due_rule.py, shared with the scheduler's wake-up and the
tick fast path); it reads only the post files and the ledger: with nothing due, no platform is
built, no SDK and no Pillow are imported (a cron tick stays cheap).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from uprbuzz.model import Post
from uprbuzz.publish import due_rule, post_edits
from uprbuzz.publish.lane import stopped_outcome
from uprbuzz.publish.report import Report
from uprbuzz.store.publications import PubRow

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.platforms.base import Remote
    from uprbuzz.publish.report import PlatformOutcome
    from uprbuzz.store import Store


class DueHost(Protocol):
    """What a run over the due posts needs from the Publisher."""

    config: Config
    store: Store

    @property
    def stopping(self) -> bool: ...

    def now(self) -> datetime: ...

    def log(self, line: str) -> None: ...

    def request_stop(self) -> None: ...

    def reconcile(self) -> None: ...

    def mark_ledger(self) -> None: ...

    def writes_many(self, channel: str) -> bool: ...

    def warm(self, channel: str) -> None: ...

    def publish_batch(self, channel: str, items: Sequence[tuple[Post, str]]
                      ) -> list[PlatformOutcome]: ...

    def publish_post(self, post: Post, reply_to: dict[str, tuple[Remote, Remote]] | None = None,
                     platforms: Sequence[str] | None = None, *, content_hash: str | None = None,
                     prepared: bool = False) -> dict[str, PlatformOutcome]: ...


def publish_due(pub: DueHost, post_ids: Sequence[str] | None, *, dry_run: bool = False
                ) -> Report:
    from uprbuzz.sources.gather import load_all

    report = Report()
    config, store = pub.config, pub.store
    if not dry_run:
        pub.reconcile()
    now = pub.now()
    loaded = load_all(config, store)
    posts = due_rule.unique_posts(loaded.posts)
    ledger = store.publications.by_post()
    if not dry_run and post_edits.tidy(config, store, posts, loaded.diagnostics, ledger, report,
                                       now, pub.log):
        ledger = store.publications.by_post()

    chosen: list[tuple[Post, bool]] = []
    if post_ids:
        for pid in dict.fromkeys(post_ids):
            post = posts.get(pid)
            if post is None:
                report.add(pid, "", "failed", "no such post (see `uprbuzz plan` for post ids)")
            elif post.status != "approved":
                report.add(pid, "", "failed", "is a draft; set `status: approved` to publish it")
            else:
                chosen.append((post, True))
    else:  # which lanes are due is the due rule's to say (_lanes_to_do): no filter here
        chosen = [(post, False) for post in posts.values()]
    chosen.sort(key=lambda pn: (pn[0].at or now, pn[0].id))

    work: list[tuple[Post, list[str]]] = []
    for post, named in chosen:
        lanes = _lanes_to_do(pub, post, ledger.get(post.id, []), named, now, report, dry_run)
        if lanes:
            work.append((post, lanes))

    if dry_run:
        for post, lanes in work:
            for name in lanes:
                ch = pub.config.channel(name)
                n = len((post.parts_on(name, ch.platform) if ch else None) or ())
                report.add(post.id, name, "dry-run", f"would publish {n} part(s)")
        return report

    try:
        _run_lanes(pub, work, loaded.diagnostics, report)
    finally:
        pub.mark_ledger()
    return report


def _run_lanes(pub: DueHost, work: list[tuple[Post, list[str]]], diagnostics: list,
               report: Report) -> None:
    """One worker per channel, each sending its posts in order; a slow or failing channel
    never holds up another. Posts are prepared (cards rendered, checks run) once, in order,
    and handed to their channels' workers as soon as they are ready."""
    channels = list(dict.fromkeys(name for _, lanes in work for name in lanes))
    # (post id, (ready post, content hash) or None when it will not be sent in this run)
    Item = tuple[str, tuple[Post, str] | None]
    queues: dict[str, queue.Queue[Item | None]] = {c: queue.Queue() for c in channels}
    lock = threading.Lock()

    errors: list[BaseException] = []  # what stopped a channel's worker: raised at the end

    def _send(channel: str, ready: list[tuple[str, tuple[Post, str]]]) -> list[PlatformOutcome]:
        if len(ready) > 1:
            return pub.publish_batch(channel, [prep for _, prep in ready])
        post, chash = ready[0][1]
        return [pub.publish_post(post, platforms=[channel], content_hash=chash,
                                 prepared=True)[channel]]

    def worker(channel: str) -> None:
        batched = pub.writes_many(channel)
        pub.warm(channel)  # log in while the first posts are still being checked
        done = False
        while not done:
            items = [queues[channel].get()]
            # a channel that writes many posts at once takes every post ready by now
            while batched and items[-1] is not None:
                try:
                    items.append(queues[channel].get_nowait())
                except queue.Empty:
                    break
            if items[-1] is None:
                done = True
                items.pop()
            # refused before sending (None): already recorded and reported
            ready = [(it[0], it[1]) for it in items if it is not None and it[1] is not None]
            if not ready:
                continue
            if pub.stopping:  # reported, never recorded: the next run finds it due as before
                outcomes = [stopped_outcome(channel) for _ in ready]
            else:
                try:
                    outcomes = _send(channel, ready)
                except BaseException as e:  # noqa: BLE001 - the ledger failed (StoreError) or a
                    # bug: the run stops (the other channels too) and the main thread raises it
                    with lock:
                        errors.append(e)
                    pub.request_stop()
                    outcomes = [stopped_outcome(channel) for _ in ready]
            with lock:
                for (post_id, _), outcome in zip(ready, outcomes, strict=True):
                    report.add_outcome(post_id, outcome)

    threads = [threading.Thread(target=worker, args=(c,), name=f"lane-{c}", daemon=True)
               for c in channels]
    for t in threads:
        t.start()
    try:
        for post, lanes in work:
            if pub.stopping:  # the workers report it stopped, in each channel's order
                prepared: tuple[Post, str] | None = (post, post.content_hash())
            else:
                prepared = _prepare(pub, post, lanes, diagnostics, report, lock)
            for name in lanes:
                queues[name].put((post.id, prepared))
    finally:
        for c in channels:
            queues[c].put(None)
        for t in threads:
            t.join()
    if errors:
        raise errors[0]


def _lanes_to_do(pub: DueHost, post: Post, rows: list[PubRow], named: bool, now: datetime,
                 report: Report, dry_run: bool = False) -> list[str]:
    """The channels to publish ``post`` to now, as the due rule says (reporting the missed).

    A named post skips the rule's timers and lateness: only sent and retracted stop it."""
    if named and due_rule.retracted(rows):
        report.add(post.id, "", "failed", "was retracted; give the post a new id to publish "
                   "it again")
        return []
    out = []
    for lane in due_rule.lanes(post, rows, pub.config):
        if named:
            if lane.end == "sent":
                urls = [u for k in range(lane.parts) if (u := lane.rows[k].url)]
                report.add(post.id, lane.channel, "sent", "already published", urls[:1])
            else:
                out.append(lane.channel)
            continue
        action = lane.action(now)
        if action == "missed":
            _report_missed(pub, post, lane, now, report, dry_run)
        elif action == "publish":
            out.append(lane.channel)
        # not due: quiet; whatever holds it back was reported when it happened (`status`)
    return out


def _report_missed(pub: DueHost, post: Post, lane: due_rule.LaneDue, now: datetime,
                   report: Report, dry_run: bool) -> None:
    """Record every part missed: the stored moment keeps it missed (due_rule), whatever the
    clock does later."""
    assert post.at is not None
    name = lane.channel
    msg = (f"{_ago(now - post.at)} late (late_limit {pub.config.late_limit}); not sent — "
           f"run `uprbuzz publish {post.id}` to send it anyway")
    if not dry_run:
        for k in range(lane.parts):
            pub.store.publications.mark(post.id, name, k, "missed", now, error=msg,
                                        content_hash=post.content_hash())
        pub.log(f"{name}: missed {post.id}: {msg}")
    report.add(post.id, name, "missed", msg)


def _prepare(pub: DueHost, post: Post, lanes: list[str], diagnostics: list, report: Report,
             lock: threading.Lock) -> tuple[Post, str] | None:
    """The post ready to send (cards rendered, checks passed) and its content hash; None, with
    every lane recorded failed, when it cannot go out as it stands."""
    from uprbuzz.publish.prepare import PrepareError, check_key, render_cards, validate

    chash = post.content_hash()
    try:
        ready = render_cards(post, pub.config)
        # "#" rows are not files: whole-project scans keep them (collect)
        memo, key = f"#publish-check:{post.id}", check_key(ready, pub.config, chash)
        passed = pub.store.cache.get(memo, key) is not None
        errors = validate(ready, pub.config, diagnostics, checked=passed)
        if not errors and not passed:
            pub.store.cache.put(memo, key, b"ok")
        if errors:
            shown = "; ".join(str(d) for d in errors[:3])
            more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
            raise PrepareError(f"failed to validate: {shown}{more}")
    except PrepareError as e:
        for name in lanes:
            pub.store.publications.mark(post.id, name, 0, "failed", pub.now(), error=str(e),
                                        kind="invalid", content_hash=chash)
            with lock:
                report.add(post.id, name, "failed", str(e))
        pub.log(f"{post.id}: not published: {e}")
        return None
    return ready, chash


def _ago(d: object) -> str:
    secs = int(d.total_seconds())  # type: ignore[attr-defined]
    if secs >= 3600:
        return f"{secs // 3600}h{(secs % 3600) // 60:02d}m"
    return f"{secs // 60}m"
