"""Golden-image comparison with a small tolerance (mean difference on a downscaled copy).

Regenerate with ``pytest tests/cards --update-goldens`` (or UPRBUZZ_UPDATE_GOLDENS=1), then look
at the images in tests/cards/golden/ before committing them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"
MEAN_TOL = 1.5  # mean absolute difference per channel, 0..255
BIG_DIFF, BIG_FRACTION = 48, 0.005  # at most 0.5 % of pixels may differ by more than 48


def small(image: Any) -> Any:
    from PIL import Image

    w, h = image.size
    return image.convert("RGB").resize((320, round(320 * h / w)), Image.Resampling.BOX)


def compare(name: str, image: Any, update: bool) -> None:
    from PIL import Image, ImageChops, ImageStat

    path = GOLDEN / f"{name}.png"
    got = small(image)
    if update or not path.exists():
        if not update:
            raise AssertionError(f"no golden image {path.name}: run pytest with --update-goldens")
        GOLDEN.mkdir(exist_ok=True)
        got.save(path, "PNG", optimize=True)
        return
    with Image.open(path) as im:
        want = im.convert("RGB")
    assert want.size == got.size, f"{name}: size {got.size} != golden {want.size}"
    diff = ImageChops.difference(got, want)
    mean = sum(ImageStat.Stat(diff).mean) / 3
    big = sum(diff.convert("L").point(lambda v: 255 if v > BIG_DIFF else 0).histogram()[255:])
    frac = big / (got.width * got.height)
    if mean > MEAN_TOL or frac > BIG_FRACTION:
        out = Path(tempfile.gettempdir()) / "uprbuzz-golden" / f"{name}.actual.png"
        out.parent.mkdir(exist_ok=True)
        got.save(out)
        raise AssertionError(f"{name}: differs from golden (mean {mean:.2f} > {MEAN_TOL} or "
                             f"{frac:.2%} pixels changed > {BIG_FRACTION:.1%}); see {out}")


def outside(mask: Any, box: list[int]) -> int:
    """Number of text pixels (alpha > 0) outside ``box`` = [x0, y0, x1, y1)."""
    from PIL import ImageDraw

    m = mask.copy()
    ImageDraw.Draw(m).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=0)
    return sum(m.histogram()[1:])
