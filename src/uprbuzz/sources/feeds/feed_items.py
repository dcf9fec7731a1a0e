"""The blog feed (RSS or Atom, via feedparser) -> feed items -> Posts.

This module is pure: configuration, parsing, cleaning and rendering. Polling (HTTP, the
store, draft files) is in :mod:`uprbuzz.sources.feeds.feed_poll`; safe fetching in :mod:`uprbuzz.sources.feeds.feed_fetch`.
See docs/feeds.md.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

from uprbuzz.links import is_web_url, shown
from uprbuzz.model import PLATFORMS, Card, Part, Post
from uprbuzz.sources.feeds.feed_fetch import MAX_BYTES, TIMEOUT, FeedError, check_safe

if TYPE_CHECKING:
    from uprbuzz.config import Config

FEED_KEYS = ("name", "url", "template", "tags", "platforms", "channels", "mode", "backfill", "card", "lang",
             "timeout", "max_bytes", "interval")
DEFAULT_INTERVAL = timedelta(minutes=15)
DEFAULT_TEMPLATE = "{title} {link}"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    template: str = DEFAULT_TEMPLATE
    tags: tuple[str, ...] = ()  # only items with one of these categories (any case)
    platforms: tuple[str, ...] = PLATFORMS
    channels: tuple[str, ...] = ()  # by name (uprbuzz.toml [channels]); (): routed by language
    mode: str = "draft"  # draft: posts/feed/<slug>.md for review | approve: queued directly
    backfill: int = 0  # items already in the feed to post on the first poll
    card: Mapping[str, Any] | None = None  # {template = "blog", ...fields}
    lang: str = "en"
    timeout: float = TIMEOUT
    max_bytes: int = MAX_BYTES
    interval: timedelta = DEFAULT_INTERVAL  # how often `run` / `tick` poll it


def feed_configs(config: Config) -> list[FeedConfig]:
    """The ``[[feeds]]`` of uprbuzz.toml, validated (ConfigError names the problem)."""
    from uprbuzz.config import ConfigError, parse_duration

    out, names = [], set()
    for i, raw in enumerate(config.feeds):
        where = f"[[feeds]] #{i + 1}"
        for k in raw:
            if k not in FEED_KEYS:
                near = difflib.get_close_matches(k, FEED_KEYS, n=1)
                raise ConfigError(f"unknown key {k!r} in {where}"
                                  + (f"; did you mean {near[0]!r}?" if near else ""))
        name = str(raw.get("name", ""))
        if not _NAME.match(name) or name in names:
            raise ConfigError(f"{where} needs a unique name of lower-case letters, digits, - or _")
        names.add(name)
        if not str(raw.get("url", "")).startswith(("http://", "https://")):
            raise ConfigError(f"{where} ({name}) needs url = \"https://...\"")
        mode = str(raw.get("mode", "draft"))
        if mode not in ("draft", "approve"):
            raise ConfigError(f"{where} ({name}): mode must be draft or approve, not {mode!r}")
        plats = raw.get("platforms", config.platforms)
        plats = (plats,) if isinstance(plats, str) else tuple(plats)
        if any(p not in PLATFORMS for p in plats):
            raise ConfigError(f"{where} ({name}): platforms must be among {', '.join(PLATFORMS)}")
        chans = raw.get("channels", ())
        chans = (chans,) if isinstance(chans, str) else tuple(chans)
        if bad := [c for c in chans if config.channel(c) is None]:
            raise ConfigError(f"{where} ({name}): unknown channel {bad[0]!r}; uprbuzz.toml has "
                              f"{', '.join(c.name for c in config.channels)}")
        card = raw.get("card")
        if isinstance(card, str):
            card = {"template": card}
        if card is not None and (not isinstance(card, dict) or "template" not in card):
            raise ConfigError(f"{where} ({name}): card = \"blog\" or {{template = \"blog\", ...}}")
        tags = raw.get("tags", ())
        try:
            out.append(FeedConfig(
                name, str(raw["url"]), str(raw.get("template", DEFAULT_TEMPLATE)),
                (tags,) if isinstance(tags, str) else tuple(str(t) for t in tags), plats,
                tuple(str(c) for c in chans), mode,
                int(raw.get("backfill", 0)), card, str(raw.get("lang", config.lang)),
                float(raw.get("timeout", TIMEOUT)), int(raw.get("max_bytes", MAX_BYTES)),
                parse_duration(raw.get("interval", "15m"))))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where} ({name}): backfill, timeout and max_bytes are numbers "
                              f"({e})") from e
        if not 0 < out[-1].timeout < float("inf") or out[-1].max_bytes <= 0:
            raise ConfigError(f"{where} ({name}): timeout (seconds for the whole fetch) and "
                              "max_bytes must be above 0")
    return out


@dataclass(frozen=True)
class Item:
    key: str  # dedup key: guid:..., link:... or td:<hash of title+date>
    title: str
    link: str | None
    summary: str
    published: datetime | None
    image: str | None
    tags: tuple[str, ...]


# --- cleaning ---------------------------------------------------------------------------------

_ENTITY_LEFT = re.compile(r"&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u2060\ufeff\u00ad]")
_BLOCK = frozenset(["p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "figure", "figcaption", "hr"])


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.img: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "img" and self.img is None:
            self.img = dict(attrs).get("src") or None
        if tag in _BLOCK:
            self.out.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if tag in _BLOCK:
            self.out.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def _is_emoji(c: str) -> bool:
    o = ord(c)
    return (0x1F000 <= o <= 0x1FAFF or 0x2600 <= o <= 0x27BF or o == 0xFE0F
            or unicodedata.category(c) in ("So", "Sk"))


def _drop_zwj(s: str) -> str:
    """Zero-width joiners out, except inside emoji sequences (👩‍👩‍👧 needs them)."""
    if "\u200d" not in s:
        return s
    out = []
    for i, c in enumerate(s):
        if c == "\u200d" and not (0 < i < len(s) - 1 and _is_emoji(s[i - 1]) and _is_emoji(s[i + 1])):
            continue
        out.append(c)
    return "".join(out)


def clean(s: str | None) -> tuple[str, str | None]:
    """Plain text from feed HTML, and the first <img> src. Entities are decoded twice when the
    first pass leaves entities behind (Wix writes ``&#38;`` inside CDATA)."""
    if not s:
        return "", None
    p = _Text()
    p.feed(s)
    p.close()
    text = "".join(p.out)
    if _ENTITY_LEFT.search(text):
        text = html.unescape(text)
    text = _drop_zwj(_ZERO_WIDTH.sub("", text))
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    return text, p.img


# --- parsing ----------------------------------------------------------------------------------

_MOJIBAKE = re.compile("[\u0080-\u009f\ufffd]|[\u00c2\u00c3][\u00a0-\u00bf]")


def parse_feed(body: bytes) -> tuple[list[Item], list[str]]:
    """Items (newest first as the feed lists them) and warnings; FeedError when unusable."""
    if not body.strip():
        raise FeedError("the feed is empty")
    text = check_safe(body)  # decoded as feedparser decodes, refused if it declares entities
    import feedparser

    # The checked UTF-8, as a stream: feedparser treats bytes that look like a path or URL as
    # one and reads that instead.
    d = feedparser.parse(io.BytesIO(text.utf8), sanitize_html=True, resolve_relative_uris=True)
    exc = d.get("bozo_exception")
    if exc is None and text.problem:  # well-formed, but not in the encoding it declares
        raise FeedError(f"the feed is wrongly encoded: {text.problem}")
    # A truncated document can yield an empty entry: only ones with content count.
    entries = [e for e in d.get("entries") or () if e.get("title") or e.get("link")
               or e.get("summary") or e.get("content")]
    if d.get("bozo") and not entries:
        raise FeedError(f"not a usable RSS or Atom feed: {exc}")
    if not entries and not d.get("version"):
        raise FeedError("not an RSS or Atom feed")
    warnings = [f"the feed is not well-formed XML ({exc}); items were recovered"] if d.get("bozo") else []
    base = d.get("feed", {}).get("link") or ""
    items = [_item(e, base) for e in entries]
    for it in items:
        if _MOJIBAKE.search(it.title) or _MOJIBAKE.search(it.summary):
            raise FeedError(f"the feed is wrongly encoded: item {it.title[:60]!r} holds "
                            "characters that only appear when text is decoded with the wrong "
                            "charset (e.g. UTF-8 read as Latin-1)")
    return items, warnings


def _item(e: Mapping[str, Any], base: str) -> Item:
    title, _ = clean(e.get("title"))
    link = e.get("link") or None
    summary_html = e.get("summary") or ""
    content = e.get("content") or []
    summary, img = clean(summary_html)
    if not summary and content:
        summary, img = clean(content[0].get("value"))
    elif content and img is None:
        img = clean(content[0].get("value"))[1]
    stamp = e.get("published_parsed") or e.get("updated_parsed")
    published = datetime(*stamp[:6]).replace(tzinfo=UTC) if stamp else None
    guid = e.get("id") or e.get("guid")
    if guid:
        key = f"guid:{guid}"
    elif link:
        key = f"link:{link}"
    else:
        key = "td:" + hashlib.sha256(f"{title}\n{published}".encode()).hexdigest()[:24]
    return Item(key, title, link, summary, published, _image(e, img, link or base),
                tuple(t.get("term", "") for t in e.get("tags") or () if t.get("term")))


_IMG_EXT = re.compile(r"\.(png|jpe?g|gif|webp|avif)(\?|$|/)", re.I)


def _image(e: Mapping[str, Any], first_img: str | None, base: str) -> str | None:
    """Enclosure, then media:content / media:thumbnail, then the first <img> of the body."""
    cands: list[str | None] = []
    for enc in e.get("enclosures") or ():
        href = enc.get("href") or enc.get("url")
        if href and (str(enc.get("type", "")).startswith("image/") or _IMG_EXT.search(href)):
            cands.append(href)
    for m in e.get("media_content") or ():
        if m.get("medium") == "image" or str(m.get("type", "")).startswith("image/") \
                or _IMG_EXT.search(m.get("url", "")):
            cands.append(m.get("url"))
    cands += [m.get("url") for m in e.get("media_thumbnail") or ()]
    cands.append(first_img)
    for c in cands:
        if c and not c.startswith("data:"):
            url = urljoin(base, c) if base else c
            if is_web_url(url):
                return url
    return None


# --- links ------------------------------------------------------------------------------------
# The rule itself (is_web_url, re-exported here) is uprbuzz.links: the same for every source.

def link_problem(item: Item) -> str | None:
    """Why ``item`` may not become a post because of its link, or None (no link is fine)."""
    if item.link is None or is_web_url(item.link):
        return None
    return (f"item {item.title[:60]!r} links to {shown(item.link)}, which is not an http(s) web "
            "address; only those are posted")


# --- rendering --------------------------------------------------------------------------------

def item_slug(item: Item) -> str:
    """``…/post/<slug>`` (Wix) or the last path segment of the link, else the title."""
    path = urlparse(item.link or "").path.rstrip("/")
    seg = path.rsplit("/", 1)[-1] if path else ""
    base = seg if seg and not seg.isdigit() else item.title
    s = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")[:60].strip("-")
    return s or hashlib.sha256(item.key.encode()).hexdigest()[:10]


def _fields(item: Item, feed: FeedConfig, summary: str) -> dict[str, str]:
    return {"title": item.title, "link": item.link or "", "summary": summary, "feed": feed.name,
            "date": f"{item.published.day} {item.published:%B %Y}" if item.published else ""}


def render_text(item: Item, feed: FeedConfig) -> str:
    """The template filled; ``{summary}`` shortened (at a word, with …) to fit X and Bluesky."""
    def fill(summary: str) -> str:
        f = _fields(item, feed, summary)
        try:
            return feed.template.format_map(f).strip()
        except (KeyError, ValueError, IndexError) as e:
            raise FeedError(f"feed {feed.name!r}: bad template {feed.template!r} ({e}); "
                            "use {title} {link} {summary} {date} {feed}") from None

    text = fill(item.summary)
    if _fits(text) or "{summary}" not in feed.template:
        return text
    words = item.summary.split()
    lo, hi = 0, len(words)  # the longest prefix of words that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits(fill(" ".join(words[:mid]) + "…")):
            lo = mid
        else:
            hi = mid - 1
    return fill(" ".join(words[:lo]) + "…" if lo else "")


def _fits(text: str) -> bool:
    from uprbuzz.platforms.text_measure import bluesky_count, x_length

    return x_length(text).valid and bluesky_count(text).valid


def item_post(item: Item, feed: FeedConfig, post_id: str, *, at: datetime | None,
              status: str) -> Post:
    """The post for ``item``; FeedError if its link is no web address (see is_web_url)."""
    problem = link_problem(item)
    if problem:
        raise FeedError(problem)
    card = None
    if feed.card:
        fields = {k: str(v).format_map(_fields(item, feed, item.summary))
                  for k, v in feed.card.items() if k not in ("template", "size", "alt")}
        fields = {**_card_defaults(item, str(feed.card["template"])), **fields}
        card = Card(str(feed.card["template"]), fields, str(feed.card.get("size", "1600x900")),
                    feed.card.get("alt"))
    return Post(id=post_id, parts=(Part(render_text(item, feed)),), at=at,
                status=status, platforms=feed.platforms, langs=(feed.lang,),  # type: ignore[arg-type]
                channels=feed.channels,
                link=item.link, tags=("feed", feed.name), card=card, origin="feed")


def _card_defaults(item: Item, template: str) -> dict[str, str]:
    """Fields the item fills unless the card sets them, kept to those the template has.
    The item's image is a web address and cards draw only project files, so it is left out."""
    from uprbuzz.cards.templates import TEMPLATES

    t = TEMPLATES.get(template)
    have = {f.name for f in t.fields} if t else set()
    return {k: v for k, v in (("title", item.title), ("url", item.link or "")) if k in have and v}


def wanted(item: Item, feed: FeedConfig) -> bool:
    """The tag filter: no filter, or one of the item's categories matches (any case)."""
    if not feed.tags:
        return True
    want = {t.casefold() for t in feed.tags}
    return any(t.casefold() in want for t in item.tags)


def with_id(post: Post, post_id: str) -> Post:
    return replace(post, id=post_id)
