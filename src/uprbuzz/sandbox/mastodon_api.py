"""The Mastodon API routes of the stand-in, as plain functions: request in, answer out.

The rules are Mastodon 4.x's, read from its source (mastodon/mastodon):

- ``Api::V1::StatusesController``: ``set_thread`` answers 404 "The post you are trying to
  reply to does not appear to exist." before anything else; ``destroy`` answers the deleted
  status with its ``text`` (source), like a redraft.
- ``PostStatusService``: an ``Idempotency-Key`` already stored for the account returns the
  original status without looking at the body; the key is stored for 3,600 s only after a
  successful post. ``validate_media!``: too many, not found (or not the poster's, or already
  attached), not finished processing. A blank text with a spoiler_text posts the spoiler text
  as the text; a spoiler_text makes the post sensitive.
- ``StatusLengthValidator``: :func:`uprbuzz.platforms.text_measure.mastodon_count` with the
  instance's ``max_characters``; ``Status#prepare_contents`` strips text and spoiler_text.
- ``MediaAttachment``: content type, ``less_than: IMAGE_LIMIT``, description length,
  ``Attachmentable`` pixel limit. ``POST /api/v2/media`` answers 202 while the file is still
  processing (real servers process still images at once and answer 200; the stand-in keeps
  every upload processing for ``processing_seconds`` so clients must wait), ``GET
  /api/v1/media/:id`` answers 206 until it is ready.
- Errors are ``{"error": "..."}`` (422 "Validation failed: ..." for invalid records).
- ``content`` is HTML as ``TextFormatter`` renders it: escaped text, links (with the invisible
  prefix spans), hashtags, mentions of local accounts, ``<p>`` per paragraph and ``<br />``
  per line break. ``text`` (the source) is only returned by DELETE, as by Mastodon.

No HTTP here: see :mod:`uprbuzz.sandbox.mastodon_server`.
"""

from __future__ import annotations

import html
import re
from typing import Any

from uprbuzz.platforms.text_measure import mastodon_count, mastodon_entities
from uprbuzz.sandbox.http_serve import Request
from uprbuzz.sandbox.mastodon_store import MastodonAccount, MastodonStore, iso

Answer = tuple[int, Any, dict[str, str]]

INVALID_TOKEN = "The access token is invalid"
NOT_FOUND = "Record not found"
REPLY_NOT_FOUND = "The post you are trying to reply to does not appear to exist."
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"
TOO_MANY_REQUESTS = "Too many requests"
VISIBILITIES = ("public", "unlisted", "private", "direct")
_TRUE = {"1", "true", "t", "on", "yes"}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, {"error": message}, headers or {}


def invalid(*messages: str) -> Answer:
    return error(422, "Validation failed: " + ", ".join(messages))


# --- rendering ------------------------------------------------------------------------------

_HASHTAG = re.compile(r"(?<![\w/)=])#(\w*[^\W\d]\w*)")  # Tag::HASHTAG_RE, simplified
_URL_PREFIX = re.compile(r"\A(https?://(www\.)?|xmpp:)")


def _link(url: str) -> str:
    """TextFormatter.shortened_link: the scheme (and www.) hidden, 30 characters shown."""
    prefix = _URL_PREFIX.match(url)
    p = prefix.group(0) if prefix else ""
    rest = url[len(p):]
    display, suffix = rest[:30], rest[30:]
    e = html.escape
    return (f'<a href="{e(url)}" target="_blank" rel="nofollow noopener" translate="no">'
            f'<span class="invisible">{e(p)}</span>'
            f'<span class="{"ellipsis" if len(rest) > 30 else ""}">{e(display)}</span>'
            f'<span class="invisible">{e(suffix)}</span></a>')


def render(text: str, store: MastodonStore) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(content HTML, mentions, tags) of a local status's source text."""
    domain = store.instance.domain
    if not text.strip():
        return "", [], []
    entities: list[tuple[int, int, str, str]] = list(mastodon_entities(text))
    taken = [(s, e) for s, e, _, _ in entities]
    for m in _HASHTAG.finditer(text):
        s, e = m.start(), m.end()
        if not any(a < e and s < b for a, b in taken):
            entities.append((s, e, "tag", m.group(1)))
    entities.sort()
    out, pos, mentions, tags = [], 0, [], []
    for s, e, kind, value in entities:
        out.append(html.escape(text[pos:s]))
        raw = text[s:e]
        if kind == "url":
            out.append(_link(value))
        elif kind == "tag":
            tags.append({"name": value.lower(), "url": f"https://{domain}/tags/{value.lower()}"})
            out.append(f'<a href="https://{domain}/tags/{html.escape(value.lower())}" '
                       f'class="mention hashtag" rel="tag">#<span>{html.escape(value)}</span></a>')
        else:
            user, _, host = value.partition("@")
            acct = store.by_username(user) if host in ("", domain) else None
            if acct is None:  # a remote or unknown account stays text (no WebFinger here)
                out.append(html.escape(raw))
            else:
                url = f"https://{domain}/@{acct.username}"
                mentions.append({"id": acct.id, "username": acct.username, "acct": acct.username,
                                 "url": url})
                out.append(f'<span class="h-card" translate="no"><a href="{url}" '
                           f'class="u-url mention">@<span>{html.escape(acct.username)}</span></a></span>')
        pos = e
    out.append(html.escape(text[pos:]))
    body = "".join(out).replace("\r\n", "\n").replace("\r", "\n")
    # Rails' simple_format, then .delete("\n"): paragraphs on blank lines, <br /> within
    paragraphs = [p for p in re.split(r"\n\n+", body) if p]
    content = "".join("<p>" + p.replace("\n", "<br />") + "</p>" for p in paragraphs)
    return content, mentions, tags


# --- entities -------------------------------------------------------------------------------

def media_view(store: MastodonStore, rec: dict[str, Any], base_url: str) -> dict[str, Any]:
    ready = store.media_ready(rec)
    url = f"{base_url}/system/media_attachments/files/{rec['id']}/original" if ready else None
    w, h = rec["width"], rec["height"]
    meta: dict[str, Any] = {"original": {"width": w, "height": h, "size": f"{w}x{h}",
                                         "aspect": round(w / h, 6) if h else None}}
    if rec.get("focus"):
        meta["focus"] = {"x": rec["focus"][0], "y": rec["focus"][1]}
    return {"id": rec["id"], "type": rec["type"], "url": url, "preview_url": url,
            "remote_url": None, "preview_remote_url": None, "text_url": None, "meta": meta,
            "description": rec["description"], "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"}


def status_view(store: MastodonStore, s: dict[str, Any], base_url: str, *,
                source: bool = False, viewer: str | None = None) -> dict[str, Any]:
    domain = store.instance.domain
    acct = store.account(s["account_id"])
    assert acct is not None
    content, mentions, tags = render(s["text"], store)
    out = {
        "id": s["id"], "created_at": iso(s["created_at"]),
        "in_reply_to_id": s["in_reply_to_id"], "in_reply_to_account_id": s["in_reply_to_account_id"],
        "sensitive": s["sensitive"], "spoiler_text": s["spoiler_text"], "visibility": s["visibility"],
        "language": s["language"],
        "uri": f"https://{domain}/users/{acct.username}/statuses/{s['id']}",
        "url": f"https://{domain}/@{acct.username}/{s['id']}",
        "replies_count": sum(1 for o in store.statuses
                             if o["in_reply_to_id"] == s["id"] and not o["deleted"]),
        # who favourited and reblogged it: mastodon_engage
        "reblogs_count": len(s.get("reblogged_by", ())),
        "favourites_count": len(s.get("favourited_by", ())), "quotes_count": 0, "edited_at": None,
        "favourited": viewer in s.get("favourited_by", ()),
        "reblogged": viewer in s.get("reblogged_by", ()),
        "muted": False, "bookmarked": False, "pinned": False,
        "content": content, "filtered": [], "reblog": None,
        "application": {"name": s.get("application") or "uprbuzz", "website": None},
        "account": acct.public(domain, len(store.account_statuses(acct.id))),
        "media_attachments": [media_view(store, store.media[m], base_url) for m in s["media_ids"]
                              if m in store.media],
        "mentions": mentions, "tags": tags, "emojis": [], "card": None, "poll": None,
    }
    if source:
        out["text"] = s["text"]
    return out


# --- routes ---------------------------------------------------------------------------------

def verify_credentials(store: MastodonStore, who: MastodonAccount) -> Answer:
    acct = who.public(store.instance.domain, len(store.account_statuses(who.id)))
    acct["source"] = {"privacy": "public", "sensitive": False, "language": "", "note": "",
                      "fields": [], "follow_requests_count": 0}
    return 200, acct, {}


def get_account(store: MastodonStore, account_id: str) -> Answer:
    acct = store.account(account_id)
    if acct is None:
        return error(404, NOT_FOUND)
    return 200, acct.public(store.instance.domain, len(store.account_statuses(acct.id))), {}


def _one(params: dict[str, list[str]], name: str) -> str | None:
    v = params.get(name)
    return v[-1] if v else None


def create_status(store: MastodonStore, who: MastodonAccount, req: Request, base_url: str) -> Answer:
    try:
        params = req.params()
    except ValueError:
        return error(400, "Unexpected token in the JSON body")
    text = _one(params, "status") or ""
    spoiler = _one(params, "spoiler_text") or ""
    media_ids = [m for m in params.get("media_ids[]", []) + params.get("media_ids", []) if m]
    reply_to = _one(params, "in_reply_to_id")
    visibility = _one(params, "visibility") or "public"
    sensitive = (_one(params, "sensitive") or "").lower() in _TRUE
    language = (_one(params, "language") or "").lower()
    key = req.headers.get("Idempotency-Key") or ""
    inst = store.instance
    with store.lock:
        parent = store.find(reply_to) if reply_to else None
        if reply_to and parent is None:  # set_thread, before the service runs
            return error(404, REPLY_NOT_FOUND)
        if key:
            sid = store.remembered(who.id, key)
            if sid is not None:  # the original, whatever this body says
                original = store.find(sid)
                if original is None:  # deleted since: Status.find raises
                    return error(404, NOT_FOUND)
                return 200, status_view(store, original, base_url), {}
        # validate_media!
        if len(media_ids) > inst.max_media_attachments:
            return error(422, f"Cannot attach more than {inst.max_media_attachments} files")
        attach = [store.media.get(m) for m in media_ids]
        missing = [m for m, rec in zip(media_ids, attach, strict=True)
                   if rec is None or rec["account_id"] != who.id or rec["status_id"] is not None]
        if missing:
            return error(422, f"Media {', '.join(missing)} not found or already attached to another post")
        ready = [rec for rec in attach if rec is not None]
        if len(ready) > 1 and any(r["type"] in ("video", "gifv", "audio") for r in ready):
            return error(422, "Cannot attach a video to a post that already contains images")
        if not all(store.media_ready(r) for r in ready):
            return error(422, NOT_READY)
        # preprocess_attributes!
        if not text.strip() and spoiler.strip():
            text, spoiler = spoiler, ""
        sensitive = sensitive or bool(spoiler.strip())
        if visibility not in VISIBILITIES:
            return invalid("Visibility is not included in the list")
        text, spoiler = text.strip("\0\t\n\v\f\r "), spoiler.strip("\0\t\n\v\f\r ")
        if not text.strip() and not ready:
            return invalid("Text can't be blank")
        count = mastodon_count(text, spoiler, inst.max_characters, inst.characters_reserved_per_url)
        if not count.valid:
            return invalid(f"Text character limit of {inst.max_characters} exceeded")
        if store.would_exceed(who.id, "POST /api/v1/statuses"):  # RateLimiter, family :statuses
            return error(429, TOO_MANY_REQUESTS, store.headers(who.id, "POST /api/v1/statuses"))
        store.hit(who.id, ["POST /api/v1/statuses"])
        s: dict[str, Any] = {
            "id": store.new_id(), "account_id": who.id, "text": text, "spoiler_text": spoiler,
            "sensitive": sensitive, "visibility": visibility,
            "language": language if re.fullmatch(r"[a-z]{2,3}", language) else "en",
            "in_reply_to_id": parent["id"] if parent else None,
            "in_reply_to_account_id": parent["account_id"] if parent else None,
            "media_ids": list(media_ids), "created_at": store.now(), "deleted": False,
            "deleted_at": None, "idempotency_key": key or None,
        }
        for rec in ready:
            rec["status_id"] = s["id"]
        store.statuses.append(s)
        if key:
            store.remember(who.id, key, s["id"])  # only now that the post exists
        store.save()
        return 200, status_view(store, s, base_url), {}


def get_status(store: MastodonStore, status_id: str, base_url: str,
               viewer: str | None = None) -> Answer:
    s = store.find(status_id)
    if s is None:
        return error(404, NOT_FOUND)
    return 200, status_view(store, s, base_url, viewer=viewer), {}


def delete_status(store: MastodonStore, who: MastodonAccount, status_id: str, base_url: str) -> Answer:
    with store.lock:
        s = store.find(status_id)
        if s is None or s["account_id"] != who.id:  # another's post: not found either
            return error(404, NOT_FOUND)
        s["deleted"], s["deleted_at"] = True, store.now()
        store.save()
        return 200, status_view(store, s, base_url, source=True), {}


def account_statuses(store: MastodonStore, account_id: str, req: Request, base_url: str) -> Answer:
    if store.account(account_id) is None:
        return error(404, NOT_FOUND)
    try:
        limit = int(req.q("limit") or 20)
    except ValueError:
        limit = 20
    limit = max(1, min(limit, 40))  # Mastodon clamps to 40
    items = store.account_statuses(account_id)  # newest first
    max_id, since_id, min_id = req.q("max_id"), req.q("since_id"), req.q("min_id")

    def num(v: str) -> int:
        return int(v) if v.isdigit() else 0

    if max_id:
        items = [s for s in items if int(s["id"]) < num(max_id)]
    if since_id:
        items = [s for s in items if int(s["id"]) > num(since_id)]
    if (req.q("exclude_replies") or "").lower() in _TRUE:
        items = [s for s in items if not s["in_reply_to_id"]]
    if (req.q("only_media") or "").lower() in _TRUE:
        items = [s for s in items if s["media_ids"]]
    if min_id:  # the page just above min_id, still newest first
        items = [s for s in items if int(s["id"]) > num(min_id)][-limit:]
    page = items[:limit]
    headers = {}
    if page:
        path = f"{base_url}/api/v1/accounts/{account_id}/statuses"
        headers["Link"] = (f'<{path}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                           f'<{path}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"')
    return 200, [status_view(store, s, base_url) for s in page], headers


def upload_media(store: MastodonStore, who: MastodonAccount, req: Request, base_url: str,
                 v2: bool) -> Answer:
    from uprbuzz.imaging import ImageError, probe

    inst = store.instance
    parts = {p.name: p for p in req.parts()}
    f = parts.get("file")
    if f is None or not f.data:
        return invalid("File can't be blank")
    description = parts["description"].data.decode(errors="replace") if "description" in parts else ""
    try:
        info = probe(f.data)
    except ImageError:
        info = None
    if info is None or info.mime not in inst.supported_mime_types:
        return invalid("File content type is invalid", "File is invalid")
    animated = info.format == "GIF" and info.frames > 1  # Mastodon turns it into a gifv video
    errors = []
    if len(f.data) >= inst.image_size_limit and not animated:
        errors.append(f"File file size must be less than {_human_size(inst.image_size_limit)}")
    if len(description) > inst.description_limit:
        errors.append(f"Description is too long (maximum is {inst.description_limit} characters)")
    if errors:
        return invalid(*errors)
    if info.width * info.height > inst.image_matrix_limit:
        return error(422, f"{info.width}x{info.height} images are not supported")
    focus = None
    raw_focus = parts["focus"].data.decode(errors="replace") if "focus" in parts else ""
    try:
        fx, fy = (float(v) for v in raw_focus.split(","))
        focus = (fx, fy)
    except ValueError:
        pass
    now = store.now()
    delay = inst.processing_seconds if v2 else 0.0  # v1 answers once processed
    rec: dict[str, Any] = {"id": store.new_id(), "account_id": who.id,
           "type": "gifv" if animated else "image",
           "mime": info.mime, "size": len(f.data), "width": info.width, "height": info.height,
           "description": description or None, "focus": focus, "created_at": now,
           "ready_at": now + delay, "status_id": None}
    with store.lock:
        store.media[rec["id"]] = rec
        store.media_bytes[rec["id"]] = f.data
        store.save()
    return (202 if delay > 0 else 200), media_view(store, rec, base_url), {}


def _human_size(n: int) -> str:
    """Rails' number_to_human_size as Paperclip prints the limit (16777216 -> "16 MB")."""
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} Bytes"


def get_media(store: MastodonStore, who: MastodonAccount, media_id: str, base_url: str) -> Answer:
    rec = store.media.get(media_id)
    if rec is None or rec["account_id"] != who.id:
        return error(404, NOT_FOUND)
    return (200 if store.media_ready(rec) else 206), media_view(store, rec, base_url), {}


def instance(store: MastodonStore, base_url: str) -> Answer:
    inst = store.instance
    return 200, {
        "domain": inst.domain, "title": "uprbuzz Mastodon stand-in", "version": inst.version,
        "source_url": "https://github.com/mastodon/mastodon", "description": "",
        "usage": {"users": {"active_month": len(store.accounts)}},
        "api_versions": {"mastodon": 6},
        "languages": ["en"],
        "configuration": {
            "urls": {"streaming": base_url.replace("http", "ws", 1)},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {"max_characters": inst.max_characters,
                         "max_media_attachments": inst.max_media_attachments,
                         "characters_reserved_per_url": inst.characters_reserved_per_url},
            "media_attachments": {
                "description_limit": inst.description_limit,
                "image_matrix_limit": inst.image_matrix_limit,
                "image_size_limit": inst.image_size_limit,
                "supported_mime_types": list(inst.supported_mime_types),
                "video_frame_rate_limit": 120, "video_matrix_limit": 8_294_400,
                "video_size_limit": 103_809_024,
            },
            "polls": {"max_options": 4, "max_characters_per_option": 50,
                      "min_expiration": 300, "max_expiration": 2_629_746},
            "translation": {"enabled": False},
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "contact": {"email": "", "account": None},
        "rules": [],
    }, {}
