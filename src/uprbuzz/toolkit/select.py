"""Which posts go into the partners' toolkit, in which language, and what each platform gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from uprbuzz.clock import window_bound
from uprbuzz.errors import UprbuzzError
from uprbuzz.model import Part, Post

SHARE_PLATFORMS = ("x", "bluesky", "mastodon")


class ToolkitError(UprbuzzError, ValueError):
    """A toolkit that cannot be built as asked (bad --from/--to, nothing selected)."""


@dataclass(frozen=True)
class Selection:
    campaigns: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None  # exclusive
    langs: tuple[str, ...] = ()


def parse_when(value: str, zone: ZoneInfo, *, end: bool = False) -> datetime:
    """``--from``/``--to``: a date (the whole day, in the project's zone) or a date and time."""
    try:
        return window_bound(value, zone, end=end)
    except ValueError:
        raise ToolkitError(f"{value!r} is not a date or a date and time "
                           "(write 2020-11-09 or 2020-11-09T14:30)") from None


def campaign_of(post: Post) -> str:
    """A post's campaign: its campaign's name, or the folder of a post file (``review``)."""
    return post.id.split("/", 1)[0] if "/" in post.id else post.id


def lang_of(post: Post) -> str:
    return (post.langs[0] if post.langs else "en") or "en"


def select(posts: Sequence[Post], sel: Selection) -> list[Post]:
    """Approved, dated posts of the chosen campaigns, window and languages, in time order."""
    out = []
    want_langs = {x.lower() for x in sel.langs}
    for p in posts:
        if p.status != "approved" or p.at is None or not p.parts:
            continue
        if sel.campaigns and campaign_of(p) not in sel.campaigns:
            continue
        if sel.start and p.at < sel.start:
            continue
        if sel.end and p.at >= sel.end:
            continue
        lang = lang_of(p).lower()
        if want_langs and lang not in want_langs and lang.split("-")[0] not in want_langs:
            continue
        out.append(p)
    return sorted(out, key=lambda p: (p.at, p.id))


def platform_parts(post: Post, platform: str) -> tuple[Part, ...] | None:
    """What a partner would post on ``platform``: the post's own variant where it targets the
    platform, its main text where it does not (partners may be anywhere), nothing where the
    post skips the platform on purpose."""
    if platform in post.platforms:
        return post.parts_for(platform)
    return post.parts
