"""The exactly-once publish loop: the only code that both touches the state store and calls platforms.

    Publisher(config, store).publish_due()        # cron tick / `uprbuzz publish`
    Publisher(...).publish_post(post, reply_to)   # live mode
    Publisher(...).retract(post_id)               # `uprbuzz retract`

Every part is claimed in the store (with its idempotency key) before it is sent and recorded as
sent after; ``reconcile()`` (run first) asks the platform about claims a dead process left behind.
Due posts: approved, ``at <= now``, not older than ``late_limit`` (else recorded ``missed``).
Named posts (``post_ids``) are sent whatever their time (and even when missed), but must still be
approved: approval is the one gate a command line never skips.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from uprbuzz.clock import Clock, OffsetClock, SystemClock, default_clock
from uprbuzz.errors import StoreError
from uprbuzz.model import Post
from uprbuzz.platforms.base import KeySeed, OutgoingPart, Platform, PlatformError, Remote
from uprbuzz.publish.lane import LOOKUP_SKEW, Blocked, Lane, backoff, stopped_outcome
from uprbuzz.publish.report import PlatformOutcome, Report
from uprbuzz.publish.run_due import publish_due
from uprbuzz.store import ledger_mark
from uprbuzz.store.publications import Gated, new_owner

if TYPE_CHECKING:
    from uprbuzz.config import Channel, Config
    from uprbuzz.store import Store

__all__ = ["Publisher", "Report", "PlatformOutcome", "remote_records"]
_log = logging.getLogger("uprbuzz.publish.publisher")
_INHERITED: list[object] = []  # a forked worker's copies of the parent's connections


class Publisher:
    def __init__(self, config: Config, store: Store, *, clock: Clock | None = None,
                 platforms: dict[str, Platform] | None = None,
                 log: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 max_rate_wait: float = 60.0, max_attempts: int = 5,
                 backoff_base: float = 1.0, backoff_cap: float = 30.0,
                 lease: timedelta = timedelta(minutes=15), processes: bool = False) -> None:
        self.config, self.store = config, store
        # a run's channel workers as processes where they can be (publish/lane_workers.py)
        self._processes = processes
        self.clock = clock or default_clock()
        self._given = dict(platforms or {})
        self._built: dict[str, Platform] = {}
        self._build_errors: dict[str, PlatformOutcome] = {}
        self._blocked: dict[str, PlatformOutcome] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}  # channel -> held while it is built
        self._log = log or _log.info
        self._sleep = sleep  # None: the clock's sleep, cut short by request_stop
        self._stopping = threading.Event()
        self.max_rate_wait, self.max_attempts = max_rate_wait, max_attempts
        self.backoff_base, self.backoff_cap, self.lease = backoff_base, backoff_cap, lease
        self.owner = new_owner()
        self.waits: list[tuple[datetime, datetime]] = []  # (reset_at, woke_at) of rate waits
        self._reconciled = False
        self._in_run = False

    def unblock(self, platform: str) -> None:
        """Let ``platform`` be tried again in this run (after an auth failure or a far rate
        limit blocked it); the live console calls this before a retry."""
        self._blocked.pop(platform, None)

    # --- small services used by Lane -----------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def log(self, line: str) -> None:
        self._log(line)

    def sleep(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif isinstance(self.clock, (SystemClock, OffsetClock)):
            if seconds > 0:  # real time (maybe scaled): a stop request ends the wait at once
                self._stopping.wait(seconds / float(getattr(self.clock, "rate", 1.0) or 1.0))
        else:  # e.g. a FixedClock: sleeping moves it, nothing waits
            self.clock.sleep(seconds)

    # --- stopping ------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Send nothing more (thread-safe; e.g. from a signal handler): a part in flight completes
        and is recorded, no new claim is made, and a retry or rate-limit wait ends now (its claim
        is released for the next run)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def forked(self) -> None:
        """Make this copy of the Publisher, in a forked worker process, the process's own: a
        ledger connection of its own, and clients built anew when used (the ones it inherited
        share the parent's connections: a PostgreSQL session, HTTP keep-alives). Those are
        kept referenced, never used, closed or freed here."""
        _INHERITED.append((self.store, dict(self._built)))
        self.store = self.store.reopened()
        self._built.clear()
        self._building.clear()

    @property
    def may_fork(self) -> bool:
        """Whether a run's channel workers may be processes: asked for, no client handed in
        (those live in this process) and a ledger other processes can open."""
        return self._processes and not self._given and self.store.db.path != ":memory:"

    def backoff(self, n: int) -> float:
        return backoff(self.backoff_base, self.backoff_cap, n)

    def wait_until(self, when: datetime, margin: float) -> None:
        delay = (when - self.now()).total_seconds() + margin
        if delay > 0:
            self.sleep(delay)
        self.waits.append((when, self.now()))

    # --- platforms -----------------------------------------------------------------------------
    def _channel(self, name: str) -> Channel:
        from uprbuzz.publish.prepare import PrepareError

        ch = self.config.channel(name)
        if ch is None:  # e.g. a ledger row of a channel since removed from uprbuzz.toml
            raise PrepareError(f"no channel {name!r} in uprbuzz.toml")
        return ch

    def platform(self, name: str) -> Platform:
        """Channel ``name``'s platform client, built once per run (SDKs are imported only
        here). Tests hand in clients by channel name. Each channel builds under a lock of its
        own, so one lane importing its SDK never holds up another lane's start."""
        with self._lock:
            if name in self._given:
                return self._given[name]
            building = self._building.setdefault(name, threading.Lock())
        with building:
            with self._lock:
                if name in self._built:
                    return self._built[name]
                if name in self._build_errors:
                    raise Blocked(self._build_errors[name])
            try:
                plat = self._build(name)
            except Exception as e:  # missing credentials, SDK missing, bad URL
                out = PlatformOutcome(name, "failed", message=f"cannot use {name}: {e}")
                with self._lock:
                    self._build_errors[name] = out
                self.log(f"{name}: {out.message}")
                raise Blocked(out) from e
            with self._lock:
                self._built[name] = plat
            return plat

    def warm(self, channel: str) -> None:
        """Get ``channel``'s client ready before its first post is (a Bluesky login waits a
        second on the PDS's password hashing: done while the run is still checking posts).
        Problems are left to the first send, which reports them."""
        try:
            plat = self.platform(channel)
        except Blocked:
            return
        warm = getattr(plat, "warm", None)
        if callable(warm):
            warm()

    def _build(self, name: str) -> Platform:
        """The client for channel ``name``: its platform, with its account's settings."""
        from uprbuzz.config import env_prefix

        ch = self.config.channel(name)
        if ch is None:
            raise ValueError(f"no channel {name!r} in uprbuzz.toml")
        acct, pre = ch.account, env_prefix(name)
        if not acct.has_credentials:
            need = {"x": "CONSUMER_KEY, {p}CONSUMER_SECRET, {p}ACCESS_TOKEN, {p}ACCESS_SECRET",
                    "bluesky": "HANDLE and {p}PASSWORD",
                    "mastodon": "ACCESS_TOKEN (and its instance URL)"}[ch.platform]
            raise ValueError(f"no credentials (set {pre}{need.format(p=pre)})")
        if ch.platform == "x":
            from uprbuzz.platforms.x import XPlatform

            return XPlatform(acct)  # type: ignore[arg-type]
        sessions = self.store.sessions
        if ch.platform == "bluesky":
            from uprbuzz.platforms.bluesky import BlueskyPlatform

            # Keyed by server and handle: a new PDS (a fresh sandbox) never reuses an old login.
            login = f"{str(acct.pds_url).rstrip('/')}#{acct.handle}"  # type: ignore[union-attr]
            return BlueskyPlatform(acct,  # type: ignore[arg-type]
                                   session_load=lambda: sessions.load("bluesky", login),
                                   session_save=lambda s: sessions.save("bluesky", login, s))
        from uprbuzz.platforms.mastodon import MastodonPlatform

        # The instance's limits, read once and kept with the logins (one per account and server).
        key = f"instance:{str(acct.api_url).rstrip('/')}#{name}"  # type: ignore[union-attr]

        def load() -> dict[str, Any] | None:
            raw = sessions.load("mastodon", key)
            return json.loads(raw) if raw else None

        return MastodonPlatform(acct, name=ch.platform, log=self.log,  # type: ignore[arg-type]
                                instance_cache=(load, lambda d: sessions.save(
                                    "mastodon", key, json.dumps(d))))

    # --- reconcile -----------------------------------------------------------------------------
    def reconcile(self) -> None:
        """Settle every claim a previous process left in flight, before anything is resent.
        First of all, the ledger must be this project's own and complete (store/ledger_mark)."""
        ledger_mark.verify(self.store, self.config.root, self.config.state)
        self.settle_stale()

    def settle_stale(self) -> None:
        """Ask the platforms about every claim left in flight: adopt what landed, defer what
        did not (``state rebuild`` calls this on a ledger that ``reconcile`` would refuse)."""
        self._reconciled = True
        pubs, now = self.store.publications, self.now()
        # oldest claim first: of two same-text claims left in flight, the earlier one was sent first
        stale = sorted(pubs.stale(now, self.owner), key=lambda r: (r.claimed_at or now, r.post_id,
                                                                   r.channel, r.part))
        for row in stale:
            if row.channel in self._blocked or not pubs.take_over(row, self.owner, now, self.lease):
                continue
            where = f"{row.channel}: {row.post_id} part {row.part + 1}"
            try:
                plat = self.platform(row.channel)
                part = OutgoingPart(text=row.text or "")
                since = (row.claimed_at or now) - LOOKUP_SKEW
                found = plat.lookup(part, row.idem_key, since=since)
            except Blocked as b:
                self._blocked[row.channel] = b.outcome
                pubs.mark(row.post_id, row.channel, row.part, row.state, self.now(),
                          error=row.error)
                continue
            except PlatformError as e:
                pubs.mark(row.post_id, row.channel, row.part, "unknown", self.now(),
                          error=f"could not check whether it landed ({e.message})")
                self.log(f"{where}: could not check whether it landed ({e.message}); "
                         "will check again")
                continue
            # a text match that another ledger row owns is that post's, not this claim's
            other = None if found is None else pubs.adopt(
                row.post_id, row.channel, row.part, found, self.now(), row.text,
                "reconciled: it had landed", stale_blocks=False)
            if found is not None and other is None:
                self.log(f"{where}: reconciled, it had landed -> {found.url or found.uri}")
            elif other is not None and other.remote_id is None:
                pubs.mark(row.post_id, row.channel, row.part, "unknown", self.now(),
                          error=f"{other.post_id} with the same text is being published; "
                          "will check again")
                self.log(f"{where}: {other.post_id} with the same text is being published; "
                         "will check again")
            else:
                pubs.mark(row.post_id, row.channel, row.part, "deferred", self.now(),
                          error="an interrupted attempt did not land; will resend")
                self.log(f"{where}: reconciled, the interrupted attempt did not land; will resend")

    # --- publishing ----------------------------------------------------------------------------
    def publish_due(self, post_ids: Sequence[str] | None = None, *, dry_run: bool = False
                    ) -> Report:
        self._in_run = True  # the run marks the ledger once, at its end, not after each post
        try:
            return publish_due(self, post_ids, dry_run=dry_run)
        finally:
            self._in_run = False

    def publish_post(self, post: Post, reply_to: dict[str, tuple[Remote, Remote]] | None = None,
                     platforms: Sequence[str] | None = None, *, content_hash: str | None = None,
                     prepared: bool = False) -> dict[str, PlatformOutcome]:
        """Send one post to its channels (in parallel); each channel independent of the others.
        ``platforms`` names the channels to use (default: every channel the post is routed to)."""
        from uprbuzz.publish.prepare import MediaReader, PrepareError, outgoing_parts, render_cards

        chash = content_hash or post.content_hash()
        targets = [c.name for c in self.config.route(post) if platforms is None or c.name in platforms]
        if not self._reconciled:
            self.reconcile()
        if self.stopping:
            return {n: stopped_outcome(n) for n in targets}
        try:
            if not prepared:
                post = render_cards(post, self.config)
            reader = MediaReader(self.config)
            parts = {name: outgoing_parts(post, self._channel(name), reader) for name in targets}
        except PrepareError as e:
            return {n: PlatformOutcome(n, "failed", message=str(e)) for n in targets}

        def lane(name: str) -> PlatformOutcome:
            return self._lane(post, name, chash, parts[name], (reply_to or {}).get(name))

        try:
            if len(targets) <= 1:
                return {n: lane(n) for n in targets}
            with ThreadPoolExecutor(max_workers=len(targets)) as ex:
                futs = {n: ex.submit(lane, n) for n in targets}
                return {n: f.result() for n, f in futs.items()}
        finally:
            if not self._in_run:  # the live console's posts: one at a time, each marked
                self.mark_ledger()

    def writes_many(self, channel: str) -> bool:
        """Whether ``channel``'s platform sends several posts in one write (publish_many)."""
        try:
            return hasattr(self.platform(channel), "publish_many")
        except Exception:  # noqa: BLE001 - the lane builds it again and reports the problem
            return False

    def publish_batch(self, channel: str, items: Sequence[tuple[Post, str]]
                      ) -> list[PlatformOutcome]:
        """Ready posts (post, content hash), in order, to one channel whose platform writes many
        posts at once (Bluesky: one applyWrites, one commit for all). Each post is claimed with
        its derived keys exactly as its lane would claim it, the budget asked inside the claim
        (claims count against the budget, so no batch, lane or other process can overshoot a
        cap; a post the budget holds back goes through its lane, which says why); one write sends them
        all; each is recorded sent. A post with ledger rows already (a retry, a thread under
        way) goes through its lane. If the shared write fails in any way, the claimed posts are
        sent one by one through their lanes: their keys are stored, so a record the failed
        write did create is found at its key, never created twice."""
        from uprbuzz.publish.prepare import MediaReader, PrepareError, outgoing_parts

        if not self._reconciled:
            self.reconcile()
        try:
            plat = self.platform(channel)
        except (Blocked, PlatformError):
            plat = None
        many = getattr(plat, "publish_many", None)
        cap = getattr(getattr(plat, "limits", None), "max_writes", 0)
        out: dict[int, PlatformOutcome] = {}
        batch: list[tuple[int, Post, str, list[OutgoingPart], list[str | None]]] = []

        def one(i: int, post: Post, chash: str) -> None:
            out[i] = self.publish_post(post, platforms=[channel], content_hash=chash,
                                       prepared=True)[channel]

        def flush() -> None:
            if not batch:
                return
            assert many is not None
            todo = list(batch)
            batch.clear()
            try:
                sent = many([(parts, keys) for _, _, _, parts, keys in todo])
            except Exception as e:  # noqa: BLE001 - any failure: one by one, keys kept
                self.log(f"{channel}: one write for {len(todo)} posts failed ({e}); "
                         "sending them one by one")
                for _i, post, chash, parts, _keys in todo:
                    for k in range(len(parts)):
                        self.store.publications.mark(
                            post.id, channel, k, "deferred", self.now(), content_hash=chash,
                            error="a shared write failed; sending it on its own")
                for i, post, chash, _parts, _keys in todo:
                    one(i, post, chash)
                return
            for (i, post, _chash, _parts, _keys), remotes in zip(todo, sent, strict=True):
                for k, r in enumerate(remotes):
                    self.store.publications.mark_sent(post.id, channel, k, r, self.now())
                    self.log(f"{channel}: posted {post.id} part {k + 1} -> {r.url or r.uri}")
                out[i] = PlatformOutcome(channel, "sent", list(remotes), new=True)

        reader = MediaReader(self.config)
        ch = self._channel(channel)
        records = 0
        for i, (post, chash) in enumerate(items):
            parts: list[OutgoingPart] | None = None
            if (many is not None and plat is not None and not self.stopping
                    and channel not in self._blocked
                    and not self.store.publications.lane(post.id, channel)):
                try:
                    parts = outgoing_parts(post, ch, reader)
                except PrepareError:
                    parts = None  # its lane reports it
            if not parts or records + len(parts) > cap:
                flush()
                records = 0
            if not parts:
                one(i, post, chash)
                continue
            assert plat is not None
            keys = plat.new_keys(len(parts), KeySeed(post.id, chash, 0, post.at))
            try:
                claimed = self.store.publications.claim(
                    post.id, channel, [(k, parts[k].text, keys[k]) for k in range(len(parts))],
                    chash, self.owner, self.now(), self.lease,
                    gate=partial(self._budget_reason, channel, post))
            except Gated:  # its lane records why it waits
                claimed = None
            if claimed is None:
                flush()
                records = 0
                one(i, post, chash)
                continue
            batch.append((i, post, chash, parts, [r.idem_key for r in claimed]))
            records += len(parts)
        flush()
        return [out[i] for i in range(len(items))]

    def mark_ledger(self) -> None:
        """Note in the project folder how far the ledger got (after it committed)."""
        ledger_mark.advance(self.store, self.config.root)

    def _lane(self, post: Post, name: str, chash: str, parts: list[OutgoingPart],
              reply_to: tuple[Remote, Remote] | None) -> PlatformOutcome:
        if name in self._blocked:
            b = self._blocked[name]
            state = "deferred" if b.state == "deferred" else "failed"
            return PlatformOutcome(name, state, message=b.message, not_before=b.not_before)
        try:
            plat = self.platform(name)
            return Lane(self, plat, post.id, chash, parts, reply_to, channel=name, at=post.at,
                        budget=partial(self._budget_reason, name, post)).run()
        except Blocked as b:
            self._blocked[name] = b.outcome
            return PlatformOutcome(name, b.outcome.state, b.outcome.remotes, b.outcome.message,
                                   b.outcome.not_before)
        except StoreError:
            raise  # no lane can go on without the ledger: the run stops, with the file named
        except Exception as e:  # a bug or an unmapped library error: never blocks the other lane
            _log.exception("publish %s to %s", post.id, name)
            return PlatformOutcome(name, "failed", message=f"internal error: {type(e).__name__}: {e}")

    def _budget_reason(self, name: str, post: Post) -> str | None:
        rows = self.store.publications.lane(post.id, name)
        if any(r.state == "sent" for r in rows.values()):
            return None  # a thread already under way is finished, not split by the budget
        from uprbuzz.checks.budget import Budget

        return Budget.from_config(self.config).defer_reason(self.store, name, post, self.now())

    # --- retract -------------------------------------------------------------------------------
    def retract(self, post_id: str) -> Report:
        """Delete every published part of ``post_id`` on every platform; record ``retracted``."""
        report = Report()
        if not self._reconciled:
            self.reconcile()
        pubs = self.store.publications
        rows = pubs.rows(post_id)
        if not rows:
            report.add(post_id, "", "failed", "nothing recorded for this post")
            return report
        for name in sorted({r.channel for r in rows}):
            lane = sorted((r for r in rows if r.channel == name), key=lambda r: -r.part)
            try:
                busy = [r for r in lane if r.state in ("claimed", "unknown")]
                if busy:  # a live process holds it (stale claims were reconciled above)
                    raise RuntimeError(f"part {busy[0].part + 1} is being published right now; "
                                       "try again in a minute")
                plat = self.platform(name) if any(r.state == "sent" for r in lane) else None
                for r in lane:
                    if r.state == "sent" and plat is not None and r.remote is not None:
                        plat.delete(r.remote)
                        self.log(f"{name}: deleted {post_id} part {r.part + 1} ({r.url or r.uri})")
                    pubs.mark_retracted(post_id, name, r.part, self.now())
            except Blocked as b:
                report.add(post_id, name, "failed", b.outcome.message)
                continue
            except (PlatformError, RuntimeError) as e:
                report.add(post_id, name, "failed", f"could not delete: {e}")
                continue
            report.add(post_id, name, "retracted", f"{len(lane)} part(s)")
        return report


def remote_records(store: Store, post_id: str) -> dict[str, list[Remote]]:
    """What landed, per platform, in part order (live mode threads replies under these)."""
    out: dict[str, list[Remote]] = {}
    for r in store.publications.rows(post_id):
        if r.state == "sent" and r.remote is not None:
            out.setdefault(r.channel, []).append(r.remote)
    return out
