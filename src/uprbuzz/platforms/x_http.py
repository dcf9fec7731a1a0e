"""Transport and error mapping for the X platform (no tweepy import at module level).

- :class:`RoutingAdapter` gives every call a timeout (tweepy sets none) and, when an API URL is
  configured, reroutes https://api.x.com / api.twitter.com / upload.* to the loopback stand-in,
  keeping the original ``Host`` so the OAuth 1.0a signature (made over the https URL) verifies.
- :func:`map_error` turns tweepy/requests exceptions into the platform error tree.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from uprbuzz.platforms.base import (
    Ambiguous,
    AuthFailed,
    DuplicateContent,
    PlatformError,
    RateLimited,
    Rejected,
    TransientError,
)

X_PREFIXES = ("https://api.twitter.com/", "https://api.x.com/",
              "https://upload.twitter.com/", "https://upload.x.com/")
DUPLICATE_MARK = "duplicate content"


class RoutingAdapter(HTTPAdapter):
    def __init__(self, base: str | None, timeout: float) -> None:
        super().__init__()
        self.base = base.rstrip("/") if base else None
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        if self.base:
            u = urlsplit(request.url or "")
            request.headers["Host"] = u.netloc  # the server re-derives the signed https URL
            request.url = self.base + u.path + (f"?{u.query}" if u.query else "")
            kw["proxies"] = {}
        kw["timeout"] = kw.get("timeout") or self.timeout
        return super().send(request, **kw)


def mount(session: requests.Session, base: str | None, timeout: float) -> None:
    adapter = RoutingAdapter(base, timeout)
    for prefix in X_PREFIXES:
        session.mount(prefix, adapter)


def reset_time(headers: Any) -> datetime | None:
    raw = headers.get("x-rate-limit-reset") if headers is not None else None
    try:
        return datetime.fromtimestamp(int(raw), UTC) if raw else None
    except (TypeError, ValueError):
        return None


def _message(resp: requests.Response | None, fallback: str) -> str:
    if resp is None:
        return fallback
    try:
        body = resp.json()
    except ValueError:
        return f"{resp.status_code} {resp.reason}".strip()
    msgs = [e.get("message") or e.get("detail") for e in body.get("errors", []) if isinstance(e, dict)]
    msgs = [m for m in msgs if m] or [body.get("detail") or body.get("title") or ""]
    return "; ".join(m for m in msgs if m) or f"{resp.status_code} {resp.reason}"


def from_status(resp: requests.Response, what: str) -> PlatformError:
    """Map a non-2xx response into the error tree."""
    code, msg = resp.status_code, _message(resp, "")
    text = f"{what}: {msg}"
    if code == 429:
        when = reset_time(resp.headers)
        return RateLimited(f"{what}: rate limited until {when.isoformat() if when else 'unknown'}",
                           reset_at=when, platform="x", status=code)
    if code == 401:
        return AuthFailed(f"{what}: X refused the credentials ({msg})", platform="x", status=code)
    if code == 403 and DUPLICATE_MARK in msg.lower():
        return DuplicateContent(text, platform="x", status=code)
    if code >= 500:
        return TransientError(text, platform="x", status=code)
    return Rejected(text, platform="x", status=code)


def map_error(exc: BaseException, what: str, *, write: bool) -> PlatformError:
    """Map tweepy/requests exceptions. ``write``: the request changes state if it lands, so a
    timeout or a connection lost after sending is Ambiguous (reads just retry: Transient)."""
    import tweepy

    if isinstance(exc, PlatformError):
        return exc
    if isinstance(exc, tweepy.errors.HTTPException):
        return from_status(exc.response, what)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransientError(f"{what}: could not connect to X in time", platform="x")
    if isinstance(exc, requests.exceptions.ConnectionError) and _refused(exc):
        return TransientError(f"{what}: could not connect to X ({_short(exc)})", platform="x")
    if isinstance(exc, (requests.exceptions.Timeout, requests.exceptions.ConnectionError,
                        requests.exceptions.ChunkedEncodingError)):
        kind = Ambiguous if write else TransientError
        return kind(f"{what}: no answer from X ({_short(exc)}); it may or may not have been applied"
                    if write else f"{what}: no answer from X ({_short(exc)})", platform="x")
    if isinstance(exc, requests.exceptions.RequestException):
        return TransientError(f"{what}: {_short(exc)}", platform="x")
    if isinstance(exc, json.JSONDecodeError):
        return TransientError(f"{what}: X sent an unreadable answer", platform="x")
    raise exc


def _refused(exc: BaseException) -> bool:
    """True when nothing was sent: the TCP connection itself failed."""
    from urllib3.exceptions import NewConnectionError

    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, NewConnectionError):
            return True
        stack.extend([getattr(e, "reason", None), e.__cause__, e.__context__,
                      *(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))])
    return False


def _short(exc: BaseException) -> str:
    s = str(exc)
    return s if len(s) < 200 else s[:200] + "..."
