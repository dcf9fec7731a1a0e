"""Getting feed bytes safely: conditional GET, one deadline, size cap, no entity declarations.

Everything here runs before feedparser parses a byte, so a hostile or broken feed costs at most
``max_bytes`` of memory and ``timeout`` seconds (for the whole fetch: connect, redirects,
headers and body), and never expands an entity.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from uprbuzz import __version__
from uprbuzz.errors import UprbuzzError

if TYPE_CHECKING:
    from uprbuzz.sources.feeds.feed_deadline import Deadline

MAX_BYTES = 5_000_000
TIMEOUT = 20.0
MAX_REDIRECTS = 10
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
    """GET ``url`` with If-None-Match / If-Modified-Since; reads at most ``max_bytes``.

    The whole fetch (DNS, connect, TLS, every redirect, the headers and every byte of the body)
    finishes within ``timeout`` seconds or raises FeedError: a server that drips the feed a
    byte at a time is given up at the deadline, not after ``timeout`` per read.
    """
    start = time.monotonic()  # the deadline counts from here
    if not url.startswith(("http://", "https://")):
        raise FeedError(f"feed url {url!r} must start with http:// or https://")
    import httpx

    from uprbuzz.sources.feeds.feed_deadline import (
        NETWORK_ERRORS,
        TIMEOUT_ERRORS,
        Deadline,
        DeadlineTransport,
    )

    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1", "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = Deadline(timeout, start)
    body = _Body(url, max_bytes)
    try:
        with httpx.Client(transport=DeadlineTransport(deadline), timeout=max(timeout, 0.001),
                          follow_redirects=True, max_redirects=MAX_REDIRECTS,
                          trust_env=False) as client, \
                client.stream("GET", url, headers=headers) as resp:
            deadline.stage = "body"
            if resp.status_code == 304:
                return Fetched(304, b"", resp.headers.get("ETag") or etag,
                               resp.headers.get("Last-Modified") or last_modified)
            if not 200 <= resp.status_code < 300:
                raise FeedError(f"{url}: the server answered HTTP {resp.status_code} "
                                f"{resp.reason_phrase}".rstrip())
            body.start(resp.headers.get("Content-Length"), resp.headers.get("Content-Encoding"))
            for chunk in resp.iter_raw():
                body.add(chunk)
                if deadline.passed:
                    raise _too_slow(url, deadline, body)
            return Fetched(resp.status_code, body.finish(), resp.headers.get("ETag"),
                           resp.headers.get("Last-Modified"))
    except FeedError:
        raise
    except httpx.TooManyRedirects:
        raise FeedError(f"{url}: more than {MAX_REDIRECTS} redirects") from None
    except httpx.UnsupportedProtocol as e:
        raise FeedError(f"{url}: the server redirected to an address that is not http(s) "
                        f"({e})") from None
    except NETWORK_ERRORS as e:
        if deadline.passed or isinstance(e, TIMEOUT_ERRORS):
            raise _too_slow(url, deadline, body) from None
        what = "cannot reach the server" if deadline.stage in ("dns", "connect", "tls") \
            else "the connection failed"
        raise FeedError(f"{url}: {what} ({str(e) or type(e).__name__})") from None


def _too_slow(url: str, deadline: Deadline, body: _Body) -> FeedError:
    stage = deadline.stage
    if stage == "body":
        what = f"the server sent {body.received:,} bytes of the feed"
        if body.length:
            what += f" (of {body.length:,})"
        what += " in that time"
    elif stage == "answer" and deadline.answer_bytes:
        what = (f"the server began to answer ({deadline.answer_bytes:,} bytes) but did not "
                "finish its headers in that time")
    else:
        what = {"dns": "looking up the server's address took all of it",
                "connect": "could not connect to the server in that time",
                "tls": "the secure (TLS) handshake did not finish in that time",
                "answer": "the server took the request but sent no answer in that time",
                }.get(stage, "no answer in that time")
    return FeedError(f"{url}: gave up after {deadline.seconds:g} s: {what} (a feed must arrive "
                     "within its `timeout`)")


class _Body:
    """The body as it arrives: capped at ``max_bytes`` (after decompression, if the server
    compressed it although we asked it not to)."""

    def __init__(self, where: str, max_bytes: int) -> None:
        self.where, self.max_bytes = where, max_bytes
        self.received = 0  # bytes on the wire
        self.length: int | None = None  # Content-Length
        self._chunks: list[bytes] = []
        self._size = 0
        self._inflate: zlib._Decompress | None = None
        self._encoding = ""

    def start(self, length: str | None, encoding: str | None) -> None:
        if length and length.strip().isdigit():
            self.length = int(length)
            if self.length > self.max_bytes:
                raise FeedError(f"{self.where}: feed is {self.length:,} bytes, over the "
                                f"{self.max_bytes:,}-byte limit")
        self._encoding = (encoding or "").strip().lower()
        if self._encoding in ("gzip", "x-gzip", "deflate"):
            self._inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header
        elif self._encoding not in ("", "identity"):
            raise FeedError(f"{self.where}: the server sent the feed compressed as "
                            f"{self._encoding!r}, which uprbuzz does not read")

    def add(self, raw: bytes) -> None:
        self.received += len(raw)
        if self._inflate is None:
            self._keep(raw)
            return
        try:
            data = self._inflate.decompress(raw, self.max_bytes + 1 - self._size)
        except zlib.error as e:
            raise FeedError(f"{self.where}: the server sent a broken {self._encoding} body "
                            f"({e})") from None
        self._keep(data)
        if self._inflate.unconsumed_tail:
            self._over()

    def finish(self) -> bytes:
        if self._inflate is not None:
            self._keep(self._inflate.flush())
        return b"".join(self._chunks)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.max_bytes:
            self._over()
        self._chunks.append(data)

    def _over(self) -> None:
        raise FeedError(f"{self.where}: feed is over the {self.max_bytes:,}-byte limit")


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


# --- entity declarations -----------------------------------------------------------------------
#
# An entity declaration is how a document makes an XML parser expand text ("billion laughs") or
# read a file or URL ("external entities"). It can only take effect in the DOCTYPE, but it is
# refused wherever it appears: a scan that must first find the DOCTYPE can be fooled about where
# it is; one over the whole text cannot.
#
# The scan reads exactly the text feedparser parses. feedparser first decodes the bytes (a
# byte-order mark; "<?xm" sniffed in UTF-16/32 or EBCDIC; the XML declaration's encoding, any
# codec Python knows, UTF-7 included; then UTF-8, Windows-1252, ISO-8859-2) and re-encodes the
# text as UTF-8 for its parsers. check_safe runs that same step and scans all of its result;
# parse_feed gives feedparser that UTF-8, and check_safe has made sure feedparser's decoding
# leaves it unchanged. So what is parsed is byte for byte what was scanned, whatever the
# encoding and however long the document.
#
# The raw bytes are scanned too, for <!ENTITY in ASCII, UTF-16/32 (either byte order) or a code
# page that writes it differently (EBCDIC, Mac Arabic): a document whose encoding feedparser
# would get wrong is refused as well, rather than parsed as garbage.

_ENTITY = re.compile(rb"<!\s*ENTITY", re.I)  # in the UTF-8 text feedparser parses
# The code pages that write "<!ENTITY" other than in ASCII bytes (EBCDIC; Mac Arabic and Farsi
# have their own "<" and "!"). tests/test_feed_entities.py checks this against every codec.
_ODD_CODECS = ("cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140", "mac_arabic",
               "mac_farsi")


def _raw_entity_pattern() -> re.Pattern[bytes]:
    """``<!ENTITY`` (any case) in ASCII-compatible bytes, in UTF-16/32 of either byte order
    (up to three NULs between the characters), or in one of the odd code pages."""
    def classes(upper: bytes, lower: bytes) -> list[bytes]:
        return [b"[" + b"".join(re.escape(bytes([b])) for b in sorted({u, lo})) + b"]"
                for u, lo in zip(upper, lower, strict=True)]

    alternatives = [b"\x00{0,3}".join(classes(b"<!ENTITY", b"<!entity"))]
    for codec in _ODD_CODECS:
        alternatives.append(b"".join(classes("<!ENTITY".encode(codec),
                                             "<!entity".encode(codec))))
    return re.compile(b"|".join(dict.fromkeys(alternatives)))


_RAW_ENTITY = _raw_entity_pattern()


@dataclass(frozen=True)
class FeedText:
    """A feed document as feedparser reads it."""

    utf8: bytes  # what feedparser parses: its own decoding of the bytes, as UTF-8
    encoding: str  # the encoding it was read in
    problem: str | None = None  # feedparser's complaint about the encoding, if any


def check_safe(body: bytes) -> FeedText:
    """The document decoded as feedparser decodes it; FeedError if it declares entities
    anywhere, in any encoding. Give feedparser ``.utf8`` (not ``body``): that is what was
    checked."""
    import feedparser

    result: dict[str, object] = {}
    try:
        utf8 = feedparser.encodings.convert_to_utf8({}, body, result)
    except (UnicodeError, LookupError, ValueError) as e:
        raise FeedError(f"the feed is wrongly encoded: it cannot be read as text ({e})") from None
    encoding = str(result.get("encoding") or "")
    if not isinstance(utf8, bytes) or not encoding:  # pragma: no cover (ISO-8859-2 reads all)
        raise FeedError("the feed is wrongly encoded: no character encoding reads it")
    m = _ENTITY.search(utf8)
    if m:
        line = utf8.count(b"\n", 0, m.start()) + 1
        raise _entities(f"line {line:,} of the document, read as {encoding}")
    m = _RAW_ENTITY.search(body)
    if m:
        raise _entities(f"byte {m.start():,}, in an encoding the document does not declare")
    # feedparser decodes what it is given once more: that must change nothing, or it would
    # parse a text other than the one scanned (a second encoding= on the first line can make
    # it decode twice, e.g. UTF-7 that yields UTF-7).
    if feedparser.encodings.convert_to_utf8({}, utf8, {}) != utf8:
        raise FeedError("the feed names more than one encoding in its first line, so it reads "
                        "differently each time it is decoded; refused")
    exc = result.get("bozo_exception")
    problem = str(exc) if type(exc).__name__ in ("CharacterEncodingOverride",
                                                 "CharacterEncodingUnknown") else None
    return FeedText(utf8, encoding, problem)


def _entities(where: str) -> FeedError:
    return FeedError(f"the feed declares XML entities (<!ENTITY at {where}): an "
                     "entity-expansion or external-entity attack, or a very unusual feed; "
                     "refused (a post that quotes one must write &lt;!ENTITY, even in CDATA)")
