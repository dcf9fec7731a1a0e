"""The one link rule: only an absolute ``http://`` or ``https://`` address with a host becomes
a link card or a link facet, whichever source the post came from.

Judged here and nowhere else: the post-file ``link:`` field, feed items (their link and image),
campaign links, the publish gate (``checks/link_rule``), the live console's posts, and, as the
last line of defence, the Bluesky record builder (``platforms/bluesky_build``), which never
makes a card or a facet for anything else. A root module (standard library only) so that every
layer, platforms included, can import it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")


def is_web_url(url: str | None) -> bool:
    """An absolute ``http://`` or ``https://`` address with a host: never ``javascript:``,
    ``data:``, ``file:``, any other scheme, nor a relative path. Whitespace or control
    characters anywhere (a tab in ``java\\tscript:``) make it none."""
    if not url or not isinstance(url, str):
        return False
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(host)


def shown(url: str, width: int = 60) -> str:
    """``url`` quoted for a message, cut to ``width`` characters (with …)."""
    return repr(url if len(url) <= width else url[:width - 1] + "…")


def link_problem(url: str | None) -> str | None:
    """Why ``url`` may not become a link card or facet, or None (a web address, or no link)."""
    if url is None or is_web_url(url):
        return None
    return (f"{shown(str(url))} is not an http(s) web address (only http:// and https:// "
            "links are posted)")
