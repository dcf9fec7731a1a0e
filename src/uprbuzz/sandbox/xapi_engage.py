"""The X stand-in's engagement routes: post lookup with ``public_metrics``, likes, retweets.

- ``GET /2/tweets?ids=1,2&tweet.fields=public_metrics``: up to 100 ids; found posts in
  ``data`` and one "Not Found Error" per missing id in ``errors`` (still 200, as X does).
  ``public_metrics`` counts what the stand-in holds: likes and retweets of any account, live
  replies, live quotes (``quote_tweet_id``), and impressions as a test set them
  (``POST /_admin/impressions {"tweet_id": ..., "count": n}``: nothing here views posts).
- ``POST /2/users/:id/likes`` and ``/retweets`` with ``{"tweet_id": ...}``, for the
  authenticated user only (``:id`` must be theirs); doing it twice changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from uprbuzz.sandbox.xapi_api import Answer, Request, _public_tweet, forbidden, invalid, not_found
from uprbuzz.sandbox.xapi_oauth import XAccount
from uprbuzz.sandbox.xapi_store import XStore

MAX_IDS = 100
_IDS = re.compile(r"^\d{1,19}(,\d{1,19})*$")


def public_metrics(store: XStore, t: dict[str, Any]) -> dict[str, int]:
    """What X reports for ``t`` (the caller holds the store's lock)."""
    live = [o for o in store.tweets if not o["deleted"]]
    return {"retweet_count": len(t.get("retweeted_by", [])),
            "reply_count": sum(1 for o in live if o["in_reply_to_tweet_id"] == t["id"]),
            "like_count": len(t.get("liked_by", [])),
            "quote_count": sum(1 for o in live if o.get("quote_tweet_id") == t["id"]),
            "bookmark_count": 0, "impression_count": int(t.get("impressions", 0))}


def lookup(store: XStore, req: Request) -> Answer:
    raw = req.q("ids") or ""
    if not _IDS.match(raw):
        return invalid(f"The `ids` query parameter value [{raw}] is not valid", {"ids": [raw]})
    ids = list(dict.fromkeys(raw.split(",")))
    if len(ids) > MAX_IDS:
        return invalid(f"The `ids` query parameter value [{raw}] is not between 1 and {MAX_IDS}",
                       {"ids": [raw]})
    fields = set((req.q("tweet.fields") or "").split(","))
    data, errors = [], []
    with store.lock:
        for tid in ids:
            t = store.find(tid)
            if t is None or t["deleted"]:
                errors.append(not_found("tweet", tid)[1]["errors"][0] | {"parameter": "ids"})
                continue
            out = _public_tweet(t, fields)
            if "public_metrics" in fields:
                out["public_metrics"] = public_metrics(store, t)
            data.append(out)
        store.reads += len(data)
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
    if errors:
        body["errors"] = errors
    return 200, body


def engage(store: XStore, who: XAccount, user_id: str, req: Request, kind: str) -> Answer:
    """``kind``: "likes" or "retweets"."""
    if user_id != who.user_id:
        return forbidden("You are not permitted to perform this action.")
    try:
        body = req.json()
    except ValueError:
        return invalid("Request body is not valid JSON.")
    tid = str((body or {}).get("tweet_id") or "") if isinstance(body, dict) else ""
    if not tid.isdigit():
        return invalid("The `tweet_id` field is required.", {"tweet_id": [tid]})
    field = "liked_by" if kind == "likes" else "retweeted_by"
    with store.lock:
        t = store.find(tid)
        if t is None or t["deleted"]:
            return not_found("tweet", tid)
        who_did = t.setdefault(field, [])
        if who.user_id not in who_did:
            who_did.append(who.user_id)
            store.save()
    if kind == "likes":
        return 200, {"data": {"liked": True}}
    return 200, {"data": {"id": tid, "retweeted": True}}


def set_impressions(store: XStore, body: dict[str, Any]) -> dict[str, Any]:
    with store.lock:
        t = store.find(str(body.get("tweet_id")))
        if t is None:
            raise ValueError(f"no tweet {body.get('tweet_id')!r}")
        t["impressions"] = int(body.get("count", 0))
        store.save()
        return {"tweet_id": t["id"], "impressions": t["impressions"]}
