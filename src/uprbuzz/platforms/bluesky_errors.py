"""XRPC failures -> the error tree of :mod:`uprbuzz.platforms.base` (bluesky.md §2).

A failure is either an :class:`~uprbuzz.platforms.bluesky_xrpc.XrpcError` (the server answered
with a status and an XRPC error body) or one of httpx's transport exceptions (no answer).
``write`` says whether the failed request could have changed the repo: a timeout or a dropped
connection on a write is Ambiguous (reconcile before resending); on a read it is Transient.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from uprbuzz.platforms.base import (
    Ambiguous,
    AuthFailed,
    PlatformError,
    RateLimited,
    Rejected,
    TransientError,
)

# Session tokens that can be replaced by a refresh or a password login (never a wrong password).
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "InvalidAuthToken"})
P = "bluesky"


def error_name(exc: BaseException) -> str:
    return str(getattr(exc, "error", "") or "")


def error_message(exc: BaseException) -> str:
    name, msg = getattr(exc, "error", None), getattr(exc, "message", None)
    if name or msg:
        return f"{name or 'Error'}: {msg}" if msg else str(name)
    return str(exc) or type(exc).__name__


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def is_token_error(exc: BaseException) -> bool:
    return error_name(exc) in TOKEN_ERRORS


def _reset_at(headers: dict[str, str]) -> datetime | None:
    """``ratelimit-reset`` (epoch seconds, the PDS) or ``retry-after`` (seconds)."""
    low = {k.lower(): v for k, v in headers.items()}
    try:
        if "ratelimit-reset" in low:
            return datetime.fromtimestamp(int(low["ratelimit-reset"]), UTC)
        if "retry-after" in low:
            return datetime.now(UTC) + timedelta(seconds=float(low["retry-after"]))
    except (ValueError, OverflowError):
        pass
    return None


def map_error(exc: BaseException, *, write: bool, what: str) -> PlatformError:
    """The PlatformError to ``raise ... from exc``; ``what`` names the operation for the message."""
    import httpx

    from uprbuzz.platforms.bluesky_xrpc import XrpcError

    if isinstance(exc, PlatformError):
        return exc
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        cls = Ambiguous if write else TransientError
        return cls(f"{what}: timed out (the server may or may not have applied it)" if write
                   else f"{what}: timed out", platform=P)
    if isinstance(exc, httpx.TransportError):
        if not write or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return TransientError(f"{what}: connection failed ({exc or type(exc).__name__})",
                                  platform=P)
        return Ambiguous(f"{what}: connection lost after sending ({exc or type(exc).__name__})",
                         platform=P)
    msg = f"{what}: {error_message(exc)}"
    if not isinstance(exc, XrpcError):
        return (Ambiguous if write else TransientError)(msg, platform=P)
    status = exc.status
    if status == 429:
        return RateLimited(msg, reset_at=_reset_at(exc.headers), platform=P, status=429)
    if status == 401 or is_token_error(exc):
        return AuthFailed(msg, platform=P, status=status)
    if status >= 500 or status == 408:  # the server failed, or gave up waiting for us
        return (Ambiguous if write else TransientError)(msg, platform=P, status=status)
    return Rejected(msg, platform=P, status=status)  # 400 (invalid record), 413 (too large), ...
