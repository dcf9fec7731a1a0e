"""Platform errors said in plain words for an operator under pressure.

The publish loop's messages carry library text (``HTTPConnectionPool(host=…): Max retries
exceeded … NewConnectionError``) and times on the publisher's clock (simulated in a rehearsal).
The console shows :func:`plain` instead and keeps the raw text as a detail. ``kind`` says what
the operator can do: ``unreachable``, ``server``, ``rate``, ``auth``, ``duplicate``,
``rejected``, ``gave-up``, ``budget``, ``anchor``, ``internal`` or ``other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABELS = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}

_UNREACHABLE = re.compile(
    r"NewConnectionError|Max retries exceeded|ConnectError|Connection ?refused|ConnectionRefused"
    r"|Failed to establish|Name or service not known|nodename nor servname|getaddrinfo"
    r"|RemoteDisconnected|Connection ?reset|ConnectionReset|ConnectionAbortedError|timed? ?out"
    r"|Timeout|unreachable|EOF occurred|Connection aborted|ServerDisconnected|network",
    re.IGNORECASE)
_SERVER = re.compile(r"\b(50[0-9])\b|Service Unavailable|Bad Gateway|Internal Server Error",
                     re.IGNORECASE)
_CLOCK_TAIL = re.compile(
    r"[;,]?\s*(retrying|deferring|waiting)?\s*(after|until|at)\s+\d{1,2}:\d{2}(:\d{2})?"
    r"(\s*UTC)?[^;]*", re.IGNORECASE)
_EXC_PREFIX = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Failure)):\s*")


@dataclass(frozen=True)
class Plain:
    text: str     # one sentence for the page
    kind: str     # what went wrong (see the module docstring)


def label(channel: str, platform: str | None = None) -> str:
    """X, Bluesky, Mastodon; a second channel on a platform keeps its own name: X (x-es)."""
    platform = platform or channel
    base = LABELS.get(platform, platform)
    return base if channel == platform else f"{base} ({channel})"


def _secs(s: float) -> str:
    return f"{s:.0f} s" if s >= 1 else "a moment"


def plain(raw: str, who: str, *, retrying: bool = False, retry_in: float | None = None,
          cap: float = 30.0) -> Plain:
    """``raw`` (a publish outcome's message) said in words; ``who`` is the channel's label."""
    msg = (raw or "").strip()
    low = msg.lower()
    if retrying:
        again = (f"retrying every {cap:g} s" if retry_in is not None and retry_in >= cap
                 else f"retrying in {_secs(retry_in)}" if retry_in is not None else "retrying")
    else:
        again = "press Retry to try again"
    m = re.search(r"gave up after (\d+) attempts", msg)
    if m:
        return Plain(f"{who}: gave up after {m.group(1)} attempts; press Retry to start again",
                     "gave-up")
    if "waiting for the anchor" in low:
        return Plain(f"{who}: waiting for the anchor post to land first", "anchor")
    if "duplicate" in low:
        return Plain(f"{who} refused this text as a duplicate of an earlier post: "
                     "edit and resend", "duplicate")
    if "authentication failed" in low or ("auth" in low and "fail" in low) or "401" in msg:
        return Plain(f"{who} refused the login: check the account's credentials, then Retry",
                     "auth")
    if "rate limit" in low or "429" in msg or "too many requests" in low:
        return Plain(f"{who} rate limit reached, {again}", "rate")
    if "budget" in low or "daily cap" in low or " cap " in f" {low} ":
        return Plain(f"{who}: {_CLOCK_TAIL.sub('', msg).strip()}", "budget")
    if low.startswith("internal error"):
        return Plain(f"{who}: something went wrong inside uprbuzz ({_short(msg)}); {again}",
                     "internal")
    if msg.startswith("rejected:"):
        return Plain(f"{who} refused the post: {_short(msg[9:])}", "rejected")
    if _UNREACHABLE.search(msg):
        return Plain(f"{who} unreachable, {again}", "unreachable")
    if _SERVER.search(msg):
        code = _SERVER.search(msg)
        n = code.group(1) if code and code.group(1) else ""
        return Plain(f"{who} server error{' ' + n if n else ''}, {again}", "server")
    if not msg:
        return Plain(f"{who}: not sent yet, {again}", "other")
    return Plain(f"{who}: {_short(msg)}{', ' + again if retrying else ''}", "other")


def _short(msg: str) -> str:
    """The message without clock tails (another clock's hh:mm:ss), exception class names and
    library noise, at most 160 characters."""
    s = _CLOCK_TAIL.sub("", msg).strip()
    s = _EXC_PREFIX.sub("", s).strip().rstrip(";,").strip()
    if len(s) > 160:
        s = s[:159].rstrip() + "…"
    return s or "not sent"
