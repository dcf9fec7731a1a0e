"""The interface every platform implements, and the one error tree they all map into.

Error tree (SDK exceptions are mapped at the edge with ``raise ... from exc``)::

    PlatformError
     ├── TransientError        retry with backoff (5xx, connection refused before sending)
     ├── RateLimited           wait until ``reset_at`` (or defer when it is far)
     ├── Rejected              permanent: the platform said no (its message kept); never retried
     │    └── DuplicateContent X's 403 "duplicate content": evidence the post already exists
     ├── AuthFailed            credentials wrong or revoked
     └── Ambiguous             the request may or may not have been applied (timeout, dropped
                               connection after sending): reconcile before any resend

Platforms never read files or the state store: the publish loop hands them bytes and keys,
and they hand back :class:`Remote` records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

# Re-exported: the Platform protocol's ``limits``; the values live in platforms/limits.py.
from uprbuzz.errors import UprbuzzError
from uprbuzz.platforms.limits import Limits as Limits


class PlatformError(UprbuzzError):
    """What a platform answered, mapped into one tree; ``platform`` names the service."""

    retryable = False

    def __init__(self, message: str, *, platform: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.platform, self.status = platform, status

    def __str__(self) -> str:
        prefix = f"{self.platform}: " if self.platform else ""
        return f"{prefix}{self.message}"


class TransientError(PlatformError):
    retryable = True


class RateLimited(PlatformError):
    retryable = True

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.reset_at = reset_at


class Rejected(PlatformError):
    pass


class DuplicateContent(Rejected):
    pass


class AuthFailed(PlatformError):
    pass


class Ambiguous(PlatformError):
    retryable = True  # only after reconciliation says the write did not happen


@dataclass(frozen=True)
class OutgoingMedia:
    data: bytes
    mime: str  # image/png, image/jpeg, image/gif, image/webp
    alt: str
    width: int
    height: int
    filename: str = ""
    focus: tuple[float, float] | None = None  # Mastodon's crop focus, x and y in -1..1


@dataclass(frozen=True)
class OutgoingPart:
    """One post of a thread as a platform receives it: text and bytes, no file paths."""

    text: str
    media: tuple[OutgoingMedia, ...] = ()
    langs: tuple[str, ...] = ("en",)
    link: str | None = None  # Bluesky builds a link card from it (first part only)
    tags: tuple[str, ...] = ()
    spoiler_text: str = ""  # Mastodon's content warning (shown before the text)
    sensitive: bool = False  # Mastodon: media hidden behind a warning


@dataclass(frozen=True)
class Remote:
    """Where a part landed. ``id``: tweet id or Bluesky rkey; ``uri``/``cid``: at:// and CID."""

    platform: str
    id: str
    url: str
    uri: str = ""
    cid: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Counts:
    """A published post's engagement as its platform reports it (``Platform.metrics``)."""

    likes: int = 0  # X likes, Bluesky likes, Mastodon favourites
    reposts: int = 0  # retweets, reposts, reblogs
    replies: int = 0
    quotes: int = 0  # Mastodon: quotes_count where the server has quotes, else 0
    impressions: int | None = None  # X's impression_count; None where not given
    owned: bool = True  # read by its own author's account (X prices such reads lower)


@dataclass(frozen=True)
class Account:
    platform: str
    id: str
    handle: str


@dataclass(frozen=True)
class KeySeed:
    """What a post's idempotency keys are derived from: the same post, content and part give
    the same key in any process and after a lost ledger, so a re-send is harmless where the
    platform allows it (Bluesky refuses a record key that exists; Mastodon answers a key it
    has seen within the hour with the status it made)."""

    post_id: str
    content_hash: str
    first_part: int = 0  # the index of the first part these keys are for
    at: datetime | None = None  # the post's time: Bluesky keys sort by it (None: not derivable)

    def digest(self) -> bytes:
        return hashlib.sha256(f"{self.post_id}\0{self.content_hash}".encode()).digest()


@runtime_checkable
class Platform(Protocol):
    name: str

    @property
    def limits(self) -> Limits:  # read-only, so a platform may declare a richer XLimits
        """The platform's facts (platforms/limits.py): what the checks also judge by."""
        ...

    def verify(self) -> Account:
        """Check the credentials (AuthFailed if wrong); returns the account."""
        ...

    def new_keys(self, count: int, seed: KeySeed | None = None) -> list[str | None]:
        """Idempotency keys to store *before* sending ``count`` parts (Bluesky: TIDs; Mastodon:
        Idempotency-Keys; X: None), derived from ``seed`` when given, else fresh."""
        ...

    def publish(
        self,
        parts: Sequence[OutgoingPart],
        keys: Sequence[str | None],
        reply_to: tuple[Remote, Remote] | None = None,
    ) -> list[Remote]:
        """Publish ``parts`` as a thread, each replying to the previous one.

        ``reply_to`` = (root, parent) places the thread under an existing post (live mode).
        Platforms with ``limits.atomic_threads`` write all parts or none; others publish one part
        per call in practice (the loop calls with one part at a time to resume at part k).
        """
        ...

    def lookup(self, part: OutgoingPart, key: str | None, since: datetime) -> Remote | None:
        """After a crash or an Ambiguous error: did this part land? (None = certainly not.)"""
        ...

    def delete(self, remote: Remote) -> None:
        """Delete one published part; deleting what is already gone is not an error."""
        ...

    def metrics(self, remotes: Sequence[Remote]) -> dict[str, Counts]:
        """The engagement of published parts (at most ``limits.max_reads`` per call: one
        request), keyed by ``Remote.id``; a part the platform no longer shows is left out."""
        ...


# Persisting a platform's session (Bluesky) without the platform touching the store.
SessionLoad = Callable[[], "str | None"]
SessionSave = Callable[[str], None]
