"""Getting feed bytes safely: conditional GET, timeout, size cap, no entity declarations.

Everything here runs before feedparser sees a byte, so a hostile or broken feed costs at most
``max_bytes`` of memory and ``timeout`` seconds, and never expands an entity.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from uprbuzz import __version__
from uprbuzz.errors import UprbuzzError

MAX_BYTES = 5_000_000
TIMEOUT = 20.0
USER_AGENT = f"uprbuzz/{__version__} (+feed reader)"


class FeedError(UprbuzzError):
    """A feed we will not turn into posts; the message says why in a plain sentence."""


@dataclass(frozen=True)
class Fetched:
    status: int  # 200, or 304 (not modified: nothing to do)
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES) -> Fetched:
    """GET ``url`` with If-None-Match / If-Modified-Since; reads at most ``max_bytes``."""
    if not url.startswith(("http://", "https://")):
        raise FeedError(f"feed url {url!r} must start with http:// or https://")
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1", "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FeedError(f"{url}: feed is {int(length):,} bytes, over the "
                                f"{max_bytes:,}-byte limit")
            body = _read_capped(resp, max_bytes, url)
            return Fetched(resp.status, body, resp.headers.get("ETag"),
                           resp.headers.get("Last-Modified"))
    except urllib.error.HTTPError as e:
        if e.code == 304:
            return Fetched(304, b"", e.headers.get("ETag") or etag,
                           e.headers.get("Last-Modified") or last_modified)
        raise FeedError(f"{url}: the server answered HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise FeedError(f"{url}: cannot reach the server ({e.reason})") from None
    except TimeoutError:
        raise FeedError(f"{url}: no answer within {timeout:g} s") from None
    except OSError as e:
        raise FeedError(f"{url}: connection failed ({e})") from None


def _read_capped(stream: BinaryIO, max_bytes: int, where: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise FeedError(f"{where}: feed is over the {max_bytes:,}-byte limit")
        chunks.append(chunk)


def read_source(src: str, *, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES) -> bytes:
    """A URL (plain GET) or a local file, with the same size cap."""
    if src.startswith(("http://", "https://")):
        return fetch(src, timeout=timeout, max_bytes=max_bytes).body
    p = Path(src)
    if not p.is_file():
        raise FeedError(f"{src}: no such file (give a file or an http(s) URL)")
    if p.stat().st_size > max_bytes:
        raise FeedError(f"{src}: feed is {p.stat().st_size:,} bytes, over the "
                        f"{max_bytes:,}-byte limit")
    with p.open("rb") as f:
        return _read_capped(f, max_bytes, src)


# A DOCTYPE's internal subset: [ ... ]> ; entity declarations in it are what expand
# ("billion laughs") or fetch ("external entities"). Plain DOCTYPEs (RSS 0.91) are fine.
_DOCTYPE = re.compile(r"<!DOCTYPE\b", re.I)
_ENTITY = re.compile(r"<!ENTITY\b", re.I)


def check_safe(body: bytes) -> None:
    """Refuse documents that declare entities, before any XML parser runs."""
    for text in _views(body[:1_000_000] if len(body) > 1_000_000 else body):
        m = _DOCTYPE.search(text)
        if not m:
            continue
        end = text.find("]>", m.end())  # end of the internal subset, if any
        if end < 0:
            end = text.find(">", m.end())
        if _ENTITY.search(text, m.end(), end if end > 0 else len(text)):
            raise FeedError("the feed declares XML entities in its DOCTYPE (an entity-expansion "
                            "or external-entity attack, or a very unusual feed); refused")


def _views(body: bytes) -> list[str]:
    """The document as text in each plausible encoding family (for the scan only)."""
    views = [body.decode("latin-1")]  # every ASCII-compatible encoding
    head = body[:4]
    if b"\x00" in head or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        for enc in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            views.append(body.decode(enc, errors="ignore"))
    return views
