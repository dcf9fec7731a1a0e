"""atproto SDK exceptions -> the error tree of :mod:`uprbuzz.platforms.base` (bluesky.md §2).

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

# Session tokens that can be replaced by a fresh password login (never a wrong password).
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "InvalidAuthToken"})
P = "bluesky"


def error_name(exc: BaseException) -> str:
    resp = getattr(exc, "response", None)
    content = getattr(resp, "content", None)
    return str(getattr(content, "error", "") or "")


def error_message(exc: BaseException) -> str:
    resp = getattr(exc, "response", None)
    content = getattr(resp, "content", None)
    name, msg = getattr(content, "error", None), getattr(content, "message", None)
    if name or msg:
        return f"{name or 'Error'}: {msg}" if msg else str(name)
    return str(exc) or type(exc).__name__


def status_of(exc: BaseException) -> int | None:
    resp = getattr(exc, "response", None)
    return getattr(resp, "status_code", None)


def is_token_error(exc: BaseException) -> bool:
    from atproto_client.exceptions import LoginRequiredError

    return isinstance(exc, LoginRequiredError) or error_name(exc) in TOKEN_ERRORS


def map_error(exc: BaseException, *, write: bool, what: str) -> PlatformError:
    """The PlatformError to ``raise ... from exc``; ``what`` names the operation for the message."""
    from atproto_client import exceptions as ex

    status = status_of(exc)
    msg = f"{what}: {error_message(exc)}"
    if isinstance(exc, ex.RateLimitExceededError):
        reset = exc.reset_at
        if reset is None and exc.retry_after is not None:
            reset = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
        return RateLimited(msg, reset_at=reset, platform=P, status=429)
    if isinstance(exc, ex.InvokeTimeoutError):
        cls = Ambiguous if write else TransientError
        return cls(f"{what}: timed out (the server may or may not have applied it)" if write
                   else f"{what}: timed out", platform=P)
    if isinstance(exc, ex.NetworkError):
        if status == 413:  # PayloadTooLarge looks like a transport error; retrying cannot help
            return Rejected(msg, platform=P, status=413)
        if status is None:
            import httpx

            cause = exc.__cause__
            if not write or isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout)):
                return TransientError(f"{what}: connection failed ({cause or exc})", platform=P)
            return Ambiguous(f"{what}: connection lost after sending ({cause or exc})", platform=P)
        return (Ambiguous if write and status >= 500 else TransientError)(msg, platform=P, status=status)
    if isinstance(exc, ex.UnauthorizedError) or is_token_error(exc):
        return AuthFailed(msg, platform=P, status=status)
    if isinstance(exc, ex.BadRequestError):
        return Rejected(msg, platform=P, status=status)
    if isinstance(exc, ex.RequestException) and status is not None:
        if status >= 500:
            return (Ambiguous if write else TransientError)(msg, platform=P, status=status)
        return Rejected(msg, platform=P, status=status)
    if isinstance(exc, PlatformError):
        return exc
    return (Ambiguous if write else TransientError)(msg, platform=P, status=status)
