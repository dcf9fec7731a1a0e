"""Encode a rendered card for the platforms: PNG for flat cards, JPEG for photos.

The byte budget (the smallest of the target platforms' image caps, from
``uprbuzz.platforms.limits``; Bluesky's account budget when it is a target) is met by
a quality search, then by ``uprbuzz.imaging.fit_to_budget`` (which scales down uniformly),
never by cropping. The aspect ratio travels with the result for the publisher.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from math import gcd
from typing import Any

from uprbuzz.platforms.limits import BLUESKY, X

DEFAULT_BUDGET = min(X.max_image_bytes, BLUESKY.max_image_bytes)  # fits every platform
EXT = {"PNG": "png", "JPEG": "jpg", "image/png": "png", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class EncodedCard:
    data: bytes
    format: str  # PNG | JPEG
    width: int
    height: int
    quality: int | None = None  # JPEG quality chosen by the search

    @property
    def ext(self) -> str:
        return EXT[self.format]

    @property
    def aspect(self) -> str:
        return aspect(self.width, self.height)


def aspect(w: int, h: int) -> str:
    g = gcd(w, h) or 1
    return f"{w // g}:{h // g}"


def budget_for(config: Any, platforms: tuple[str, ...] | None = None) -> int:
    """The tightest image byte budget among ``platforms`` (default: the configured ones)."""
    bs = getattr(config, "bluesky", None)  # a card is a still image: never the GIF cap
    budgets = {"x": X.max_image_bytes,
               "bluesky": BLUESKY.for_account(getattr(bs, "image_budget", None)).max_image_bytes}
    names = platforms if platforms is not None else getattr(config, "platforms", tuple(budgets))
    return min((budgets[p] for p in names if p in budgets), default=min(budgets.values()))


def encode(image: Any, kind: str = "flat", budget: int = DEFAULT_BUDGET) -> EncodedCard:
    if kind == "photo":
        return _jpeg(image, budget)
    data = _save(image, "PNG", compress_level=3)  # level 3: ~35 % faster than 6, still far under budget
    if len(data) <= budget:
        return EncodedCard(data, "PNG", image.width, image.height)
    from uprbuzz.imaging import fit_to_budget  # optimised PNG, then JPEG search, then downscale

    enc = fit_to_budget(data, budget)
    return EncodedCard(enc.data, "PNG" if enc.mime == "image/png" else "JPEG", enc.width, enc.height)


def _jpeg(image: Any, budget: int) -> EncodedCard:
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    data = _save(image, "JPEG", quality=90, optimize=True)
    if len(data) <= budget:
        return EncodedCard(data, "JPEG", image.width, image.height, 90)
    lo, hi, best = 40, 89, None
    while lo <= hi:
        q = (lo + hi) // 2
        out = _save(image, "JPEG", quality=q, optimize=True)
        if len(out) <= budget:
            best, lo = (out, q), q + 1
        else:
            hi = q - 1
    if best is not None:
        return EncodedCard(best[0], "JPEG", image.width, image.height, best[1])
    from uprbuzz.imaging import fit_to_budget

    enc = fit_to_budget(_save(image, "PNG"), budget)
    return EncodedCard(enc.data, "JPEG" if enc.mime == "image/jpeg" else "PNG", enc.width, enc.height)


def _save(image: Any, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()
