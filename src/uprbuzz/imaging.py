"""Image probing and re-encoding to a byte budget, shared by checks, Bluesky and cards.

The same function decides what ``uprbuzz check`` predicts and what publishing uploads, so the
prediction is exact. Never crops: first a quality search, then a uniform downscale.
Pillow is imported lazily (it is not needed by a cron tick with nothing due).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from uprbuzz.errors import UprbuzzError

MIMES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


class ImageError(UprbuzzError, ValueError):
    """Not an image we can publish (unreadable, unknown format, cannot fit the budget)."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # JPEG | PNG | GIF | WEBP | other Pillow format name
    mime: str
    width: int
    height: int
    frames: int = 1
    has_alpha: bool = False


@dataclass(frozen=True)
class Encoded:
    data: bytes
    mime: str
    width: int
    height: int
    reencoded: bool


def probe(data: bytes) -> ImageInfo:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or "?"
            return ImageInfo(
                fmt, MIMES.get(fmt, f"image/{fmt.lower()}"), im.width, im.height,
                getattr(im, "n_frames", 1),
                im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info),
            )
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ImageError(f"not a readable image ({e})") from e


def fit_to_budget(data: bytes, budget: int) -> Encoded:
    """``data`` unchanged if it is a web format within ``budget`` bytes, else re-encoded.

    Re-encoding: flat images (PNG with few colours) try an optimised PNG first; then JPEG with a
    binary search on quality (95..40); then the image is scaled down by 15 % steps (no crop).
    Transparent areas are flattened onto white for JPEG. Deterministic for the same input.
    """
    info = probe(data)
    if len(data) <= budget and info.format in MIMES:
        return Encoded(data, info.mime, info.width, info.height, False)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as src:
        src.seek(0)
        im = src.convert("RGBA") if info.has_alpha else src.convert("RGB")
    if info.format == "PNG":
        out = _save(im, "PNG")
        if len(out) <= budget:
            return Encoded(out, "image/png", im.width, im.height, True)
    if im.mode == "RGBA":
        bg = Image.new("RGB", im.size, "white")
        bg.paste(im, mask=im.getchannel("A"))
        im = bg
    scale = 1.0
    base = im
    while True:
        if scale < 1.0:
            size = (max(1, round(base.width * scale)), max(1, round(base.height * scale)))
            im = base.resize(size, Image.Resampling.LANCZOS)
        best = _best_jpeg(im, budget)
        if best is not None:
            return Encoded(best, "image/jpeg", im.width, im.height, True)
        if im.width <= 16 or im.height <= 16:
            raise ImageError(f"cannot fit {len(data):,} bytes into {budget:,} bytes")
        scale *= 0.85


def _save(im: object, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)  # type: ignore[attr-defined]
    return buf.getvalue()


def _best_jpeg(im: object, budget: int) -> bytes | None:
    lo, hi, best = 40, 95, None
    while lo <= hi:
        q = (lo + hi) // 2
        out = _save(im, "JPEG", quality=q, optimize=True)
        if len(out) <= budget:
            best, lo = out, q + 1
        else:
            hi = q - 1
    return best
