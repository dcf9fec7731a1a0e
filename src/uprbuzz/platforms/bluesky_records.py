"""Bluesky record plumbing that needs no network: TIDs, local CIDs, post records as JSON dicts.

Records are plain JSON-shaped dicts (what ``applyWrites`` sends and ``getRecord`` returns), so
the CID computed here is the CID the PDS stores: CIDv1, dag-cbor (0x71), sha2-256 of the record's
DAG-CBOR encoding, base32 ``b…`` (as social-app's ``computeCid``). libipld (an atproto SDK
dependency) is imported lazily.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

POST = "app.bsky.feed.post"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable (atproto TID spec)
_CID_PREFIX = bytes([0x01, 0x71, 0x12, 0x20])  # CIDv1, dag-cbor, sha2-256, 32-byte digest


# --- TIDs ----------------------------------------------------------------------------------

class TidClock:
    """Monotonic TID source: 53-bit microseconds since the epoch + a 10-bit clock id.

    Never returns the same or a smaller value twice (even if the wall clock steps back), so
    keys minted for one thread sort in part order.
    """

    def __init__(self, clock_id: int | None = None, now_us: Any = None) -> None:
        self.clock_id = random.randrange(1024) if clock_id is None else clock_id & 0x3FF
        self._now_us = now_us or (lambda: time.time_ns() // 1000)
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            us = max(self._now_us(), self._last + 1)
            self._last = us
        return encode_tid(us, self.clock_id)


def derived_tids(digest: bytes, at_micros: int, first: int, count: int) -> list[str]:
    """TIDs for parts ``first``..``first+count-1`` of one post, a pure function of the post's
    digest and time: the post's second plus a digest-chosen microsecond and clock id (two posts
    in the same second collide with odds of about one in a billion), one microsecond per part
    so a thread's keys sort in part order."""
    second = at_micros - at_micros % 1_000_000
    sub = int.from_bytes(digest[:4], "big") % 999_000  # leaves room for 1000 parts
    clock_id = int.from_bytes(digest[4:6], "big") & 0x3FF
    return [encode_tid(second + sub + first + i, clock_id) for i in range(count)]


def encode_tid(micros: int, clock_id: int) -> str:
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)  # top bit stays 0
    out = []
    for _ in range(13):
        out.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(out))


def decode_tid(tid: str) -> tuple[int, int]:
    """(microseconds since epoch, clock id); ValueError if ``tid`` is not a valid TID."""
    if not is_tid(tid):
        raise ValueError(f"not a TID: {tid!r}")
    value = 0
    for ch in tid:
        value = value * 32 + _B32.index(ch)
    return value >> 10, value & 0x3FF


def is_tid(s: str) -> bool:
    # 13 chars; the first char carries the top bit, which must be 0 ("234567abcdefghij")
    return len(s) == 13 and all(c in _B32 for c in s) and s[0] in _B32[:16]


# --- CIDs ----------------------------------------------------------------------------------

def _to_ipld(value: Any) -> Any:
    """JSON form -> IPLD data model: ``{"$link": cid}`` -> CID bytes (libipld encodes them as
    tag 42). ``$bytes`` never occurs in post records."""
    if isinstance(value, Mapping):
        if set(value) == {"$link"}:
            import libipld

            return libipld.decode_multibase(value["$link"])[1]
        return {k: _to_ipld(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_ipld(v) for v in value]
    return value


def record_cid(record: Mapping[str, Any]) -> str:
    import libipld

    block = libipld.encode_dag_cbor(_to_ipld(record))
    return libipld.encode_multibase("b", _CID_PREFIX + hashlib.sha256(block).digest())


# --- records -------------------------------------------------------------------------------

def now_iso() -> str:
    """createdAt in the form the app writes (millisecond precision, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def at_uri(did: str, rkey: str, collection: str = POST) -> str:
    return f"at://{did}/{collection}/{rkey}"


def strong_ref(uri: str, cid: str) -> dict[str, str]:
    return {"uri": uri, "cid": cid}


def image_embed(images: Iterable[tuple[Mapping[str, Any], str, int, int]]) -> dict[str, Any]:
    """images: (uploaded blob JSON, alt, width, height); aspect ratio is always sent."""
    return {
        "$type": "app.bsky.embed.images",
        "images": [
            {"alt": alt, "image": dict(blob), "aspectRatio": {"width": w, "height": h}}
            for blob, alt, w, h in images
        ],
    }


def external_embed(uri: str, title: str, description: str,
                   thumb: Mapping[str, Any] | None) -> dict[str, Any]:
    ext: dict[str, Any] = {"uri": uri, "title": title, "description": description}
    if thumb is not None:
        ext["thumb"] = dict(thumb)
    return {"$type": "app.bsky.embed.external", "external": ext}


def post_record(text: str, *, created_at: str, langs: Iterable[str] = (),
                facets: list[dict[str, Any]] | None = None, embed: dict[str, Any] | None = None,
                reply: tuple[Mapping[str, str], Mapping[str, str]] | None = None,
                tags: Iterable[str] = ()) -> dict[str, Any]:
    rec: dict[str, Any] = {"$type": POST, "text": text, "createdAt": created_at}
    langs = [lang for lang in langs if lang][:3]
    if langs:
        rec["langs"] = langs
    if facets:
        rec["facets"] = facets
    if embed:
        rec["embed"] = embed
    if reply:
        rec["reply"] = {"root": dict(reply[0]), "parent": dict(reply[1])}
    tags = [t.lstrip("#") for t in tags if t.lstrip("#")][:8]
    if tags:
        rec["tags"] = tags
    return rec
