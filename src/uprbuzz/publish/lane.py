"""One post on one platform: claim -> send -> record, with the error policy of the error tree.

Atomic-thread platforms (Bluesky) claim every part with its key in one transaction and send one
write; the others (X) go part by part, each replying to the previous part, so a thread that
failed at part k resumes at part k.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from uprbuzz.errors import StoreError
from uprbuzz.platforms.base import (
    Ambiguous,
    AuthFailed,
    DuplicateContent,
    KeySeed,
    OutgoingPart,
    Platform,
    PlatformError,
    RateLimited,
    Rejected,
    Remote,
    TransientError,
)
from uprbuzz.publish.report import PlatformOutcome
from uprbuzz.store.publications import Gated, PubRow

if TYPE_CHECKING:
    from uprbuzz.store import Store

LOOKUP_SKEW = timedelta(seconds=30)  # clock skew allowance for "posted since the claim"
MAX_TOTAL_ATTEMPTS = 25  # across runs: then give up (failed) instead of retrying forever
RATE_MARGIN = 0.25  # seconds past a reset before trying again (never more than 1 s late)


class LaneHost(Protocol):
    """What a lane needs from the run it belongs to (the Publisher): the ledger, its owner and
    lease, the clock, the log, the retry policy and the stop flag."""

    store: Store
    owner: str
    lease: timedelta
    max_attempts: int
    max_rate_wait: float

    @property
    def stopping(self) -> bool: ...

    def now(self) -> datetime: ...

    def log(self, line: str) -> None: ...

    def sleep(self, seconds: float) -> None: ...

    def backoff(self, n: int) -> float: ...

    def wait_until(self, when: datetime, margin: float) -> None: ...


class Blocked(Exception):
    """This platform cannot be used for the rest of the run (auth failed, far rate limit)."""

    def __init__(self, outcome: PlatformOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


class Lane:
    """One post on one channel (``name``: the channel, an account on ``plat``'s platform)."""

    def __init__(self, pub: LaneHost, plat: Platform, post_id: str, chash: str,
                 parts: Sequence[OutgoingPart], reply_to: tuple[Remote, Remote] | None,
                 channel: str | None = None, at: datetime | None = None,
                 budget: Callable[[], str | None] | None = None) -> None:
        self.pub, self.plat, self.name = pub, plat, channel or plat.name
        # why the post must wait (the budget) or None: asked as each claim is written
        self.budget = budget
        self.at = at  # the post's time: Bluesky's derived keys sort by it
        self.post_id, self.chash, self.parts, self.reply_to = post_id, chash, list(parts), reply_to
        self.store = pub.store.publications
        self.new = False
        self.notes: list[str] = []

    # --- entry -------------------------------------------------------------------------------
    def run(self) -> PlatformOutcome:
        try:
            return self._run()
        except StoreError:
            raise  # the ledger cannot be written: claims stay as they are, reconciled next run
        except Exception:
            # a bug or an unmapped library error: our claims may or may not have landed, so
            # hand them to reconciliation instead of holding them until this process exits
            for r in self.store.lane(self.post_id, self.name).values():
                if r.state in ("claimed", "unknown") and r.owner == self.pub.owner:
                    self.store.mark(self.post_id, self.name, r.part, "unknown", self.pub.now(),
                                    error="interrupted by an internal error; will check next run")
            raise

    def _run(self) -> PlatformOutcome:
        rows = self.store.lane(self.post_id, self.name)
        sent = {k: r.remote for k, r in rows.items() if r.state == "sent" and r.remote}
        for k in sorted(sent):
            if rows[k].content_hash and rows[k].content_hash != self.chash and k < len(self.parts):
                self.notes.append(f"part {k + 1} was sent before the post changed; not resending it")
        todo = [k for k in range(len(self.parts)) if k not in sent]
        if not todo:
            return self._outcome("sent", sent)
        groups = [todo] if self.plat.limits.atomic_threads else [[k] for k in todo]
        for group in groups:
            if self.pub.stopping:  # no new claim once a stop is requested
                out = stopped_outcome(self.name)
                out.remotes, out.new = [sent[k] for k in sorted(sent)], self.new
                return out
            first = group[0]
            if first > 0 and first - 1 not in sent:
                return self._outcome("deferred", sent, f"part {first} is not published yet")
            reply = self._reply_for(first, sent)
            res = self._send_group(group, reply)
            if isinstance(res, PlatformOutcome):
                res.remotes = [sent[k] for k in sorted(sent)] + res.remotes
                return res
            sent.update(res)
        return self._outcome("sent", sent)

    def _reply_for(self, first: int, sent: dict[int, Remote]) -> tuple[Remote, Remote] | None:
        if first == 0:
            return self.reply_to
        root = self.reply_to[0] if self.reply_to else sent[0]
        return (root, sent[first - 1])

    def _outcome(self, state: str, sent: dict[int, Remote], msg: str = "",
                 not_before: datetime | None = None) -> PlatformOutcome:
        msg = "; ".join([m for m in [msg, *self.notes] if m])
        return PlatformOutcome(self.name, state, [sent[k] for k in sorted(sent)], msg,
                               not_before, self.new)

    # --- one write ---------------------------------------------------------------------------
    def _send_group(self, group: list[int], reply: tuple[Remote, Remote] | None
                    ) -> dict[int, Remote] | PlatformOutcome:
        pub = self.pub
        keys = list(self.plat.new_keys(len(group), KeySeed(self.post_id, self.chash, group[0],
                                                            self.at)))
        try:
            claimed = self.store.claim(
                self.post_id, self.name,
                [(k, self.parts[k].text, keys[i]) for i, k in enumerate(group)],
                self.chash, pub.owner, pub.now(), pub.lease, gate=self.budget)
        except Gated as g:
            return self._over_budget(g.reason)
        if claimed is None:
            return self._not_claimable(group)
        keys = [r.idem_key for r in claimed]
        claimed_at = claimed[0].claimed_at or pub.now()
        if claimed[0].attempts > MAX_TOTAL_ATTEMPTS:
            return self._fail(group, f"gave up after {claimed[0].attempts - 1} attempts", "exhausted")
        parts = [self.parts[k] for k in group]
        tries, rate_waits, was_ambiguous = 0, 0, False
        while True:
            try:
                remotes = self.plat.publish(parts, keys, reply)
                return self._record(group, remotes)
            except DuplicateContent:
                # Evidence only for OUR earlier attempt of this part: a hit that another ledger
                # row owns (an identical text posted before) is that post's, not ours.
                label = _LABELS.get(self.plat.name, self.plat.name)
                try:
                    found = self._lookup(group, keys, claimed_at)
                except PlatformError as le:
                    return self._unknown(group, f"{label} says duplicate but the post could not "
                                         f"be found yet ({le.message}); will check next run")
                got = self._adopt(group, found, "already there (duplicate); recorded")
                if got is None:
                    return self._fail(group, f"{label} refused this text as a duplicate of an "
                                      "earlier post on the account; edit the text to post it",
                                      "duplicate")
                if not isinstance(got, PubRow):
                    return got
                if got.remote_id is None:  # another row with this text is in flight
                    return self._unknown(group, f"{label} refused this text as a duplicate while "
                                         f"{_who(got)} with the same text is being published; "
                                         "will check next run which one it is")
                return self._fail(group, f"{label} refused this text as a duplicate of "
                                  f"{_who(got)} ({got.url or got.uri or got.remote_id}); edit the "
                                  "text to post it", "duplicate")
            except Rejected as e:
                if was_ambiguous:  # our earlier attempt may have landed after all
                    why = e.message

                    def lookup_failed(err: str, why: str = why) -> str:
                        return f"{why}; could not check an earlier attempt ({err}); will check next run"

                    settled = self._settle_by_lookup(group, keys, claimed_at, why, lookup_failed)
                    if settled is not None:
                        return settled
                return self._fail(group, f"rejected: {e.message}", "rejected")
            except AuthFailed as e:
                out = self._fail(group, f"authentication failed: {e.message}; check the "
                                 f"{self.name} credentials", "auth")
                raise Blocked(out) from e
            except RateLimited as e:
                now = pub.now()
                reset_at = e.reset_at
                if (reset_at is not None and rate_waits < 3
                        and (wait := (reset_at - now).total_seconds()) <= pub.max_rate_wait):
                    rate_waits += 1
                    pub.log(f"{self.name}: rate limited until {_when(reset_at)}, waiting "
                            f"{max(wait, 0):.1f}s")
                    self.store.touch(self.post_id, self.name, group, pub.owner, now, pub.lease)
                    pub.wait_until(reset_at, RATE_MARGIN)
                    if pub.stopping:
                        return self._stopped(group, was_ambiguous)
                    continue
                until = e.reset_at or now + timedelta(seconds=pub.max_rate_wait)
                msg = f"rate limited until {_when(until)}, deferring"
                pub.log(f"{self.name}: {msg}")
                out = self._defer(group, msg, until, "rate")
                raise Blocked(PlatformOutcome(self.name, "deferred", out.remotes, msg,
                                              until)) from e
            except Ambiguous as e:
                was_ambiguous = True
                pub.log(f"{self.name}: {self.post_id} outcome unknown ({e.message}); checking")
                for k in group:
                    self.store.mark(self.post_id, self.name, k, "unknown", pub.now(),
                                    error=e.message, release=False)
                settled = self._settle_by_lookup(
                    group, keys, claimed_at, e.message,
                    lambda err: f"could not check ({err}); will check again next run")
                if settled is not None:
                    return settled
                # not found, or the only hit is another row's post: ours did not land
                for k in group:
                    self.store.mark(self.post_id, self.name, k, "claimed", pub.now(),
                                    error=e.message, release=False)
                tries += 1
            except TransientError as e:
                tries += 1
                if tries >= pub.max_attempts:
                    until = pub.now() + timedelta(seconds=pub.backoff(tries))
                    msg = f"{e.message}; retrying after {_when(until)}"
                    return self._defer(group, msg, until, "transient")
                pub.log(f"{self.name}: {self.post_id}: {e.message}; retry {tries}")
            except PlatformError as e:  # unmapped kind: treat like a possibly-applied write
                return self._unknown(group, f"{e.message}; will check next run")
            if tries >= pub.max_attempts:
                until = pub.now() + timedelta(seconds=pub.backoff(tries))
                return self._defer(group, f"no success after {tries} tries; retrying after "
                                   f"{_when(until)}", until, "transient")
            self.store.touch(self.post_id, self.name, group, pub.owner, pub.now(), pub.lease)
            pub.sleep(pub.backoff(tries))
            if pub.stopping:
                return self._stopped(group, was_ambiguous)

    def _settle_by_lookup(self, group: list[int], keys: Sequence[str | None],
                          claimed_at: datetime, why: str, lookup_failed: Callable[[str], str]
                          ) -> dict[int, Remote] | PlatformOutcome | None:
        """After an unclear send: did our write land? What ``_record`` returns when it was found
        and adopted, an outcome while still in doubt, None when ours certainly did not land.
        ``lookup_failed(error)`` is the message when the lookup itself fails."""
        try:
            found = self._lookup(group, keys, claimed_at)
        except PlatformError as le:
            return self._unknown(group, lookup_failed(le.message))
        got = self._adopt(group, found)
        if got is not None and not isinstance(got, PubRow):
            return got
        if got is not None and got.remote_id is None:
            return self._unknown(group, f"{why}; {_who(got)} with the same text is in flight; "
                                 "will check next run")
        return None

    def _lookup(self, group: list[int], keys: Sequence[str | None],
                claimed_at: datetime) -> list[Remote] | None:
        found: list[Remote] = []
        for i, k in enumerate(group):
            r = self.plat.lookup(self.parts[k], keys[i], since=claimed_at - LOOKUP_SKEW)
            if r is None:
                return found or None  # atomic writes land whole; X part-wise
            found.append(r)
        return found

    def _adopt(self, group: list[int], found: Sequence[Remote] | None, note: str = ""
               ) -> dict[int, Remote] | PlatformOutcome | PubRow | None:
        """Record what a lookup found, part by part, unless another ledger row may own it.

        Returns what ``_record`` returns; the blocking row when the first part is refused (its
        ``remote_id`` set: another row owns the hit; None: a same-text row is in flight); None
        when nothing was found.
        """
        if not found:
            return None
        got: list[Remote] = []
        for k, r in zip(group, found, strict=False):  # found may be a prefix
            other = self.store.adopt(self.post_id, self.name, k, r, self.pub.now(),
                                     self.parts[k].text, "found after an unclear attempt")
            if other is not None:
                if not got:
                    return other
                break  # later parts: left claimable below, like a partial lookup
            got.append(r)
        if note:
            self.pub.log(f"{self.name}: {self.post_id} {note}")
        return self._record(group, got, quiet=bool(note), stored=True)

    def _record(self, group: list[int], remotes: Sequence[Remote],
                quiet: bool = False, stored: bool = False) -> dict[int, Remote] | PlatformOutcome:
        out = {}
        for k, r in zip(group, remotes, strict=False):  # a prefix after a partial lookup
            if not stored:
                self.store.mark_sent(self.post_id, self.name, k, r, self.pub.now())
            out[k] = r
            self.new = True
            if not quiet:
                self.pub.log(f"{self.name}: posted {self.post_id} part {k + 1} -> {r.url or r.uri}")
        if len(out) < len(group):  # lookup found only the first parts: leave the rest claimable
            for k in group[len(out):]:
                self.store.mark(self.post_id, self.name, k, "deferred", self.pub.now(),
                                error="not found after an unclear attempt; will resend")
            return self._defer_outcome(out)
        return out

    def _defer_outcome(self, got: dict[int, Remote]) -> PlatformOutcome:
        return PlatformOutcome(self.name, "deferred", [got[k] for k in sorted(got)],
                               "thread partly published; the rest follows next run", None, True)

    def _fail(self, group: list[int], msg: str, kind: str) -> PlatformOutcome:
        self.pub.log(f"{self.name}: {self.post_id} failed: {msg}")
        for k in group:
            self.store.mark(self.post_id, self.name, k, "failed", self.pub.now(), error=msg,
                            kind=kind)
        return self._outcome_only("failed", msg)

    def _defer(self, group: list[int], msg: str, until: datetime, kind: str) -> PlatformOutcome:
        for k in group:
            self.store.mark(self.post_id, self.name, k, "deferred", self.pub.now(), error=msg,
                            kind=kind, not_before=until)
        return self._outcome_only("deferred", msg, until)

    def _over_budget(self, reason: str) -> PlatformOutcome:
        """The budget holds the post back (only ever before its first part went out)."""
        self.pub.log(f"{self.name}: {self.post_id} deferred: {reason}")
        for k in range(len(self.parts)):
            self.store.mark(self.post_id, self.name, k, "deferred", self.pub.now(), error=reason,
                            kind="budget", content_hash=self.chash)
        return self._outcome_only("deferred", reason)

    def _stopped(self, group: list[int], was_ambiguous: bool) -> PlatformOutcome:
        """A stop request cut a retry wait short: release the claim for the next run."""
        if was_ambiguous:  # an earlier attempt may still land: the next run checks first
            return self._unknown(group, f"{STOPPING}; the next run checks whether the "
                                 "unclear attempt landed")
        for k in group:
            self.store.mark(self.post_id, self.name, k, "deferred", self.pub.now(),
                            error=STOPPING, kind="stopped")
        return self._outcome_only("deferred", STOPPING)

    def _unknown(self, group: list[int], msg: str) -> PlatformOutcome:
        self.pub.log(f"{self.name}: {self.post_id}: {msg}")
        for k in group:  # released: the next run (any process) reconciles it
            self.store.mark(self.post_id, self.name, k, "unknown", self.pub.now(), error=msg)
        return self._outcome_only("unknown", msg)

    def _outcome_only(self, state: str, msg: str, until: datetime | None = None) -> PlatformOutcome:
        msg = "; ".join([msg, *self.notes])
        return PlatformOutcome(self.name, state, [], msg, until, self.new)

    def _not_claimable(self, group: list[int]) -> PlatformOutcome:
        rows = self.store.lane(self.post_id, self.name)
        r = next((rows[k] for k in group if k in rows), None)
        if r is None:
            return self._outcome_only("deferred", "could not claim")
        if r.state in ("claimed", "unknown"):
            if r.owner is None:  # left unknown earlier in this run: the next run checks it
                return self._outcome_only("unknown", r.error or "outcome unknown; the next run "
                                          "checks whether it landed")
            return self._outcome_only("skipped", "another uprbuzz process is publishing it")
        if r.state == "deferred":
            return self._outcome_only("deferred", r.error or "deferred", r.not_before)
        if r.state == "retracted":
            return self._outcome_only("retracted", "retracted")
        if r.state == "sent":
            return self._outcome_only("sent", "")
        return self._outcome_only(r.state, r.error or "")


_LABELS = {"x": "X", "bluesky": "Bluesky"}


def _who(row: PubRow) -> str:
    return row.post_id + (f" part {row.part + 1}" if row.part else "")


STOPPING = "uprbuzz is stopping; the next run sends it"


def stopped_outcome(name: str) -> PlatformOutcome:
    return PlatformOutcome(name, "deferred", message=STOPPING)


def _when(t: datetime | None) -> str:
    return "?" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def backoff(base: float, cap: float, n: int) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random (n = 1, 2, ...)."""
    d = min(cap, base * (2 ** max(0, n - 1)))
    return d / 2 + random.uniform(0, d / 2)
