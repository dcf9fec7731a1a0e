"""Link cards: read a page's OpenGraph tags (Bluesky does no server-side unfurling).

Fetched with a timeout and a size cap; any failure degrades the card (no thumb, or the URL as
title), never the post.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

from uprbuzz.platforms.limits import BLUESKY

# Our own fetch caps (not platform limits): bytes read of the page and of its og:image.
PAGE_CAP = 1_000_000
IMAGE_CAP = 5_000_000
_UA = "uprbuzz link-card fetcher (+https://github.com/uprbuzz)"


@dataclass(frozen=True)
class PageMeta:
    url: str
    title: str
    description: str
    image: str | None  # absolute URL


class _MetaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or "").strip().lower()
            if key and "content" in a and key not in self.meta:
                self.meta[key] = a["content"].strip()
        elif tag == "title":
            self._in_title = True
        elif tag == "body":
            self.done = True  # everything we need lives in <head>

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "head":
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._in_title and not self.title:
            self.title = " ".join(data.split())


def parse_meta(html: str, url: str) -> PageMeta:
    p = _MetaParser()
    try:
        p.feed(html)
        p.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; a broken page gives what it has
        pass
    m = p.meta
    title = m.get("og:title") or m.get("twitter:title") or p.title or url
    desc = m.get("og:description") or m.get("twitter:description") or m.get("description") or ""
    image = m.get("og:image") or m.get("og:image:url") or m.get("twitter:image")
    # our caps for a readable card: the lexicon sets none on title or description
    return PageMeta(url, title[:300], desc[:1000], urljoin(url, image) if image else None)


def _get_capped(client: object, url: str, cap: int) -> tuple[bytes, str]:
    """GET ``url``, reading at most ``cap`` bytes; (body, content-type). Raises on HTTP errors."""
    with client.stream("GET", url, headers={"User-Agent": _UA}) as r:  # type: ignore[attr-defined]
        r.raise_for_status()
        buf = bytearray()
        for chunk in r.iter_bytes():
            buf += chunk
            if len(buf) >= cap:
                del buf[cap:]
                break
        return bytes(buf), r.headers.get("content-type", "")


def fetch_card(url: str, *, timeout: float = 10.0, transport: object = None
               ) -> tuple[PageMeta, bytes | None]:
    """(metadata, thumb bytes re-encoded to ≤ 1,000,000 bytes or None). Never raises."""
    import httpx

    kw = {"transport": transport} if transport is not None else {}
    meta = PageMeta(url, url, "", None)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, **kw) as client:  # type: ignore[arg-type]
            body, ctype = _get_capped(client, url, PAGE_CAP)
            if "html" not in ctype.lower() and body.lstrip()[:1] != b"<":
                return meta, None
            charset = "utf-8"
            if "charset=" in ctype.lower():
                charset = ctype.lower().split("charset=")[-1].split(";")[0].strip() or "utf-8"
            try:
                html = body.decode(charset, errors="replace")
            except LookupError:
                html = body.decode("utf-8", errors="replace")
            meta = parse_meta(html, str(url))
            if not meta.image:
                return meta, None
            try:
                data, _ = _get_capped(client, meta.image, IMAGE_CAP + 1)
                if len(data) > IMAGE_CAP:
                    return meta, None
                from uprbuzz.imaging import fit_to_budget

                return meta, fit_to_budget(data, BLUESKY.max_thumb_bytes).data
            except Exception:  # noqa: BLE001 - a bad thumb gives a card without thumb
                return meta, None
    except Exception:  # noqa: BLE001 - page unreachable: a bare card (URL as title)
        return meta, None
