"""Every platform fact, declared once: :data:`X` and :data:`BLUESKY`.

Text length, media count and bytes, alt text, formats, rate limits (and X's prices) live here
and nowhere else; the platforms (``Platform.limits``), the checks, card encoding, the X
stand-in and the budget all read them. Standard library only, so importing this module costs
nothing (no tweepy, atproto, Pillow or twitter-text): the warm paths may read it freely.

Sources: /work/shared/reference/x-api.md (§6 prices and rate limits, §7 media, §8 length) and
bluesky.md (§3 limits, §4 rate limits).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

MiB = 1024 * 1024
NO_LIMIT = sys.maxsize  # a rule the platform does not have (e.g. X has no byte limit on text)


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window: int  # seconds


def _frozen(d: Mapping[str, RateLimit]) -> Mapping[str, RateLimit]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Limits:
    """What every platform declares. Fields left at their defaults are rules it does not have
    (the test fakes built with ``Limits(300)`` rely on that)."""

    max_length: int  # per part: X weighted characters (twitter-text v3), Bluesky graphemes
    max_bytes: int = NO_LIMIT  # per part, UTF-8
    max_images: int = NO_LIMIT  # per part
    max_image_bytes: int = NO_LIMIT  # per still image, as uploaded
    max_alt: int = NO_LIMIT  # characters of alt text per image
    formats: tuple[str, ...] | None = None  # Pillow format names taken as they are; None: any
    atomic_threads: bool = False  # True: a whole thread is one write (Bluesky applyWrites)
    rate_limits: Mapping[str, RateLimit] = field(default_factory=lambda: _frozen({}), hash=False)

    def formats_text(self) -> str:
        """'JPEG, PNG, GIF or WEBP' (for messages)."""
        f = list(self.formats or ())
        return ", ".join(f[:-1]) + f" or {f[-1]}" if len(f) > 1 else "".join(f)


@dataclass(frozen=True)
class XLimits(Limits):
    max_gif_bytes: int = NO_LIMIT  # animated GIF (X's "tweet_gif" category)
    gif_alone: bool = False  # an animated GIF must be the only image of its post
    post_usd: float = 0.0  # pay-per-use price of one post...
    url_post_usd: float = 0.0  # ...and of a post whose text holds a URL

    def image_cap(self, animated: bool) -> int:
        return self.max_gif_bytes if animated else self.max_image_bytes


@dataclass(frozen=True)
class BlueskyLimits(Limits):
    max_langs: int = NO_LIMIT
    max_tags: int = NO_LIMIT  # post-level tags
    max_tag_graphemes: int = NO_LIMIT  # a tag (post-level, or an in-text #hashtag to be linked)
    max_tag_bytes: int = NO_LIMIT
    max_thumb_bytes: int = NO_LIMIT  # link-card thumbnail blob
    server_max_image_bytes: int = NO_LIMIT  # what today's lexicon accepts (opt-in per account)
    create_points: int = 1  # a created record's cost against the write-points rate limits

    def for_account(self, image_budget: int | None) -> BlueskyLimits:
        """These limits with the account's image budget (``[platforms.bluesky] image_budget``)."""
        return self if image_budget is None else replace(self, max_image_bytes=image_budget)


WEB_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")

X = XLimits(
    max_length=280,  # twitter-text v3 max_weighted_tweet_length; the API spec itself has none
    max_images=4,  # media_ids 1..4: four photos or one GIF
    # X's upload refuses bigger images with "File size exceeds 5242880 bytes." (the docs' "5 MB"
    # is 5 MiB; so is the GIF cap, "exceeds 15728640 bytes"). Decided by that error text: the
    # card encoder used to allow 5,000,000 and the checks 5 MiB.
    max_image_bytes=5 * MiB,
    max_gif_bytes=15 * MiB,
    gif_alone=True,
    max_alt=1000,  # POST /2/media/metadata alt_text.text
    formats=WEB_FORMATS,
    # Per user per 15 min (pay-per-use table, x-api.md §6). users/me and users/:id/tweets are
    # the older per-user read limits (not in the 2026 table).
    rate_limits=_frozen({
        "POST /2/tweets": RateLimit(100, 900),
        "DELETE /2/tweets/:id": RateLimit(50, 900),
        "GET /2/users/me": RateLimit(75, 900),
        "GET /2/users/:id/tweets": RateLimit(900, 900),
        "POST /2/media/upload": RateLimit(500, 900),
        "GET /2/media/upload": RateLimit(1000, 900),
        "POST /2/media/upload/initialize": RateLimit(1875, 900),
        "POST /2/media/upload/:id/append": RateLimit(1875, 900),
        "POST /2/media/upload/:id/finalize": RateLimit(1875, 900),
        "POST /2/media/metadata": RateLimit(500, 900),
    }),
    post_usd=0.015,
    url_post_usd=0.20,
)

BLUESKY = BlueskyLimits(
    max_length=300,  # graphemes (app.bsky.feed.post text maxGraphemes)
    max_bytes=3000,  # UTF-8 bytes (text maxLength)
    max_images=4,
    # The default budget: older servers take 1,000,000-byte images; 2,000,000 since 2026-04-08,
    # opt-in per account through image_budget.
    max_image_bytes=1_000_000,
    server_max_image_bytes=2_000_000,
    max_thumb_bytes=1_000_000,  # app.bsky.embed.external thumb
    max_alt=2000,  # no lexicon limit; the app's MAX_ALT_TEXT
    formats=WEB_FORMATS,  # blobs take image/*; anything else is re-encoded to one of these
    atomic_threads=True,
    max_langs=3,
    max_tags=8,
    max_tag_graphemes=64,
    max_tag_bytes=640,
    # Per account (DID) unless named per IP (bluesky.md §4); a create costs 3 points.
    rate_limits=_frozen({
        "write points/hour": RateLimit(5000, 3600),
        "write points/day": RateLimit(35_000, 86_400),
        "createSession": RateLimit(30, 300),
        "createSession/day": RateLimit(300, 86_400),
        "requests per IP": RateLimit(3000, 300),
    }),
    create_points=3,
)

BY_NAME: Mapping[str, Limits] = MappingProxyType({"x": X, "bluesky": BLUESKY})
