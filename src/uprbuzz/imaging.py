"""Image probing and re-encoding to a byte budget, shared by checks, Bluesky and cards.

The same function decides what ``uprbuzz check`` predicts and what publishing uploads, so the
prediction is exact. Never crops: first a quality search, then a uniform downscale.
Pillow is imported lazily (it is not needed by a cron tick with nothing due).

A file uprbuzz did not make is read through :func:`probe`, which is safe on hostile input: the
limits below are checked from the header before anything is decoded (a decompression bomb is
refused there), then all of the image data is decoded once (every frame; a baseline JPEG at an
eighth of its size, which still reads all of its data), so a truncated or damaged file is
refused before it is uploaded. Every refusal is an :class:`ImageError` with a ``code`` the
checks report at the file's line. With these limits no input takes uprbuzz near 400 MB (the
worst measured, a 33-megapixel PNG re-encoded for Bluesky, peaks at about 250 MB;
tests/test_image_safety.py measures ``uprbuzz check`` and ``preview`` on hostile files).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from uprbuzz.errors import UprbuzzError

MIMES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}

# The limits on what uprbuzz reads, all here (docs/post-format.md, "Image limits"). Each keeps
# the memory one image can take under about 250 MB (Pillow holds 4 bytes a pixel in colour).
MAX_BYTES = 32 * 1024 * 1024  # a media file: twice the most any platform takes (16 MiB)
MAX_PIXELS = 7680 * 4320  # a frame: 33,177,600 pixels (8K UHD; Mastodon's image_matrix_limit)
# libjpeg holds all of a progressive JPEG's coefficients at once (2 bytes a sample)
MAX_PROGRESSIVE_PIXELS = MAX_PIXELS // 2
# WebP and AVIF images and the frames of an animation are decoded onto whole canvases, several
# at a time (about 16 bytes a pixel for WebP)
MAX_CANVAS_PIXELS = 3840 * 2160
# Verifying an animation decodes every frame: at most this many, and this many pixels in all
# (frames x width x height; a few seconds of decoding). X plays at most 350 frames.
MAX_FRAMES = 1000
MAX_ANIMATION_PIXELS = 300_000_000
# A re-encoded image is never larger (4K UHD; Bluesky's own app uploads at most 2000x2000): a
# larger image is shrunk anyway, so it is decoded reduced (a JPEG, with Image.draft) or scaled a
# band of rows at a time.
MAX_REENCODED_PIXELS = 3840 * 2160

# What Pillow may open: its other plugins include ones that run Ghostscript, or formats no
# platform takes; anything else is "not an image".
READABLE = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")

NOT_IMAGE, TOO_LARGE, DAMAGED = "media-not-image", "media-too-large", "media-damaged"


class ImageError(UprbuzzError, ValueError):
    """Not an image we can publish (unreadable, unknown format, over the limits, damaged,
    cannot fit the budget). ``code``: NOT_IMAGE, TOO_LARGE, DAMAGED, or "error"."""

    def __init__(self, message: str, code: str = "error") -> None:
        super().__init__(message)
        self.code = code


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


_OPENABLE: tuple[str, ...] = ()  # READABLE less the plugins this Pillow lacks; set once


def _pil() -> Any:
    """``PIL.Image``, with every plugin uprbuzz reads registered."""
    global _OPENABLE
    from PIL import Image

    if not _OPENABLE:
        Image.init()
        _OPENABLE = tuple(f for f in READABLE if f in Image.OPEN)  # whole, at once (threads)
    return Image


def _open(data: bytes) -> Any:
    """The image's header (Image.open decodes nothing), or ImageError.

    Pillow's own decompression-bomb *warning* (over 89 MP) is silenced, deliberately and for
    the process (``warnings`` has no thread-safe local way): every image over MAX_PIXELS, far
    below it, is refused by :func:`probe` with an ImageError naming the file, so the warning
    would only add a stray line to stderr. The filter is set again on each call, as something
    (pytest) may have reset the filters. Pillow's ``MAX_IMAGE_PIXELS`` is left as it is: its
    error (over 179 MP) still guards every other ``Image.open``, and here becomes an
    ImageError."""
    import warnings

    Image = _pil()
    from PIL import UnidentifiedImageError

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    try:
        return Image.open(io.BytesIO(data), formats=list(_OPENABLE))
    except Image.DecompressionBombError as e:  # Pillow's own check, at twice its threshold
        import re

        n = re.search(r"\((\d+) pixels\)", str(e))  # its message is all it says of the size
        raise ImageError(f"it has {f'{int(n[1]):,} pixels' if n else 'too many pixels'}; "
                         f"uprbuzz reads images of at most {MAX_PIXELS:,} pixels (7680×4320): "
                         f"scale it down", TOO_LARGE) from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"not a readable image ({e})", NOT_IMAGE) from e


@dataclass(frozen=True)
class _Limit:
    pixels: int
    what: str  # "images", "progressive JPEGs", ...
    why: str  # after "scale it down"


def _limit(fmt: str, frames: int, progressive: bool) -> _Limit:
    if fmt in ("WEBP", "AVIF"):
        return _Limit(MAX_CANVAS_PIXELS, f"{fmt} images", " or save it as JPEG or PNG")
    if frames > 1 and fmt in ("GIF", "PNG"):
        return _Limit(MAX_CANVAS_PIXELS, "animations with frames", "")
    if progressive:
        return _Limit(MAX_PROGRESSIVE_PIXELS, "progressive JPEGs", " or save it as a baseline JPEG")
    return _Limit(MAX_PIXELS, "images", "")


def _check(w: int, h: int, frames: int, total: int, limit: _Limit, *,
           so_far: bool = False) -> None:
    """ImageError (TOO_LARGE) when a frame of ``w`` x ``h``, ``frames`` frames or ``total``
    pixels in all are over the limits (``so_far``: the counts are not final yet)."""
    if w * h > limit.pixels:
        dims = {MAX_PIXELS: "7680×4320", MAX_CANVAS_PIXELS: "3840×2160"}.get(limit.pixels, "")
        raise ImageError(f"it is {w}×{h}, {w * h:,} pixels; uprbuzz reads {limit.what} of at "
                         f"most {limit.pixels:,} pixels{f' ({dims})' if dims else ''}: scale it "
                         f"down{limit.why}", TOO_LARGE)
    if frames > MAX_FRAMES:
        raise ImageError(f"it is an animation of more than {MAX_FRAMES:,} frames; uprbuzz reads "
                         f"at most {MAX_FRAMES:,} (X plays at most 350): shorten it", TOO_LARGE)
    if total > MAX_ANIMATION_PIXELS:
        raise ImageError(f"it is an animation of {'at least ' * so_far}{frames:,} frames of "
                         f"{w}×{h}, {'over ' * so_far}{total:,} pixels in all; uprbuzz reads "
                         f"animations of at most {MAX_ANIMATION_PIXELS:,}: use fewer or smaller "
                         f"frames", TOO_LARGE)


_CHECKED: dict[str, ImageInfo | ImageError] = {}  # by sha256 of the bytes; the latest 256


def probe(data: bytes) -> ImageInfo:
    """What the image is, after refusing (ImageError) a file over the limits from its header
    and decoding all of its data once to refuse a damaged one. Remembered per content."""
    digest = hashlib.sha256(data).hexdigest()
    hit = _CHECKED.get(digest)
    if hit is None:
        try:
            hit = _probe(data)
        except ImageError as e:
            hit = ImageError(e.message, e.code)  # not e: its traceback holds on to the data
        if len(_CHECKED) >= 256:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[digest] = hit
    if isinstance(hit, ImageError):
        raise ImageError(hit.message, hit.code)
    return hit


def check_bytes(size: int) -> None:
    """ImageError (TOO_LARGE) for a file of ``size`` bytes over MAX_BYTES: ask before reading."""
    if size > MAX_BYTES:
        raise ImageError(f"the file is {size:,} bytes; uprbuzz reads media files of at most "
                         f"{MAX_BYTES:,} bytes ({MAX_BYTES // 2**20} MiB)", TOO_LARGE)


def _probe(data: bytes) -> ImageInfo:
    check_bytes(len(data))
    with _open(data) as im:  # the header only: nothing is decoded before these checks
        fmt = im.format or "?"
        frames = (_gif_frames(data, MAX_FRAMES + 1) if fmt == "GIF"
                  else im.n_frames if fmt in ("PNG", "WEBP", "MPO") else 1)  # header values
        limit = _limit(fmt, frames, fmt in ("JPEG", "MPO") and bool(im.info.get("progressive")))
        _check(im.width, im.height, frames, im.width * im.height * frames, limit)
        info = ImageInfo(
            fmt, MIMES.get(fmt, f"image/{fmt.lower()}"), im.width, im.height, frames,
            im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info),
        )
    frames = _verify(data, info, limit)
    return ImageInfo(info.format, info.mime, info.width, info.height, frames, info.has_alpha)


def _gif_frames(data: bytes, stop: int) -> int:
    """The frames of a GIF counted from its block structure, decoding nothing (Pillow's
    n_frames costs a Python call per frame, unbounded); stops counting at ``stop``."""
    n, flags = len(data), data[10] if len(data) > 10 else 0
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # header, screen, colour table
    frames = 0
    while pos < n and frames < stop:
        if data[pos] == 0x2C:  # an image: descriptor, local colour table, LZW code size
            frames += 1
            flags = data[pos + 9] if pos + 9 < n else 0
            pos += 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
        elif data[pos] == 0x21:  # an extension: introducer, label
            pos += 2
        else:  # the trailer (or junk: the decoder will say)
            break
        while pos < n and data[pos]:  # data sub-blocks, up to the empty one
            pos += data[pos] + 1
        pos += 1
    return max(frames, 1)


def _verify(data: bytes, info: ImageInfo, limit: _Limit) -> int:
    """Decode every frame (a baseline JPEG reduced 8x: libjpeg still reads all of its data),
    so a truncated or damaged file fails here; the number of frames."""
    Image = _pil()
    try:
        if info.format not in ("JPEG", "MPO"):  # chunk structure and checksums (PNG's CRCs)
            with _open(data) as im:
                im.verify()
        frames = total = 0
        with _open(data) as im:
            while True:
                frames += 1
                total += im.width * im.height
                _check(im.width, im.height, frames, total, limit, so_far=True)
                if frames == 1 and info.format == "JPEG":
                    im.draft(None, (max(1, im.width // 8), max(1, im.height // 8)))
                im.load()
                try:
                    im.seek(frames)
                except EOFError:
                    return frames
    except (ImageError, MemoryError):
        raise
    except Image.DecompressionBombError as e:  # a frame larger than the header said
        raise ImageError(f"a frame has more pixels than Pillow will open ({e})", TOO_LARGE) from e
    except Exception as e:  # whatever a decoder raises on bad data (OSError, SyntaxError, ...)
        raise ImageError(f"the image data is damaged or cut short ({e}): export it again",
                         DAMAGED) from e


def fit_to_budget(data: bytes, budget: int) -> Encoded:
    """``data`` unchanged if it is a web format within ``budget`` bytes, else re-encoded.

    Re-encoding: flat images (PNG with few colours) try an optimised PNG first; then JPEG with a
    binary search on quality (95..40); then the image is scaled down by 15 % steps (no crop).
    An image over MAX_REENCODED_PIXELS starts at the first step within it: it is shrunk anyway,
    so a JPEG is decoded reduced (``Image.draft``) and any other is converted and scaled a band
    of rows at a time; memory then follows the output's size, not the input's. Transparent
    areas are flattened onto white for JPEG. Deterministic for the same input.
    """
    info = probe(data)
    if len(data) <= budget and info.format in MIMES:
        return Encoded(data, info.mime, info.width, info.height, False)
    Image = _pil()
    scale = 1.0
    while info.width * info.height * scale * scale > MAX_REENCODED_PIXELS:
        scale *= 0.85
    im = _decode(data, info, _size(info, scale))
    if info.format == "PNG":
        out = _save_within(im, budget, "PNG")
        if out is not None:
            return Encoded(out, "image/png", im.width, im.height, True)
    if im.mode == "RGBA":
        im = _flatten(im)
    base = im  # every smaller size is scaled from it
    while True:
        best = _best_jpeg(im, budget)
        if best is not None:
            return Encoded(best, "image/jpeg", im.width, im.height, True)
        if im.width <= 16 or im.height <= 16:
            raise ImageError(f"cannot fit {len(data):,} bytes into {budget:,} bytes")
        scale *= 0.85
        im = base.resize(_size(info, scale), Image.Resampling.LANCZOS)


def _size(info: ImageInfo, scale: float) -> tuple[int, int]:
    if scale >= 1.0:
        return info.width, info.height
    return max(1, round(info.width * scale)), max(1, round(info.height * scale))


def _decode(data: bytes, info: ImageInfo, size: tuple[int, int]) -> Any:
    """Frame 0 as RGB (RGBA when it has transparency) at ``size``. Smaller than the file: a
    JPEG is decoded as small as still covers ``size`` (1/2, 1/4 or 1/8: Image.draft), then
    scaled by :func:`_shrink`, so the whole image is never copied."""
    mode = "RGBA" if info.has_alpha else "RGB"
    im = _open(data)
    if im.size == size:
        im.load()
        return im if im.mode == mode else im.convert(mode)
    if info.format in ("JPEG", "MPO"):
        im.draft(None, size)
    im.load()
    return _shrink(im, size, mode)


def _shrink(im: Any, size: tuple[int, int], mode: str) -> Any:
    """``im`` converted to ``mode`` and scaled (Lanczos) to ``size``, a band of rows at a time:
    each band is read with the rows the filter reaches beyond it, so the result is scaling the
    whole image (to a level or two), without ever converting or premultiplying all of it."""
    import math

    Image = _pil()
    big_w, big_h = im.size
    out = Image.new(mode, size)
    step = big_h / size[1]  # source rows per output row
    reach = math.ceil(3 * step) + 2  # Lanczos: 3 output rows' worth either side
    rows = max(1, int(512 / step))  # output rows per band: about 512 source rows
    for top in range(0, size[1], rows):
        bottom = min(size[1], top + rows)
        y0, y1 = top * step, min(float(big_h), bottom * step)
        c0, c1 = max(0, math.floor(y0) - reach), min(big_h, math.ceil(y1) + reach)
        band = im.crop((0, c0, big_w, c1))
        if band.mode not in _SCALABLE:
            band = band.convert(mode)
        band = band.resize((size[0], bottom - top), Image.Resampling.LANCZOS,
                           box=(0, y0 - c0, big_w, y1 - c0))
        out.paste(band if band.mode == mode else band.convert(mode), (0, top))
    return out


# modes scaled as they are and converted after (the smaller image): not palettes or bit maps
_SCALABLE = ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F")


def _flatten(im: Any) -> Any:
    """An RGBA image on white, as RGB."""
    Image = _pil()
    bg = Image.new("RGB", im.size, "white")
    bg.paste(im, mask=im.getchannel("A"))
    return bg


class _TooBig(Exception):
    pass


class _Budget(io.BytesIO):
    """An output buffer that gives up as soon as it holds more than ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, b: Any) -> int:
        if self.tell() + len(b) > self.limit:
            raise _TooBig
        return super().write(b)


def _save_within(im: Any, budget: int, fmt: str, **kw: object) -> bytes | None:
    buf = _Budget(budget)
    try:
        im.save(buf, fmt, **kw)
    except _TooBig:
        return None
    return buf.getvalue()


def _best_jpeg(im: object, budget: int) -> bytes | None:
    """The highest quality (40..95) that fits, or None: when quality 40 does not fit, no
    quality does, so a size that cannot fit costs one encoding, not a whole search."""
    best = _save_within(im, budget, "JPEG", quality=40, optimize=True)
    if best is None:
        return None
    lo, hi = 41, 95
    while lo <= hi:
        q = (lo + hi) // 2
        out = _save_within(im, budget, "JPEG", quality=q, optimize=True)
        if out is not None:
            best, lo = out, q + 1
        else:
            hi = q - 1
    return best
