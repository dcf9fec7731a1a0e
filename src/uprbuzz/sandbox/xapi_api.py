"""The X API v2 routes of the stand-in, as plain functions: request in, (status, body) out.

Shapes follow X's OpenAPI spec 2.167; error bodies are X's (RFC 7807 problems, or the
``errors`` list of "Invalid Request"). No HTTP here: see :mod:`uprbuzz.sandbox.xapi`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
from typing import Any

from uprbuzz.platforms.limits import X
from uprbuzz.sandbox.http_serve import Request as Request  # shared with the Mastodon stand-in
from uprbuzz.sandbox.xapi_oauth import XAccount
from uprbuzz.sandbox.xapi_store import XStore, normalise

Answer = tuple[int, dict[str, Any]]

DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
TOO_LONG = "Your Tweet text is too long."
TWEET_KEYS = {"text", "media", "reply", "quote_tweet_id", "poll", "reply_settings", "geo",
              "for_super_followers_only", "direct_message_deep_link", "nullcast", "card_uri",
              "community_id", "share_with_followers", "made_with_ai", "paid_partnership",
              "edit_options"}


def problem(status: int, title: str, detail: str, type_: str = "about:blank") -> Answer:
    return status, {"title": title, "type": type_, "status": status, "detail": detail}


def unauthorized() -> Answer:
    return problem(401, "Unauthorized", "Unauthorized")


def too_many() -> Answer:
    return problem(429, "Too Many Requests", "Too Many Requests")


def invalid(message: str, parameters: dict[str, Any] | None = None) -> Answer:
    return 400, {"errors": [{"parameters": parameters or {}, "message": message}],
                 "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                 "type": "https://api.x.com/2/problems/invalid-request"}


def forbidden(detail: str) -> Answer:
    return problem(403, "Forbidden", detail)


def not_found(what: str, value: str) -> Answer:
    return 404, {"errors": [{"value": value, "detail": f"Could not find {what} with id: [{value}].",
                             "title": "Not Found Error", "resource_type": what, "parameter": "id",
                             "resource_id": value, "type": "https://api.x.com/2/problems/resource-not-found"}],
                 "title": "Not Found Error", "detail": f"Could not find {what} with id: [{value}].",
                 "type": "https://api.x.com/2/problems/resource-not-found", "status": 404}


def _weighted_length(text: str) -> tuple[int, bool]:
    # The reference parse_tweet (not uprbuzz's own counter), held to the declared length.
    from twitter_text import parse_tweet
    from twitter_text.config import config

    r = parse_tweet(text, dict(config["defaults"], max_weighted_tweet_length=X.max_length))
    return r.weightedLength, r.valid


def _public_tweet(t: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    # X escapes &, < and > in the text it returns.
    out: dict[str, Any] = {"id": t["id"], "text": html.escape(t["text"], quote=False),
                           "edit_history_tweet_ids": [t["id"]]}
    if "created_at" in fields:
        out["created_at"] = t["created_at"]
    if "author_id" in fields:
        out["author_id"] = t["author_id"]
    if "conversation_id" in fields:
        out["conversation_id"] = t["conversation_id"]
    if "referenced_tweets" in fields and t["in_reply_to_tweet_id"]:
        out["referenced_tweets"] = [{"type": "replied_to", "id": t["in_reply_to_tweet_id"]}]
    if "attachments" in fields and t["media_ids"]:
        out["attachments"] = {"media_keys": [f"3_{m}" for m in t["media_ids"]]}
    return out


# --- tweets -------------------------------------------------------------------------------

def create_tweet(store: XStore, who: XAccount, req: Request) -> Answer:
    try:
        body = req.json()
    except ValueError:
        return invalid("Request body is not valid JSON.")
    if not isinstance(body, dict):
        return invalid("Request body must be a JSON object.")
    extra = set(body) - TWEET_KEYS
    if extra:
        return invalid(f"The following properties are not allowed: {sorted(extra)}",
                       {k: [str(body[k])] for k in extra})
    text = normalise(str(body.get("text") or ""))
    media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids", [])]
    reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
    if not text and not media_ids:
        return invalid("Tweet text or media is required.", {"text": [""]})
    if "media" in body and not 1 <= len(media_ids) <= X.max_images:
        return invalid(f"media.media_ids: size must be between 1 and {X.max_images}",
                       {"media.media_ids": media_ids})
    if text:
        length, valid = _weighted_length(text)
        if not valid:
            return forbidden(TOO_LONG)
    with store.lock:
        for m in media_ids:
            rec = store.media.get(m)
            if rec is None or rec["owner"] != who.user_id or rec["state"] != "succeeded":
                return invalid("Your media IDs are invalid.", {"media.media_ids": media_ids})
        if reply_to is not None:
            parent = store.find(str(reply_to))
            if parent is None or parent["deleted"]:
                return forbidden("You attempted to reply to a Tweet that is deleted or not visible to you.")
        if store.is_duplicate(who.user_id, text):
            return forbidden(DUPLICATE)
        quote = body.get("quote_tweet_id")
        if quote is not None and (store.find(str(quote)) or {"deleted": True})["deleted"]:
            return forbidden("You attempted to quote a Tweet that is deleted or not visible to you.")
        t = store.add_tweet(who.user_id, text, str(reply_to) if reply_to else None, media_ids,
                            str(quote) if quote is not None else None)
    return 201, {"data": _public_tweet(t, set())}


def delete_tweet(store: XStore, who: XAccount, tweet_id: str) -> Answer:
    with store.lock:
        t = store.find(tweet_id)
        if t is None:
            return not_found("tweet", tweet_id)
        if t["author_id"] != who.user_id:
            return forbidden("You are not allowed to delete a Tweet that does not belong to you.")
        was = not t["deleted"]
        t["deleted"] = True
        t["deleted_at"] = time.time()
        store.save()
    return 200, {"data": {"deleted": was}}


def users_me(store: XStore, who: XAccount, req: Request) -> Answer:
    return 200, {"data": who.public()}


def users_tweets(store: XStore, who: XAccount, req: Request, user_id: str,
                 accounts: list[XAccount]) -> Answer:
    if user_id not in {a.user_id for a in accounts}:
        return not_found("user", user_id)
    raw_max = req.q("max_results") or "10"
    if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
        return invalid(f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100",
                       {"max_results": [raw_max]})
    n = int(raw_max)
    tweets = store.user_tweets(user_id)
    since, until = req.q("since_id"), req.q("until_id")
    if since:
        tweets = [t for t in tweets if int(t["id"]) > int(since)]
    if until:
        tweets = [t for t in tweets if int(t["id"]) < int(until)]
    if req.q("start_time"):
        tweets = [t for t in tweets if t["created_at"][:19] >= req.q("start_time")[:19]]  # type: ignore[index]
    if req.q("end_time"):
        tweets = [t for t in tweets if t["created_at"][:19] <= req.q("end_time")[:19]]  # type: ignore[index]
    if "replies" in (req.q("exclude") or ""):
        tweets = [t for t in tweets if not t["in_reply_to_tweet_id"]]
    token = req.q("pagination_token")
    if token:
        try:
            below = int(base64.b32hexdecode(token.upper() + "=" * (-len(token) % 8)).decode())
        except ValueError:
            return invalid("The `pagination_token` query parameter value is not valid.",
                           {"pagination_token": [token]})
        tweets = [t for t in tweets if int(t["id"]) <= below]
    page, rest = tweets[:n], tweets[n:]
    fields = set((req.q("tweet.fields") or "").split(","))
    meta: dict[str, Any] = {"result_count": len(page)}
    if page:
        meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
    if rest:
        meta["next_token"] = base64.b32hexencode(rest[0]["id"].encode()).decode().rstrip("=").lower()
    out: dict[str, Any] = {"meta": meta}
    if page:
        out["data"] = [_public_tweet(t, fields) for t in page]
    return 200, out


# --- media --------------------------------------------------------------------------------

def _image_info(data: bytes) -> tuple[str, int, int, int] | None:
    from uprbuzz.imaging import ImageError, probe

    try:
        info = probe(data)
    except ImageError:
        return None
    if info.format not in (X.formats or (info.format,)):
        return None  # e.g. BMP or TIFF: X answers "media type unrecognized"
    return info.mime, info.width, info.height, info.frames


def _finish_media(store: XStore, who: XAccount, mid: str, data: bytes, category: str,
                  processing: float) -> Answer:
    info = _image_info(data)
    if info is None:
        return invalid("media type unrecognized.", {"media": ["<binary>"]})
    mime, w, h, frames = info
    limit = X.image_cap(animated=category == "tweet_gif")  # X: "File size exceeds 5242880 bytes."
    if len(data) > limit:
        return invalid(f"File size exceeds {limit} bytes.", {"media": ["<binary>"]})
    now = time.time()
    rec = {"id": mid, "media_key": f"3_{mid}", "owner": who.user_id, "size": len(data),
           "mime": mime, "width": w, "height": h, "frames": frames, "category": category,
           "sha256": hashlib.sha256(data).hexdigest(), "alt_text": None,
           "state": "succeeded", "ready_at": now, "created": now}
    if category == "tweet_gif" and processing > 0:
        rec.update(state="pending", ready_at=now + processing)
    with store.lock:
        store.media[mid] = rec
        store.save()
    return 200, {"data": _media_view(rec)}


def _media_view(rec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rec["id"], "media_key": rec["media_key"], "size": rec["size"],
                           "expires_after_secs": 86400}
    if rec.get("mime"):
        out["image"] = {"image_type": rec["mime"], "w": rec["width"], "h": rec["height"]}
    if rec["state"] != "succeeded":
        left = max(0.0, rec["ready_at"] - time.time())
        if left <= 0:
            rec["state"] = "succeeded"
            out["processing_info"] = {"state": "succeeded", "progress_percent": 100}
        else:
            state = "in_progress" if rec["state"] == "in_progress" or rec.get("polled") else "pending"
            rec["state"] = state
            out["processing_info"] = {"state": state, "check_after_secs": max(1, round(left)),
                                      "progress_percent": 50}
    elif rec["category"] == "tweet_gif":
        out["processing_info"] = {"state": "succeeded", "progress_percent": 100}
    return out


def upload_simple(store: XStore, who: XAccount, req: Request, processing: float) -> Answer:
    form = req.form()
    command = (req.q("command") or form.get("command", b"").decode()).upper()
    if command == "INIT":
        return upload_init(store, who, {k: v.decode() for k, v in form.items()} | {
            k: v[0] for k, v in req.query.items()})
    if command == "APPEND":
        mid = req.q("media_id") or form.get("media_id", b"").decode()
        return upload_append(store, who, mid, form)
    if command == "FINALIZE":
        mid = req.q("media_id") or form.get("media_id", b"").decode()
        return upload_finalize(store, who, mid, processing)
    if "media" not in form and "media_data" not in form:
        if req.headers.get("Content-Type", "").startswith("application/json"):
            body = req.json() or {}
            data = base64.b64decode(body.get("media", ""))
            return _finish_media(store, who, store.new_id(), data, body.get("media_category", "tweet_image"), processing)
        return invalid("The `media` field is required.", {"media": []})
    data = form.get("media") or base64.b64decode(form.get("media_data", b""))
    category = form.get("media_category", b"tweet_image").decode()
    return _finish_media(store, who, store.new_id(), data, category, processing)


def upload_init(store: XStore, who: XAccount, body: dict[str, Any]) -> Answer:
    try:
        total = int(body.get("total_bytes", 0))
    except (TypeError, ValueError):
        total = 0
    if total <= 0 or not body.get("media_type"):
        return invalid("total_bytes and media_type are required.", {"total_bytes": [str(total)]})
    mid = store.new_id()
    with store.lock:
        store.media_bytes[mid] = bytearray()
        store.media[mid] = {"id": mid, "media_key": f"3_{mid}", "owner": who.user_id, "size": total,
                            "category": body.get("media_category", "tweet_image"), "state": "uploading",
                            "segments": {}, "alt_text": None, "mime": None}
    return 200, {"data": {"id": mid, "media_key": f"3_{mid}", "expires_after_secs": 86400}}


def _session(store: XStore, who: XAccount, mid: str) -> dict[str, Any] | None:
    rec = store.media.get(mid)
    if rec is None or rec["owner"] != who.user_id or rec["state"] != "uploading":
        return None
    return rec


def upload_append(store: XStore, who: XAccount, mid: str, form: dict[str, bytes]) -> Answer:
    with store.lock:
        rec = _session(store, who, mid)
        if rec is None:
            return invalid("Your media IDs are invalid.", {"media_id": [mid]})
        try:
            idx = int(form.get("segment_index", b"-1"))
        except ValueError:
            idx = -1
        if not 0 <= idx <= 999 or "media" not in form:
            return invalid("segment_index (0-999) and media are required.", {"segment_index": [str(idx)]})
        rec["segments"][idx] = form["media"]
    return 200, {"data": {"expires_at": int(time.time()) + 86400}}


def upload_finalize(store: XStore, who: XAccount, mid: str, processing: float) -> Answer:
    with store.lock:
        rec = _session(store, who, mid)
        if rec is None:
            return invalid("Your media IDs are invalid.", {"media_id": [mid]})
        segs = rec.pop("segments")
        data = b"".join(segs[i] for i in sorted(segs))
        if len(data) != rec["size"]:
            rec["segments"] = segs
            return invalid(f"File size mismatch: got {len(data)} bytes, expected {rec['size']}.",
                           {"media_id": [mid]})
        store.media_bytes.pop(mid, None)
    return _finish_media(store, who, mid, data, rec["category"], processing)


def upload_status(store: XStore, who: XAccount, req: Request) -> Answer:
    mid = req.q("media_id") or ""
    with store.lock:
        rec = store.media.get(mid)
        if rec is None or rec["owner"] != who.user_id or rec["state"] == "uploading":
            return invalid("Your media IDs are invalid.", {"media_id": [mid]})
        view = _media_view(rec)
        rec["polled"] = True
    return 200, {"data": view}


def media_metadata(store: XStore, who: XAccount, req: Request) -> Answer:
    try:
        body = req.json() or {}
        mid = str(body["id"])
        alt = body["metadata"]["alt_text"]["text"]
    except (ValueError, KeyError, TypeError):
        return invalid("Expected {\"id\": ..., \"metadata\": {\"alt_text\": {\"text\": ...}}}.")
    if not isinstance(alt, str) or len(alt) > X.max_alt:
        return invalid(f"metadata.alt_text.text: size must be between 0 and {X.max_alt}",
                       {"metadata.alt_text.text": ["..."]})
    with store.lock:
        rec = store.media.get(mid)
        if rec is None or rec["owner"] != who.user_id:
            return invalid("Your media IDs are invalid.", {"id": [mid]})
        rec["alt_text"] = alt
        store.save()
    return 200, {"data": {"id": mid, "associated_metadata": {"alt_text": {"text": alt}}}}
