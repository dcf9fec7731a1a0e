"""Rehearsal: replay a session against the sandbox platforms on a simulated clock.

``uprbuzz live SESSION --rehearse --speed 10`` serves the same console, but its clock starts at
the scheduled start and runs ``speed`` times as fast, the cue sheet fires itself when each cue
falls due, and everything is stored under its own key (``<session>~rehearsal-<stamp>``), so a
rehearsal never mixes with the day's coverage. Only loopback platforms are accepted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from uprbuzz.clock import OffsetClock
from uprbuzz.errors import UprbuzzError

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.live.console import LiveConsole
    from uprbuzz.live.session_file import LiveSession
    from uprbuzz.store import Store

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class NotSandbox(UprbuzzError):
    pass


def check_sandbox(config: Config, channels: tuple[str, ...] | None) -> None:
    """Refuse to rehearse against real accounts: every channel must point at loopback."""
    for c in config.pick(channels):
        acct = c.account
        url = (getattr(acct, "api_url", None) or getattr(acct, "pds_url", None)
               or ("https://api.x.com" if c.platform == "x" else ""))
        host = urlparse(url).hostname or ""
        if host not in LOOPBACK and not host.startswith("127."):
            raise NotSandbox(
                f"a rehearsal posts only to the sandbox, but channel {c.name} points at "
                f"{host or url or 'no server'}: run `uprbuzz sandbox start` and export the "
                "variables it prints")


def sandbox_servers(config: Config, channels: tuple[str, ...] | None) -> list[str]:
    """The loopback X and Mastodon stand-ins the channels post to (their base URLs, once each).
    The Bluesky PDS is a real PDS: it has no reset, and it refuses no repeated text."""
    out: list[str] = []
    for c in config.pick(channels):
        url = getattr(c.account, "api_url", None) or ""
        host = urlparse(url).hostname or ""
        if c.platform in ("x", "mastodon") and (host in LOOPBACK or host.startswith("127.")):
            base = url.rstrip("/")
            if base not in out:
                out.append(base)
    return out


def fresh_sandbox(config: Config, channels: tuple[str, ...] | None,
                  timeout: float = 5.0) -> list[str]:
    """Start a rehearsal on fresh platforms: empty each stand-in (``POST /_admin/reset``: posts,
    media, rate windows; the accounts stay), so that a second rehearsal's anchor and cues are
    not refused as duplicates of the first's. Returns the servers reset; raises NotSandbox
    naming a server that did not answer."""
    import urllib.error
    import urllib.request

    done = []
    for base in sandbox_servers(config, channels):
        req = urllib.request.Request(base + "/_admin/reset", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - loopback only
                r.read()
        except (urllib.error.URLError, OSError) as e:
            raise NotSandbox(f"could not reset the sandbox at {base} ({e}): is `uprbuzz sandbox "
                             "start` running? (--keep-sandbox skips the reset)") from e
        done.append(base)
    return done


def rehearsal_key(session: LiveSession, now: datetime | None = None) -> str:
    from uprbuzz.store.live_keys import rehearsal_key as key

    return key(session.id, now or datetime.now(UTC))


def rehearsal_console(config: Config, store: Store, session: LiveSession, speed: float = 10.0,
                      *, lead_in: float = 0.0, **kw: object) -> LiveConsole:
    """A console on a simulated clock starting ``lead_in`` broadcast seconds before the start."""
    from datetime import timedelta

    from uprbuzz.live.console import LiveConsole

    clock = OffsetClock(session.start - timedelta(seconds=lead_in), rate=speed)
    return LiveConsole(config, store, session, key=rehearsal_key(session), clock=clock,
                       rate=speed, rehearsal=True, **kw)  # type: ignore[arg-type]


class CueRunner:
    """Fires each ready cue when the broadcast clock passes its due offset (the rehearsal's
    stand-in operator). ``tick()`` is one pass; ``start()`` runs passes in a thread."""

    def __init__(self, console: LiveConsole, interval: float = 0.2,
                 on_fire: Callable[[str], None] | None = None, tolerance: float = 120.0) -> None:
        self.console, self.interval, self.on_fire = console, interval, on_fire
        self.tolerance = tolerance  # broadcast seconds: a cue later than this is only offered
        self.fired: list[str] = []
        self.offered: list[str] = []  # overdue past the tolerance (a sync jumped over them)
        self._last: tuple[float, float] | None = None  # (offset, monotonic time) of the last pass
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="live-cues", daemon=True)

    def tick(self) -> list[str]:
        con = self.console
        off, real = con.offset(), time.monotonic()
        # A cue overdue past the tolerance is fired only if the clock got there by running; after
        # a sync jumped over it (or at start, long after it), it is offered, not fired.
        first = self._last is None
        jumped = False
        if self._last is not None:
            expected = self._last[0] + (real - self._last[1]) * con.rate
            jumped = off - expected > self.tolerance
        self._last = (off, real)
        done = con.store.cues(con.key)
        out = []
        for cue in con.session.cues:
            due = con.cue_due(cue)
            if cue.id in done or due is None or due > off:
                continue
            if (jumped or first) and off - due > self.tolerance:  # the operator decides
                if cue.id not in self.offered:
                    self.offered.append(cue.id)
                continue
            if con.fire_cue(cue.id) is not None:
                out.append(cue.id)
                if self.on_fire:
                    self.on_fire(cue.id)
        self.fired.extend(out)
        return out

    @property
    def finished(self) -> bool:
        return self.console.offset() >= self.console.timeline.end

    def _run(self) -> None:
        while not self._stop.is_set() and not self.finished:
            self.tick()
            self._stop.wait(self.interval)
        self.tick()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
