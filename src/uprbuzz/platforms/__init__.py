"""One module per platform behind :class:`uprbuzz.platforms.base.Platform`.

``get_platform(name, config, ...)`` builds one lazily, so importing this package never imports
tweepy, atproto or Mastodon.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uprbuzz.config import Config, MastodonConfig
    from uprbuzz.platforms.base import Platform


def get_platform(name: str, config: Config | MastodonConfig, /, **kwargs: Any) -> Platform:
    """The platform ``name`` for ``config``. Mastodon takes one account's MastodonConfig (a
    channel), or a Config holding one as ``config.mastodon``; ``kwargs`` go to the platform
    (e.g. Mastodon's ``name``, ``log``, ``instance_cache``)."""
    if name == "x":
        from uprbuzz.platforms.x import XPlatform

        return XPlatform(config.x, **kwargs)  # type: ignore[union-attr]
    if name == "bluesky":
        from uprbuzz.platforms.bluesky import BlueskyPlatform

        return BlueskyPlatform(config.bluesky, **kwargs)  # type: ignore[union-attr]
    if name == "mastodon":
        from uprbuzz.config import MastodonConfig
        from uprbuzz.platforms.mastodon import MastodonPlatform

        cfg = config if isinstance(config, MastodonConfig) else getattr(config, "mastodon", None)
        return MastodonPlatform(cfg or MastodonConfig(), **kwargs)
    raise ValueError(f"unknown platform {name!r} (known: x, bluesky, mastodon)")
