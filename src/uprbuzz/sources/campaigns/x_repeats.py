"""A rule whose occurrences post the same text to one X account: X refuses the repeat as a
duplicate (403 "duplicate content") at publish time, so ``check`` and ``plan`` say it first.

A records rule with ``summary = true`` fills the same counts every time; a records text without
a per-record placeholder fills the same words for two records. X's window is
:data:`uprbuzz.platforms.limits.X` ``duplicate_window``; it is not restated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from uprbuzz.platforms.limits import X

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.model import Post


@dataclass(frozen=True)
class Repeat:
    """``later`` would post on ``channel`` a text ``earlier`` posted there within X's window."""

    channel: str
    earlier: Post
    later: Post


def x_repeats(posts: Iterable[Post], config: Config) -> list[Repeat]:
    """Every occurrence that repeats, on one of its X channels, the text of a part an earlier
    occurrence posted there less than X's duplicate window before (X judges each part of a
    thread as a post of its own). One Repeat per occurrence, in time order."""
    last: dict[tuple[str, str], Post] = {}  # (channel, part text) -> the latest post with it
    out: list[Repeat] = []
    for post in sorted(posts, key=lambda p: (p.at.timestamp() if p.at else 0.0, p.id)):
        found: Repeat | None = None
        for ch in config.route(post):
            if ch.platform != "x":
                continue
            for part in post.parts_on(ch.name, "x") or ():
                text = " ".join(part.text.split())
                if not text:
                    continue
                prev = last.get((ch.name, text))
                if found is None and prev is not None and _within_window(prev, post):
                    found = Repeat(ch.name, prev, post)
                last[(ch.name, text)] = post
        if found is not None:
            out.append(found)
    return out


def _within_window(earlier: Post, later: Post) -> bool:
    window = X.duplicate_window
    if earlier.at is None or later.at is None:  # campaign occurrences always have a time
        return False
    return window > 0 and (later.at - earlier.at).total_seconds() < window


def repeat_message(repeats: list[Repeat], summary: bool) -> str:
    """One line for the rule: the first repeat, how many more, and what to change."""
    first = repeats[0]
    more = f" (and {len(repeats) - 1} more)" if len(repeats) > 1 else ""
    what = ("this summary posts the same counts every time: "
            if summary else "two records fill this text with the same words: ")
    return (f"{what}{first.later.id} would post on X ({first.channel}) the text of "
            f"{first.earlier.id}{more}, and X refuses an account's repeated text as a duplicate; "
            "put {date} in the text, or vary it"
            + ("" if summary else " with a record's placeholder ({paragraph} or {text})"))
