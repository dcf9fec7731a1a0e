"""Render a template with a brand kit into a Pillow image, its alt text and a layout report."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from uprbuzz.cards import templates as T
from uprbuzz.cards.brand import Brand, BrandError, load_brand
from uprbuzz.cards.fonts import check_raqm
from uprbuzz.cards.layout import Box, Measurer, draw, draw_indexed, fit
from uprbuzz.errors import UprbuzzError

RENDERER_VERSION = "4"


class CardError(UprbuzzError, ValueError):
    """A card that cannot be rendered as asked (missing image, image outside the project)."""


@dataclass
class Rendered:
    image: Any  # PIL.Image.Image: "P" (palette) for flat cards, "RGB" with photos, logo or emoji
    alt: str
    report: dict[str, Any]
    kind: str = "flat"  # flat -> PNG, photo -> JPEG
    layers: dict[str, Any] = field(default_factory=dict)  # inspect=True: text alpha per box

    @property
    def warnings(self) -> list[str]:
        return list(self.report.get("warnings", []))


def as_brand(brand: Brand | Mapping[str, Any] | Any | None, root: Path | None = None) -> Brand:
    """A Brand from a Brand, a Config, a ``[brand]`` mapping, or None (the defaults)."""
    if isinstance(brand, Brand):
        return brand
    if brand is None or isinstance(brand, Mapping):
        return load_brand(SimpleNamespace(brand=brand or {}, root=root or Path.cwd(), name=""))
    return load_brand(brand)


def resolve(template: str, fields: Mapping[str, Any], brand: Brand,
            today: date | None = None) -> tuple[T.Template, dict[str, str]]:
    t = T.get(template)
    today = today or date.today()
    v = t.resolve(fields, today)
    v["_handle"], v["_brand"] = brand.handle or event_line(brand, v["lang"], today), brand.name
    return t, v


def event_line(brand: Brand, lang: str, day: date) -> str:
    """The footer of a card with no brand handle: who (the brand's or project's name) and when
    (the card's day, as the language writes it), so a card shared on names its source."""
    from uprbuzz.cards.labels import date_text

    return " · ".join(x for x in (brand.name.strip(), date_text(day, lang)) if x)


def card_key(template: str, values: Mapping[str, str], size: str, brand: Brand) -> str:
    """Content address of a card: template, resolved fields, size, brand kit, renderer."""
    blob = json.dumps({"t": template, "v": dict(sorted(values.items())), "s": size,
                       "b": brand.key(), "r": RENDERER_VERSION}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def design(template: str, fields: Mapping[str, Any], size: str, brand: Brand,
           today: date | None = None) -> tuple[T.Template, dict[str, str], T.Design]:
    if size not in T.SIZES:
        raise T.TemplateError(f"card size {size!r} is not one of {', '.join(T.SIZES)}")
    t, v = resolve(template, fields, brand, today)
    w, h = T.SIZES[size]
    rtl = T.is_rtl(v, t)
    v["_dir"] = "rtl" if rtl else ""
    return t, v, t.design(v, T.Frame(w, h, rtl))


def render(template: str, fields: Mapping[str, Any], size: str = "1600x900",
           brand: Brand | Mapping[str, Any] | Any | None = None, *, today: date | None = None,
           inspect: bool = False) -> Rendered:
    """Render in memory. ``inspect`` also returns each text box's alpha layer for checks."""
    from PIL import Image

    check_raqm()
    kit = as_brand(brand)
    t, v, d = design(template, fields, size, kit, today)
    contrast = kit.check_contrast({(spec.role, spec.bg) for spec, _ in d.texts})
    report: dict[str, Any] = {"template": t.name, "size": size, "lang": v["lang"],
                              "rtl": T.is_rtl(v, t), "contrast": contrast, "boxes": {},
                              "warnings": [], "renderer": RENDERER_VERSION}
    blocks = [(spec, fit(text, spec.box, spec.style, _measurer(kit, spec.weight, v["lang"])))
              for spec, text in d.texts]
    emoji = any(p.face.emoji for _, b in blocks for ln in b.lines for p in ln.pieces)
    if d.kind == "flat" and d.image is None and not (d.logo and kit.logo) and not emoji:
        img = _indexed(size, d, blocks, kit)
    else:
        img = Image.new("RGB", T.SIZES[size], kit.colour("background"))
        _paint(img, d, kit)
        for spec, block in blocks:
            draw(block, img, kit.colour(spec.role))
    out = Rendered(img, t.alt(v, v["_handle"]), report, d.kind)
    for spec, block in blocks:
        rep = block.report()
        rep["box"] = [spec.box.x0, spec.box.y0, spec.box.x1, spec.box.y1]
        rep.update(role=spec.role, bg=spec.bg, weight=spec.weight)
        report["boxes"][spec.name] = rep
        if block.truncated:
            report["warnings"].append(f"{spec.name}: text too long for the card, cut with an "
                                      f"ellipsis (the alt text keeps all of it)")
        small = _too_small(spec.name, t, block, T.SIZES[size][0])
        if small:
            report["warnings"].append(small)
        if block.removed:
            report["warnings"].append(f"{spec.name}: left out characters no font covers: "
                                      f"{block.removed!r}")
        if inspect:
            layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
            draw(block, layer, kit.colour(spec.role))
            out.layers[spec.name] = layer.getchannel("A")
    return out


# Text smaller than this on a 1080-px-wide card is hard to read on a phone, where the card is
# shown about as wide as the screen; wider cards are scaled down more, so the bar rises with
# the width (36 px on a 1600-px card).
READABLE_PX = 24
DENSE_LINES = 8  # more lines than this in one box read as a wall of text
_READ_BOXES = ("text", "quote", "title", "excerpt", "state")


def _too_small(name: str, t: T.Template, block: Any, width: int) -> str:
    """A warning when a main text box had to shrink below what a phone shows readably."""
    if name not in _READ_BOXES and name != t.main:
        return ""
    need = READABLE_PX * width / 1080
    if not block.text.strip():
        return ""
    if block.size < need:
        fits = int(len(block.text) * (block.size / need) ** 2)
        return (f"{name}: text set at {block.size} px, below the {round(need)} px a phone shows "
                f"readably on a {width}-px card; shorten it to about {fits} characters "
                f"(it has {len(block.text)})")
    if len(block.lines) > DENSE_LINES:
        fits = int(len(block.text) * DENSE_LINES / len(block.lines))
        return (f"{name}: {len(block.lines)} dense lines, more than the {DENSE_LINES} a phone "
                f"reader takes in at a glance; shorten it to about {fits} characters "
                f"(it has {len(block.text)})")
    return ""


def _indexed(size: str, d: T.Design, blocks: list, kit: Brand) -> Any:
    """A flat card as an 8-bit palette image: flat colours, then one ramp per text colour pair."""
    from PIL import Image, ImageDraw

    palette: list[tuple[int, ...]] = []  # RGB triples
    index: dict[Any, int] = {}
    for role in ["background", *(r for _, r in d.panels)]:
        c = kit.colour(role)
        if c not in index:
            index[c] = len(palette)
            palette.append(c)
    pairs = sorted({(spec.role, spec.bg) for spec, _ in blocks})
    levels = min(64, (256 - len(palette)) // max(1, len(pairs)))
    for pair in pairs:
        index[pair] = len(palette)
        fg, bg = kit.colour(pair[0]), kit.colour(pair[1])
        palette += [tuple(round(b + (f - b) * (j + 1) / levels) for f, b in zip(fg, bg, strict=True))
                    for j in range(levels)]
    img = Image.new("L", T.SIZES[size], index[kit.colour("background")])
    dr = ImageDraw.Draw(img)
    for box, role in d.panels:
        dr.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=index[kit.colour(role)])
    for spec, block in blocks:
        draw_indexed(block, img, index[(spec.role, spec.bg)], levels)
    out = Image.frombytes("P", img.size, img.tobytes())
    out.putpalette([v for c in palette for v in c])
    return out


_MEASURERS: dict[tuple, Measurer] = {}


def _measurer(kit: Brand, weight: str, lang: str) -> Measurer:
    stack = kit.stack(weight)
    k = (id(stack), lang)
    if k not in _MEASURERS:
        _MEASURERS[k] = Measurer(stack, lang)
    return _MEASURERS[k]


def _paint(img: Any, d: T.Design, kit: Brand) -> None:
    from PIL import Image, ImageDraw

    dr = ImageDraw.Draw(img)
    for box, role in d.panels:
        dr.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=kit.colour(role))
    if d.image:
        box, rel = d.image
        _paste_contained(img, _open_inside(kit.root, rel, "image").convert("RGB"), box, "center")
    if d.logo and kit.logo:
        with Image.open(kit.logo) as lg:
            logo = lg.convert("RGBA")
        _paste_contained(img, logo, d.logo, "end" if d.logo.x0 > img.width // 2 else "start")


def _open_inside(root: Path, rel: str, what: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    p = (root / rel).resolve()
    if not p.is_relative_to(root.resolve()):
        raise CardError(f"card {what} {rel} is outside the project folder")
    if not p.is_file():
        raise CardError(f"card {what} {rel} not found")
    try:
        with Image.open(p) as im:
            im.load()
            return im
    except (UnidentifiedImageError, OSError) as e:
        raise CardError(f"card {what} {rel} is not a readable image ({e})") from e


def _paste_contained(img: Any, src: Any, box: Box, align: str) -> None:
    """Scale ``src`` to fit inside ``box`` whole (never cropped) and paste it."""
    from PIL import Image

    scale = min(box.w / src.width, box.h / src.height)
    size = (max(1, round(src.width * scale)), max(1, round(src.height * scale)))
    src = src.resize(size, Image.Resampling.LANCZOS)
    y = box.y0 + (box.h - size[1]) // 2
    x = {"start": box.x0, "end": box.x1 - size[0]}.get(align, box.x0 + (box.w - size[0]) // 2)
    img.paste(src, (x, y), src if src.mode == "RGBA" else None)


__all__ = ["Rendered", "render", "design", "card_key", "as_brand", "CardError", "BrandError",
           "RENDERER_VERSION"]
