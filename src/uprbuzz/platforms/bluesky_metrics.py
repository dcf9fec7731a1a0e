"""Bluesky engagement: ``app.bsky.feed.getPosts`` (up to 25 uris a call) from an AppView.

Counts are an AppView's, not a PDS's: a PDS holds only its own accounts' records, the AppView
indexes the whole network. So each Bluesky channel reads from its ``read_url`` (default the
public AppView, ``https://public.api.bsky.app``, which needs no login); the sandbox serves a
small one over the local PDS's records (:mod:`uprbuzz.sandbox.bsky_read`). A post the AppView
does not return (deleted, or not indexed yet) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from uprbuzz.config import BlueskyConfig
from uprbuzz.platforms.base import Counts, Rejected, Remote, TransientError
from uprbuzz.platforms.limits import BLUESKY

METHOD = "app.bsky.feed.getPosts"
P = "bluesky"


def read_metrics(config: BlueskyConfig, remotes: Sequence[Remote],
                 transport: Any = None) -> dict[str, Counts]:
    """Counts by ``Remote.id``: one public getPosts through the XRPC client (no login), its
    failures sorted by the same rules as every Bluesky call (a read: never ambiguous)."""
    from uprbuzz.platforms.bluesky_errors import map_error
    from uprbuzz.platforms.bluesky_xrpc import XrpcClient

    by_uri = {r.uri: r.id for r in remotes if r.uri}
    if not by_uri:
        return {}
    if len(by_uri) > BLUESKY.max_reads:
        raise Rejected(f"{len(by_uri)} posts in one read (getPosts takes {BLUESKY.max_reads})",
                       platform=P)
    client = XrpcClient(config.read_url, timeout=config.timeout, transport=transport)
    try:
        answer = client.query(METHOD, {"uris": list(by_uri)}, auth=False)
    except Exception as e:  # noqa: BLE001 - XRPC and transport errors, mapped at the edge
        raise map_error(e, write=False, what=f"read engagement from {config.read_url}") from e
    finally:
        client.close()
    posts = answer.get("posts")
    if not isinstance(posts, list):
        raise TransientError(f"read engagement: {config.read_url} answered no list of posts",
                             platform=P)
    out: dict[str, Counts] = {}
    for p in posts:
        rid = by_uri.get(p.get("uri", ""))
        if rid is not None:
            out[rid] = Counts(likes=int(p.get("likeCount") or 0),
                              reposts=int(p.get("repostCount") or 0),
                              replies=int(p.get("replyCount") or 0),
                              quotes=int(p.get("quoteCount") or 0))
    return out
