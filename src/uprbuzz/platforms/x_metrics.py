"""X engagement: ``GET /2/tweets?ids=...&tweet.fields=public_metrics`` (up to 100 ids a call).

Each post returned is one paid read (x-api.md §6); a read of the account's own post is an
"owned read" (``Counts.owned``), priced lower. What a read costs is the budget's business
(checks/budget.py): this module only says whose post each one was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from uprbuzz.platforms.base import Counts, Rejected, Remote
from uprbuzz.platforms.limits import X

FIELDS = ["public_metrics", "author_id"]


def read_metrics(client: Any, call: Callable[..., Any], me: str,
                 remotes: Sequence[Remote]) -> dict[str, Counts]:
    """``client``: XPlatform's tweepy client; ``call(what, fn)`` maps its errors; ``me``: the
    reading account's user id."""
    ids = list(dict.fromkeys(r.id for r in remotes))
    if not ids:
        return {}
    if len(ids) > X.max_reads:
        raise Rejected(f"{len(ids)} posts in one read (X takes {X.max_reads})", platform="x")
    resp = call("read engagement", lambda: client.get_tweets(ids, tweet_fields=FIELDS,
                                                             user_auth=True))
    return {str(t.id): _counts(t.public_metrics or {}, str(t.author_id or "") == me)
            for t in resp.data or []}


def _counts(pm: dict[str, Any], owned: bool) -> Counts:
    imp = pm.get("impression_count")
    return Counts(likes=int(pm.get("like_count", 0)), reposts=int(pm.get("retweet_count", 0)),
                  replies=int(pm.get("reply_count", 0)), quotes=int(pm.get("quote_count", 0)),
                  impressions=None if imp is None else int(imp), owned=owned)
