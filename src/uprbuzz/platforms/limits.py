"""Every platform fact, declared once: :data:`X`, :data:`BLUESKY` and :data:`MASTODON`.

Text length, media count and bytes, alt text, formats, rate limits (and X's prices) live here
and nowhere else; the platforms (``Platform.limits``), the checks, card encoding, the X
stand-in and the budget all read them. Standard library only, so importing this module costs
nothing (no tweepy, atproto, Pillow or twitter-text): the warm paths may read it freely.

Sources: /work/shared/reference/x-api.md (§6 prices and rate limits, §7 media, §8 length),
bluesky.md (§3 limits, §4 rate limits), mastodon.md, and Mastodon's server source (cited at
:data:`MASTODON`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

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
    max_reads: int = 1  # posts whose engagement one read request returns (metrics batches)
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
    read_usd: float = 0.0  # a post read (engagement), ...
    owned_read_usd: float = 0.0  # ...and one of the reading account's own posts
    duplicate_window: int = 0  # seconds in which X refuses an account's repeated text; 0: none

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
    max_writes: int = NO_LIMIT  # records in one com.atproto.repo.applyWrites

    def for_account(self, image_budget: int | None) -> BlueskyLimits:
        """These limits with the account's image budget (``[platforms.bluesky] image_budget``)."""
        return self if image_budget is None else replace(self, max_image_bytes=image_budget)


@dataclass(frozen=True)
class MastodonLimits(Limits):
    """Mastodon's defaults; an instance may differ (some allow 5,000+ characters), so a
    platform reads ``GET /api/v2/instance`` and uses :meth:`for_instance`."""

    url_chars: int = 23  # every URL counts this many characters (characters_reserved_per_url)
    max_image_pixels: int = NO_LIMIT  # width x height (image_matrix_limit)
    mime_types: tuple[str, ...] = ()  # what the instance takes (supported_mime_types)

    def for_instance(self, instance: Mapping[str, Any] | None) -> MastodonLimits:
        """These limits as an instance states them in ``/api/v2/instance`` (``configuration``);
        a value the document does not give (older servers have no ``description_limit``) keeps
        the default."""
        conf = (instance or {}).get("configuration") or {}
        statuses = conf.get("statuses") or {}
        media = conf.get("media_attachments") or {}

        def num(d: Mapping[str, Any], key: str, default: int) -> int:
            v = d.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else default

        mimes = media.get("supported_mime_types")
        return replace(
            self,
            max_length=num(statuses, "max_characters", self.max_length),
            max_images=num(statuses, "max_media_attachments", self.max_images),
            url_chars=num(statuses, "characters_reserved_per_url", self.url_chars),
            # image_size_limit is IMAGE_LIMIT, which an upload must stay under ("less_than")
            max_image_bytes=num(media, "image_size_limit", self.max_image_bytes + 1) - 1,
            max_alt=num(media, "description_limit", self.max_alt),
            max_image_pixels=num(media, "image_matrix_limit", self.max_image_pixels),
            mime_types=tuple(m for m in mimes if isinstance(m, str)) if isinstance(mimes, list)
            else self.mime_types,
        )


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
    # 403 "duplicate content" (x-api.md §4). X documents no window; the same text a week apart
    # was refused (issue 14), so the campaign check takes any repeat by one account as refused.
    duplicate_window=NO_LIMIT,
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
        "GET /2/tweets": RateLimit(900, 900),  # post lookup (engagement reads)
        "POST /2/users/:id/likes": RateLimit(1000, 86_400),  # the stand-in's likes and
        "POST /2/users/:id/retweets": RateLimit(50, 900),  # retweets (tests engage)
    }),
    post_usd=0.015,
    url_post_usd=0.20,
    # Pay-per-use reads (x-api.md §6: "reads $0.005 each"); reading the account's own posts is
    # an "owned read" at $0.001. One resource returned is one read.
    read_usd=0.005,
    owned_read_usd=0.001,
    max_reads=100,  # GET /2/tweets?ids= takes 1..100 ids
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
    max_reads=25,  # app.bsky.feed.getPosts takes up to 25 uris
    max_writes=200,  # the PDS refuses a larger applyWrites
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

# Mastodon's defaults, as upstream Mastodon 4.x declares them (the mastodon/mastodon source):
# - StatusLengthValidator (app/validators/status_length_validator.rb): MAX_CHARS = 500 grapheme
#   clusters of spoiler_text + text, URL_PLACEHOLDER_CHARS = 23 (text_measure.mastodon_count).
# - Status::MEDIA_ATTACHMENTS_LIMIT = 4 (PostStatusService#validate_media!).
# - MediaAttachment (app/models/media_attachment.rb): IMAGE_LIMIT = 16.megabytes (16 MiB) with
#   `validates_attachment_size :file, less_than: IMAGE_LIMIT`, so the largest accepted image is
#   one byte under 16 MiB; MAX_DESCRIPTION_LENGTH = 1_500 (`validates :description, length:`).
#   Attachmentable::MAX_MATRIX_LIMIT = 33_177_600 pixels (7680x4320).
# - Rate limits (config/initializers/rack_attack.rb): throttle_per_token_api 300 / 5 min
#   (throttle_authenticated_api is 1,500 / 5 min per account, across its tokens),
#   throttle_api_media 30 / 30 min (POST /api/v{1,2}/media), throttle_api_delete 30 / 30 min
#   (DELETE /api/v1/statuses/:id); app/lib/rate_limiter.rb: the "statuses" family, 300 posts per
#   3 hours per account. 429 answers carry X-RateLimit-Limit/-Remaining/-Reset (ISO 8601).
# Image formats: Mastodon also takes HEIC/HEIF/AVIF; we send what every platform takes.
MASTODON = MastodonLimits(
    max_length=500,
    max_images=4,
    url_chars=23,
    max_image_bytes=16 * MiB - 1,
    max_alt=1500,
    max_image_pixels=33_177_600,
    formats=WEB_FORMATS,
    mime_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
    rate_limits=_frozen({
        "API requests": RateLimit(300, 300),  # per access token
        "API requests per account": RateLimit(1500, 300),
        "POST /api/v2/media": RateLimit(30, 1800),
        "DELETE /api/v1/statuses/:id": RateLimit(30, 1800),
        "POST /api/v1/statuses": RateLimit(300, 10_800),
    }),
)

BY_NAME: Mapping[str, Limits] = MappingProxyType({"x": X, "bluesky": BLUESKY, "mastodon": MASTODON})
