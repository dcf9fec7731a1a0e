"""Golden cards: what the renderer says it drew (JSON) and what it drew (PNG, full size).

Each golden is a pair in tests/cards/golden/: ``<name>.json``, the renderer's record of every
text box (its string, each line as drawn, font size, fonts, direction, box, ink box), the alt
text and the contrast; and ``<name>.png``, the card at full size. A card matches when

* the record equals the golden record exactly: a changed digit is a changed string;
* inside every text box, at most ``TEXT_PIXELS`` pixels differ by more than ``TEXT_DIFF`` at
  full size: one changed glyph changes hundreds of pixels, so the image check sees text too;
* the whole card, downscaled to 320 px, is within a small tolerance: panels, colours, photo.

Goldens are made with the tested setup (constraints.txt and the Debian Noto fonts of
scripts/install-fonts.sh); other fonts or another FreeType move glyphs and fail the check.
Regenerate with ``pytest tests/cards --update-goldens`` (or UPRBUZZ_UPDATE_GOLDENS=1), then look
at the images and the JSON diff before committing them.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"
TEXT_DIFF = 64  # a pixel of a text box "differs" when a channel moves by more than this (0..255)
TEXT_PIXELS = 8  # differing pixels allowed per text box (one changed glyph: ~100 or more)
MEAN_TOL = 1.5  # whole card at 320 px: mean absolute difference per channel, 0..255
BIG_DIFF, BIG_FRACTION = 48, 0.005  # ... and at most 0.5 % of pixels may differ by more than 48
CARD_KEYS = ("template", "size", "lang", "rtl", "contrast", "warnings")  # from the report
# Not compared: the renderer version (bumped after goldens are regenerated, see docs/cards.md).


@dataclass(frozen=True)
class Difference:
    kind: str  # "record" (what the renderer reported) or "pixels"
    box: str | None  # the text box it is in; None for the card as a whole (alt text, image)
    what: str

    def __str__(self) -> str:
        return f"{self.box}: {self.what}" if self.box else self.what


class GoldenMismatch(AssertionError):
    """A rendered card differs from its golden; ``differences`` says where and how."""

    def __init__(self, name: str, differences: list[Difference], saved: Path | None = None) -> None:
        self.name, self.differences = name, differences
        lines = [str(d) for d in differences[:12]]
        if len(differences) > 12:
            lines.append(f"… and {len(differences) - 12} more")
        where = f"\n  actual card: {saved}.png and .json" if saved else ""
        super().__init__(f"{name} differs from its golden:\n  " + "\n  ".join(lines) + where)


def record(out: Any) -> dict[str, Any]:
    """The golden record of a Rendered card: the report (minus the renderer version), kind, alt."""
    rep = out.report
    return {**{k: rep[k] for k in CARD_KEYS}, "kind": out.kind, "alt": out.alt,
            "boxes": rep["boxes"]}


def dumps(rec: dict[str, Any]) -> str:
    """Indented JSON with number lists (boxes, ink) kept on one line, for readable diffs."""
    text = json.dumps(rec, ensure_ascii=False, indent=1)
    # Only structural JSON contains raw newlines, so this never touches a string's contents.
    return re.sub(r"\[\n\s*(-?\d+(?:,\n\s*-?\d+)*)\n\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
                  text) + "\n"


def record_differences(want: dict[str, Any], got: dict[str, Any]) -> list[Difference]:
    """Every value that differs between two records, exactly (strings, sizes, positions)."""
    out: list[Difference] = []
    w, g = _flat(want), _flat(got)
    for path in [*w, *(p for p in g if p not in w)]:
        a, b = w.get(path, _MISSING), g.get(path, _MISSING)
        if a != b:
            box = str(path[1]) if path[0] == "boxes" and len(path) > 1 else None
            key = _path(path[2:] if box else path) or "box"
            out.append(Difference("record", box, f"{key} {_show(b)} != golden {_show(a)}"))
    return out


def image_differences(want: Any, got: Any, boxes: dict[str, list[int]]) -> list[Difference]:
    """Pixels: each text box at full size, then the whole card at 320 px."""
    from PIL import ImageChops, ImageStat

    want, got = (im if im.mode == "RGB" else im.convert("RGB") for im in (want, got))
    if want.size != got.size:
        return [Difference("pixels", None, f"size {got.size} != golden {want.size}")]
    diff = ImageChops.difference(got, want)
    if diff.getbbox() is None:  # identical: the usual case, and 3 times faster to say so
        return []
    out: list[Difference] = []
    r, g, b = diff.split()
    strong = ImageChops.lighter(ImageChops.lighter(r, g), b).point(
        lambda v: 255 if v > TEXT_DIFF else 0)
    for name, (x0, y0, x1, y1) in boxes.items():
        n = strong.crop((x0, y0, x1, y1)).histogram()[255]
        if n > TEXT_PIXELS:
            out.append(Difference("pixels", name, f"{n} pixels differ by more than {TEXT_DIFF} "
                                                  f"at full size (> {TEXT_PIXELS})"))
    small_diff = ImageChops.difference(small(got), small(want))
    mean = sum(ImageStat.Stat(small_diff).mean) / 3
    big = small_diff.convert("L").point(lambda v: 255 if v > BIG_DIFF else 0).histogram()[255]
    frac = big / (small_diff.width * small_diff.height)
    if mean > MEAN_TOL or frac > BIG_FRACTION:
        out.append(Difference("pixels", None, f"image at 320 px: mean difference {mean:.2f} "
                                              f"(tolerance {MEAN_TOL}), {frac:.2%} of pixels "
                                              f"changed (tolerance {BIG_FRACTION:.1%})"))
    return out


def text_boxes(*records: dict[str, Any]) -> dict[str, list[int]]:
    """Each text box of the records, the union where a box moved (so both places are checked)."""
    out: dict[str, list[int]] = {}
    for rec in records:
        for name, box in rec["boxes"].items():
            b = box["box"]
            o = out.get(name)
            out[name] = b if o is None else [min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]),
                                             max(o[3], b[3])]
    return out


def differences(name: str, out: Any) -> list[Difference]:
    """How the Rendered card ``out`` differs from golden ``name`` (record and pixels)."""
    from PIL import Image

    png, js = GOLDEN / f"{name}.png", GOLDEN / f"{name}.json"
    if not png.exists() or not js.exists():
        return [Difference("record", None, f"no golden {png.name} and {js.name}: run pytest "
                                           "with --update-goldens")]
    want = json.loads(js.read_text(encoding="utf-8"))
    got = record(out)
    with Image.open(png) as im:
        want_img = im.convert("RGB")
    return (record_differences(want, got)
            + image_differences(want_img, out.image, text_boxes(want, got)))


def compare(name: str, out: Any, update: bool, actual_dir: Path | None = None) -> None:
    """Check the Rendered card ``out`` against golden ``name``, or rewrite it (``update``).

    A mismatch raises GoldenMismatch and leaves the actual card (PNG and JSON) in ``actual_dir``
    (default: <tmp>/uprbuzz-golden) to look at or diff."""
    if update:
        GOLDEN.mkdir(exist_ok=True)
        out.image.save(GOLDEN / f"{name}.png", "PNG", optimize=True)
        (GOLDEN / f"{name}.json").write_text(dumps(record(out)), encoding="utf-8")
        return
    found = differences(name, out)
    if found:
        folder = actual_dir or Path(tempfile.gettempdir()) / "uprbuzz-golden"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"{name}.actual"
        out.image.save(stem.with_suffix(".png"), "PNG", compress_level=1)  # fast; it is temporary
        stem.with_suffix(".json").write_text(dumps(record(out)), encoding="utf-8")
        raise GoldenMismatch(name, found, stem)


def small(image: Any) -> Any:
    from PIL import Image

    w, h = image.size
    return image.convert("RGB").resize((320, round(320 * h / w)), Image.Resampling.BOX)


def outside(mask: Any, box: list[int]) -> int:
    """Number of text pixels (alpha > 0) outside ``box`` = [x0, y0, x1, y1)."""
    from PIL import ImageDraw

    m = mask.copy()
    ImageDraw.Draw(m).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=0)
    return sum(m.histogram()[1:])


_MISSING = object()


def _flat(v: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """Leaves by path; lists of numbers (boxes) are leaves, other lists are indexed."""
    if isinstance(v, dict):
        out: dict[tuple[Any, ...], Any] = {}
        for k, x in v.items():
            out.update(_flat(x, (*path, k)))
        return out
    if isinstance(v, list) and not all(isinstance(x, (int, float)) for x in v):
        out = {}
        for i, x in enumerate(v):
            out.update(_flat(x, (*path, i)))
        return out
    return {path: v}


def _path(parts: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p))
                   for i, p in enumerate(parts))


def _show(v: Any) -> str:
    return "(none)" if v is _MISSING else json.dumps(v, ensure_ascii=False)
