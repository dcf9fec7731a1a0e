"""One module per platform behind :class:`uprbuzz.platforms.base.Platform`.

``get_platform(name, config, ...)`` builds one lazily, so importing this package never imports
tweepy or atproto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.platforms.base import Platform


def get_platform(name: str, config: Config, **kwargs: Any) -> Platform:
    if name == "x":
        from uprbuzz.platforms.x import XPlatform

        return XPlatform(config.x, **kwargs)
    if name == "bluesky":
        from uprbuzz.platforms.bluesky import BlueskyPlatform

        return BlueskyPlatform(config.bluesky, **kwargs)
    raise ValueError(f"unknown platform {name!r} (known: x, bluesky)")
