"""Every platform rule for one post, in one call: each platform's rules for the channels the
post is routed to (with a channel's own variant checked against its platform), media files,
and card fields. Used by ``check`` (through the per-file cache) and by the publish gate, so the
two can never disagree about what blocks a post."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from uprbuzz.checks import (
    bluesky_rules,
    card_fields,
    link_rule,
    mastodon_rules,
    media_rules,
    x_rules,
)
from uprbuzz.model import Diagnostic, Post

if TYPE_CHECKING:
    from uprbuzz.config import Channel, Config

Rules = Callable[[Post, "Config", "Channel"], list[Diagnostic]]
# Platform -> its rules for one channel's view of the post.
RULES: dict[str, Rules] = {
    "x": lambda post, config, _ch: x_rules.check_post(post, config),
    "bluesky": lambda post, config, _ch: bluesky_rules.check_post(post, config),
    "mastodon": lambda post, config, ch: mastodon_rules.check_post(post, config,
                                                                   ch.max_characters),
}


def check_post(post: Post, config: Config, *, cards: bool = True) -> list[Diagnostic]:
    """All diagnostics for ``post``. ``cards=False`` skips the card-field check (the publish
    gate sees the card already rendered)."""
    out: list[Diagnostic] = []
    if post.status == "approved" and post.platforms and not config.route(post):
        out.append(Diagnostic.at(post.source, "warning", "no-channel",
                                 "this post goes to no enabled channel (check its platforms:, "
                                 "channels: and lang against uprbuzz.toml's channels)"))
    out += link_rule.check_post(post)  # whatever the platforms: see uprbuzz.links
    for ch, view in views(post, config):
        out += RULES[ch.platform](view, config, ch)
    out += media_rules.check_post(post, config)
    if cards:
        out += card_fields.check_post(post, config)
    unique: dict[str, Diagnostic] = {}  # two channels sharing a variant report it once
    for d in out:
        unique.setdefault(str(d), d)
    return list(unique.values())


def views(post: Post, config: Config) -> Iterator[tuple[Channel, Post]]:
    """``(channel, post as its platform's rules should see it)`` once per distinct variant and
    limit: the post itself per platform, and for a channel with its own block, the post with
    that block standing in for its platform's."""
    done: set[tuple[str, str | None, int | None]] = set()
    for ch in config.route(post):
        own = ch.name if ch.name != ch.platform and ch.name in post.overrides else None
        if (ch.platform, own, ch.max_characters) in done:
            continue
        done.add((ch.platform, own, ch.max_characters))
        if own is None:
            yield ch, post
        else:
            yield ch, replace(post, platforms=(ch.platform,),
                              overrides={**post.overrides, ch.platform: post.overrides[own]})
