"""A contact sheet: every image a queue will publish, with its alt text, for a human reviewer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uprbuzz.cards.layout import Box, Measurer, Style, draw, fit

TILE_W, THUMB_H, TEXT_H, PAD = 420, 236, 250, 16
INK, MUTED, ALARM, PAPER, FRAME = (17, 17, 17), (80, 80, 80), (176, 0, 32), (255, 255, 255), (230, 230, 230)


@dataclass
class Tile:
    post: str
    what: str  # "card recommendation", "part 1"
    path: Path | None
    alt: str
    decorative: bool = False
    error: str = ""


def contact_sheet(tiles: list[Tile], columns: int = 3) -> Any:
    from PIL import Image, ImageDraw

    from uprbuzz.cards.fonts import load_stack

    regular, bold = Measurer(load_stack(None, "regular")), Measurer(load_stack(None, "bold"))
    rows = (len(tiles) + columns - 1) // columns
    cell_h = PAD + 40 + THUMB_H + PAD + TEXT_H + PAD
    sheet = Image.new("RGB", (columns * (TILE_W + PAD) + PAD, rows * cell_h + PAD), PAPER)
    d = ImageDraw.Draw(sheet)
    for i, t in enumerate(tiles):
        x0 = PAD + (i % columns) * (TILE_W + PAD)
        y0 = PAD + (i // columns) * cell_h
        _text(sheet, f"{t.post} · {t.what}", Box(x0, y0, x0 + TILE_W, y0 + 36), bold, 20, INK)
        ty = y0 + 40
        d.rectangle((x0, ty, x0 + TILE_W - 1, ty + THUMB_H - 1), fill=FRAME)
        note, colour = _thumb(sheet, t, Box(x0, ty, x0 + TILE_W, ty + THUMB_H))
        if not note:
            if t.decorative:
                note, colour = "(decorative image, no alt text)", MUTED
            elif not t.alt.strip():
                note, colour = "NO ALT TEXT", ALARM
            else:
                note, colour = "ALT: " + t.alt, INK
        box = Box(x0, ty + THUMB_H + PAD, x0 + TILE_W, ty + THUMB_H + PAD + TEXT_H)
        _text(sheet, note, box, regular, 17, colour)
    return sheet


def _thumb(sheet: Any, t: Tile, box: Box) -> tuple[str, tuple[int, int, int]]:
    from PIL import Image, UnidentifiedImageError

    if t.error:
        return "ERROR: " + t.error, ALARM
    if t.path is None or not t.path.is_file():
        return f"MISSING FILE: {t.path}", ALARM
    try:
        with Image.open(t.path) as im:
            im.thumbnail((box.w, box.h))
            thumb = im.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        return f"UNREADABLE IMAGE: {e}", ALARM
    sheet.paste(thumb, (box.x0 + (box.w - thumb.width) // 2, box.y0 + (box.h - thumb.height) // 2))
    return "", INK


def _text(sheet: Any, text: str, box: Box, m: Measurer, size: int, colour: tuple) -> None:
    block = fit(text, box, Style(size, 10, spacing=1.3), m)
    draw(block, sheet, colour)
