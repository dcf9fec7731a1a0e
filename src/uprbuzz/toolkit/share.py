"""Share links: X's post intent, Bluesky's compose intent, a Mastodon server's share page; and
each platform's count of a text (the same measurement the checks use)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

DEFAULT_MASTODON = ("mastodon.social", "mastodon.online", "mstdn.social", "mas.to")
NAMES = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}


def x_intent(text: str) -> str:
    return "https://x.com/intent/post?" + urlencode({"text": text}, quote_via=quote)


def bluesky_intent(text: str) -> str:
    return "https://bsky.app/intent/compose?" + urlencode({"text": text}, quote_via=quote)


def mastodon_share(instance: str, text: str) -> str:
    host = instance.strip().removeprefix("https://").removeprefix("http://").strip("/")
    return f"https://{host}/share?" + urlencode({"text": text}, quote_via=quote)


def share_link(platform: str, text: str) -> str | None:
    return {"x": x_intent, "bluesky": bluesky_intent}.get(platform, lambda _t: None)(text)


@dataclass(frozen=True)
class Count:
    used: int
    limit: int

    @property
    def over(self) -> bool:
        return self.used > self.limit


def count(platform: str, text: str) -> Count:
    from uprbuzz.platforms.text_measure import bluesky_count, mastodon_count, x_length

    if platform == "x":
        x = x_length(text)
        return Count(x.weighted_length, x.limit)
    if platform == "bluesky":
        b = bluesky_count(text)
        return Count(b.graphemes, b.limit)
    m = mastodon_count(text)
    return Count(m.length, m.limit)
