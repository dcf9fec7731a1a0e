"""Turn OutgoingParts into app.bsky.feed.post records: blobs, link card, facets, langs, reply refs.

The records are chained before anything is written: part *i* replies to part *i-1* by the
at:// URI of its chosen key and its locally computed CID.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from uprbuzz.links import is_web_url, link_problem
from uprbuzz.platforms import bluesky_records as rec
from uprbuzz.platforms.base import OutgoingPart, Rejected, Remote
from uprbuzz.platforms.text_measure import bluesky_facets

if TYPE_CHECKING:
    from uprbuzz.config import BlueskyConfig
    from uprbuzz.platforms.limits import BlueskyLimits


class RecordHost(Protocol):
    """What building records needs from the logged-in account (BlueskyPlatform)."""

    config: BlueskyConfig
    limits: BlueskyLimits  # BLUESKY with the account's image budget

    @property
    def did(self) -> str | None: ...

    @property
    def card_transport(self) -> Any: ...

    def upload_blob(self, data: bytes, mime: str) -> dict[str, Any]: ...

    def resolve_handle(self, handle: str) -> str | None: ...

MENTION = "app.bsky.richtext.facet#mention"
LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"


def build_records(plat: RecordHost, parts: Sequence[OutgoingPart],
                  reply_to: tuple[Remote, Remote] | None, keys: Sequence[str]) -> list[dict[str, Any]]:
    did = plat.did or ""
    created = rec.now_iso()
    records: list[dict[str, Any]] = []
    root = parent = None
    if reply_to is not None:
        root = rec.strong_ref(reply_to[0].uri, reply_to[0].cid)
        parent = rec.strong_ref(reply_to[1].uri, reply_to[1].cid)
    for i, (part, key) in enumerate(zip(parts, keys, strict=True)):
        embed = None
        if part.media:
            embed = image_embed(plat, part)
        elif i == 0 and part.link:
            embed = link_card(plat, part.link)
        record = rec.post_record(
            part.text, created_at=created, langs=part.langs, facets=facets(plat, part.text),
            embed=embed, reply=(root, parent) if root and parent else None, tags=part.tags)
        records.append(record)
        ref = rec.strong_ref(rec.at_uri(did, key), rec.record_cid(record))
        root = root or ref
        parent = ref
    return records


def image_embed(plat: RecordHost, part: OutgoingPart) -> dict[str, Any]:
    from uprbuzz.imaging import ImageError, fit_to_budget

    cap = plat.limits.max_images
    if len(part.media) > cap:
        raise Rejected(f"{len(part.media)} images in one post (Bluesky allows {cap})",
                       platform="bluesky")
    items = []
    for m in part.media:
        try:
            enc = fit_to_budget(m.data, plat.limits.max_image_bytes)
        except ImageError as e:
            raise Rejected(f"image {m.filename or ''}: {e}".replace("image : ", "image: "),
                           platform="bluesky") from e
        blob = plat.upload_blob(enc.data, enc.mime)
        items.append((blob, m.alt, enc.width, enc.height))
    return rec.image_embed(items)


def link_card(plat: RecordHost, url: str) -> dict[str, Any]:
    """The app.bsky.embed.external card for ``url``. The last line of defence of the link rule
    (uprbuzz.links): a link that is no http(s) web address is refused, never carried."""
    from uprbuzz.platforms.bluesky_card import fetch_card

    problem = link_problem(url)
    if problem is not None:
        raise Rejected(f"no link card: {problem}", platform="bluesky")

    meta, thumb = fetch_card(url, timeout=min(plat.config.timeout, 10.0),
                             transport=plat.card_transport)
    blob = None
    if thumb:
        from uprbuzz.imaging import probe

        try:
            blob = plat.upload_blob(thumb, probe(thumb).mime)
        except Rejected:
            blob = None  # a refused thumb gives a card without thumb, never a failed post
    return rec.external_embed(url, meta.title, meta.description, blob)


def facets(plat: RecordHost, text: str) -> list[dict[str, Any]]:
    """Links, tags and mentions (resolved to DIDs; unresolvable ones dropped), by byte offset.
    A link facet is made only for an http(s) web address (uprbuzz.links); any other is dropped
    and its text stays plain."""
    raw = _detect(text)
    out: list[dict[str, Any]] = []
    for f in raw:
        feats = []
        for feat in f.get("features", []):
            if feat.get("$type") == LINK and not is_web_url(feat.get("uri")):
                continue
            if feat.get("$type") == MENTION:
                did = feat.get("did") or ""
                if not did.startswith("did:"):
                    did = plat.resolve_handle(feat.get("handle") or did) or ""
                if not did:
                    continue
                feat = {"$type": MENTION, "did": did}
            feats.append(dict(feat))
        if feats:
            out.append({"index": dict(f["index"]), "features": feats})
    out.sort(key=lambda f: f["index"]["byteStart"])
    return out


def _detect(text: str) -> list[dict[str, Any]]:
    return list(bluesky_facets(text))
