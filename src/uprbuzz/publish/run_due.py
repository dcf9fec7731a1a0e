"""Which posts are due, and the run over them (``Publisher.publish_due``).

What is due is the due rule's to say (due_rule.py, shared with the scheduler's wake-up and the
tick fast path); it reads only the post files and the ledger: with nothing due, no platform is
built, no SDK and no Pillow are imported (a cron tick stays cheap).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from uprbuzz.model import Post
from uprbuzz.publish import due_rule, lane_workers, post_edits
from uprbuzz.publish.lane import stopped_outcome
from uprbuzz.publish.lane_workers import WorkerHost
from uprbuzz.publish.report import Report
from uprbuzz.store.publications import PubRow

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.publish.report import PlatformOutcome


class DueHost(WorkerHost, Protocol):
    """What a run over the due posts needs from the Publisher (its channels' workers' needs
    included)."""

    config: Config

    def now(self) -> datetime: ...

    def log(self, line: str) -> None: ...

    def reconcile(self) -> None: ...

    def mark_ledger(self) -> None: ...


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
    never holds up another (lane_workers: a process per channel where it can be, else a
    thread). Posts are prepared (cards rendered, checks run) once, in order, and handed to
    their channels' workers as soon as they are ready."""
    channels = list(dict.fromkeys(name for _, lanes in work for name in lanes))
    lock = threading.Lock()
    errors: list[BaseException] = []  # what stopped a channel's worker: raised at the end

    def emit(pairs: list[tuple[str, PlatformOutcome]]) -> None:
        with lock:
            for post_id, outcome in pairs:
                report.add_outcome(post_id, outcome)

    def fail(e: BaseException, stop: bool) -> None:
        with lock:
            errors.append(e)
        if stop:
            pub.request_stop()

    workers = lane_workers.start(pub, channels, emit, fail)
    try:
        for post, lanes in work:
            if pub.stopping:  # reported, never recorded: the next run finds it due as before
                emit([(post.id, stopped_outcome(name)) for name in lanes])
                continue
            prepared = _prepare(pub, post, lanes, diagnostics, report, lock)
            if prepared is None:  # refused before sending: recorded and reported already
                continue
            for name in lanes:
                workers.put(name, (post.id, prepared))
        workers.finish()
    except BaseException:  # e.g. Ctrl-C: the parts in flight complete, nothing more is sent
        workers.finish(stop=True)
        raise
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
