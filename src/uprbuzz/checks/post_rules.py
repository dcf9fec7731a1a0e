"""Every platform rule for one post, in one call: X's and Bluesky's (for the platforms the post
targets), media files, and card fields. Used by ``check`` (through the per-file cache) and by
the publish gate, so the two can never disagree about what blocks a post."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uprbuzz.checks import bluesky_rules, card_fields, media_rules, x_rules
from uprbuzz.model import Diagnostic, Post

if TYPE_CHECKING:
    from uprbuzz.config import Config


def check_post(post: Post, config: Config, *, cards: bool = True) -> list[Diagnostic]:
    """All diagnostics for ``post``. ``cards=False`` skips the card-field check (the publish
    gate sees the card already rendered)."""
    out: list[Diagnostic] = []
    if "x" in post.targets:
        out += x_rules.check_post(post, config)
    if "bluesky" in post.targets:
        out += bluesky_rules.check_post(post, config)
    out += media_rules.check_post(post, config)
    if cards:
        out += card_fields.check_post(post, config)
    return out
