"""Bluesky engagement: ``app.bsky.feed.getPosts`` (up to 25 uris a call) from an AppView.

Counts are an AppView's, not a PDS's: a PDS holds only its own accounts' records, the AppView
indexes the whole network. So each Bluesky channel reads from its ``read_url`` (default the
public AppView, ``https://public.api.bsky.app``, which needs no login); the sandbox serves a
small one over the local PDS's records (:mod:`uprbuzz.sandbox.bsky_read`). A post the AppView
does not return (deleted, or not indexed yet) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from uprbuzz.config import BlueskyConfig
from uprbuzz.platforms.base import (
    Counts,
    PlatformError,
    RateLimited,
    Rejected,
    Remote,
    TransientError,
)
from uprbuzz.platforms.limits import BLUESKY

METHOD = "/xrpc/app.bsky.feed.getPosts"
P = "bluesky"


def read_metrics(config: BlueskyConfig, remotes: Sequence[Remote],
                 transport: Any = None) -> dict[str, Counts]:
    import httpx

    by_uri = {r.uri: r.id for r in remotes if r.uri}
    if not by_uri:
        return {}
    if len(by_uri) > BLUESKY.max_reads:
        raise Rejected(f"{len(by_uri)} posts in one read (getPosts takes {BLUESKY.max_reads})",
                       platform=P)
    url = config.read_url.rstrip("/") + METHOD
    try:
        with httpx.Client(timeout=config.timeout, transport=transport) as http:
            resp = http.get(url, params=[("uris", u) for u in by_uri])
    except httpx.HTTPError as e:  # a read: never ambiguous, just try again later
        raise TransientError(f"read engagement from {config.read_url}: {e or type(e).__name__}",
                             platform=P) from e
    if resp.status_code != 200:
        raise _error(resp)
    try:
        posts = resp.json().get("posts") or []
    except ValueError as e:
        raise TransientError(f"read engagement: {config.read_url} answered no JSON",
                             platform=P) from e
    out: dict[str, Counts] = {}
    for p in posts:
        rid = by_uri.get(p.get("uri", ""))
        if rid is not None:
            out[rid] = Counts(likes=int(p.get("likeCount") or 0),
                              reposts=int(p.get("repostCount") or 0),
                              replies=int(p.get("replyCount") or 0),
                              quotes=int(p.get("quoteCount") or 0))
    return out


def _error(resp: Any) -> PlatformError:
    try:
        body = resp.json()
        why = f"{body.get('error') or resp.status_code}: {body.get('message') or ''}".rstrip(": ")
    except ValueError:
        why = f"{resp.status_code} {resp.reason_phrase}"
    msg = f"read engagement: {why}"
    status = int(resp.status_code)
    if status == 429:
        reset = resp.headers.get("ratelimit-reset")
        when = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
        return RateLimited(msg, reset_at=when, platform=P, status=429)
    if status >= 500 or status == 408:
        return TransientError(msg, platform=P, status=status)
    return Rejected(msg, platform=P, status=status)
