"""One worker thread per platform: sends live posts in order, threaded under the anchor.

Each platform has its own queue and thread, so a failing platform retries (with backoff, its
error shown) without holding up the other. Posts on one platform go out in submission order:
each replies to the previous live post that landed there (or to the anchor), which keeps the
thread readable. Exactly-once is the publish loop's: every attempt goes through
``Publisher.publish_post`` with the post's stable id, which claims, sends and records.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from uprbuzz.platforms.base import Remote

if TYPE_CHECKING:
    from uprbuzz.model import Post
    from uprbuzz.store.live_tables import LivePost, LiveStore

_log = logging.getLogger("uprbuzz.live")
RETRY_STATES = ("deferred", "unknown", "skipped")
MAX_DELAY = 30.0


def remote_json(r: Remote) -> dict[str, str]:
    return {"id": r.id, "url": r.url, "uri": r.uri, "cid": r.cid}


def remote_from(d: dict[str, str], platform: str) -> Remote:
    return Remote(platform, d.get("id", ""), d.get("url", ""), d.get("uri", ""), d.get("cid", ""))


class SendHost(Protocol):
    """What a platform's sender thread needs from the console (LiveConsole)."""

    store: LiveStore
    key: str

    def prepared(self, lp: LivePost) -> tuple[Post, str, bool]: ...

    def reply_to(self, platform: str, n: int) -> tuple[Remote, Remote] | None | str: ...

    def fresh_attempts(self, post_id: str, channel: str) -> None: ...

    def update_platform(self, n: int, platform: str, notify: bool = True,
                        **info: Any) -> None: ...


class PlatformWorker:
    def __init__(self, console: SendHost, name: str,
                 publisher_factory: Callable[[str], Any]) -> None:
        self.console, self.name = console, name
        self._factory = publisher_factory
        self._pub: Any = None
        self.q: queue.Queue[int | None] = queue.Queue()
        self.wake = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name=f"live-{name}", daemon=True)
        self.busy: int | None = None
        self.unblock_next = False  # set by an operator's Retry: lift the publisher's block first
        self.calling = threading.Lock()  # held while a platform call is under way
        self.retry_asked: set[int] = set()  # Retry pressed during a call for these posts
        self.retracted: set[int] = set()  # withdrawn by an operator: never sent from now on
        self.timings: dict[int, float] = {}  # n -> seconds inside publish_post (bench)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()
        self.q.put(None)

    def enqueue(self, n: int) -> None:
        self.q.put(n)

    def retry_now(self) -> None:
        self.wake.set()

    @property
    def publisher(self) -> Any:
        if self._pub is None:
            self._pub = self._factory(self.name)
        return self._pub

    # --- the loop ----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self.stopping:
            n = self.q.get()
            if n is None:
                break
            self.busy = n
            try:
                self._send(n)
            except Exception as e:  # never let one post kill the lane
                _log.exception("live %s: post %s", self.name, n)
                self.console.update_platform(n, self.name, state="failed",
                                              error=f"internal error: {type(e).__name__}: {e}")
            finally:
                self.busy = None

    def _send(self, n: int) -> None:
        con = self.console
        attempts = 0
        while not self.stopping:
            lp = con.store.post(con.key, n)
            if (lp is None or n in self.retracted
                    or lp.platforms.get(self.name, {}).get("state") in ("sent", "retracted")):
                return
            reply_to = con.reply_to(self.name, n)
            if reply_to == "wait":  # the anchor is not on this platform yet
                # Only this thread sends on this lane: an anchor neither sent nor given up is
                # queued behind this post (after a Retry): send it first, then thread under it.
                anchor = con.store.post(con.key, 0)
                if (anchor is not None and n != 0 and anchor.platforms.get(self.name, {})
                        .get("state") not in ("sent", "failed")):
                    self._send(0)
                    continue
                con.update_platform(n, self.name, state="waiting",
                                     error="waiting for the anchor post on this platform")
                self._pause(2.0)
                continue
            attempts += 1
            con.update_platform(n, self.name, state="sending", attempts=attempts)
            post, chash, ready = con.prepared(lp)
            pub = self.publisher
            if self.unblock_next:
                self.unblock_next = False
                pub.unblock(self.name)
            t0 = time.perf_counter()
            try:
                with self.calling:
                    out = pub.publish_post(
                        post, reply_to={self.name: reply_to} if reply_to else None,
                        platforms=[self.name], content_hash=chash, prepared=ready)[self.name]
                state, remotes, msg, nb = out.state, out.remotes, out.message, out.not_before
            except Exception as e:  # noqa: BLE001 - shown to the operator and retried
                state, remotes, msg, nb = "deferred", [], f"{type(e).__name__}: {e}", None
            self.timings[n] = time.perf_counter() - t0
            if state == "sent" and remotes:
                con.update_platform(n, self.name, state="sent", error="",
                                     remotes=[remote_json(r) for r in remotes],
                                     url=remotes[0].url or remotes[0].uri)
                return
            if n in self.retry_asked:  # Retry was pressed while that call was under way
                self.retry_asked.discard(n)
                con.fresh_attempts(lp.post_id, self.name)
                pub.unblock(self.name)
                attempts = 0
                continue
            if state in RETRY_STATES or (state == "sent" and not remotes):
                cap = getattr(con, "retry_cap", MAX_DELAY)
                delay = min(cap, 2.0 ** min(attempts - 1, 5))
                if nb is not None:
                    delay = min(cap, max(delay, (nb - pub.now()).total_seconds()))
                con.update_platform(n, self.name, state="retrying", error=msg or state,
                                     retry_in=round(delay, 1))
                self._pause(delay)
                pub.unblock(self.name)  # a new try for this lane
                if state in ("unknown", "skipped"):
                    try:
                        pub.reconcile()
                    except Exception as e:  # noqa: BLE001
                        _log.warning("live %s: reconcile failed: %s", self.name, e)
                continue
            con.update_platform(n, self.name, state="failed", error=msg or state)
            return

    def _pause(self, seconds: float) -> None:
        self.wake.clear()
        self.wake.wait(seconds)
