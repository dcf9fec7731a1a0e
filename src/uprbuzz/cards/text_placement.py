"""Put wrapped lines on the card: direction, glyphs, exact ink, and drawing.

``layout.fit`` decides the size and the line breaks; :func:`place` turns those lines into
pieces (one per font run) in visual order: right to left for RTL paragraphs, with embedded runs
of the other direction kept in their own order (bidi at run level). Each piece's glyphs are
rendered once, so the block's real ink box is known (the fit is checked against it) and
:func:`draw` / :func:`draw_indexed` only paste the masks. Pillow loads only when drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from uprbuzz.cards.fonts import Face, Run
from uprbuzz.cards.text_metrics import Box, Measurer, Style, pitch


@dataclass
class Piece:
    text: str
    face: Face
    rtl: bool
    x: float
    width: float
    lang: str | None
    mask: Any = None  # the rendered glyphs (Pillow core image), drawn by draw()
    at: tuple[int, int] = (0, 0)  # top-left of the mask on the card


@dataclass
class Line:
    pieces: list[Piece]  # logical order
    baseline: int
    rtl: bool = False  # the paragraph's direction


@dataclass
class Block:
    text: str
    box: Box
    size: int
    lines: list[Line] = field(default_factory=list)
    truncated: bool = False  # an ellipsis replaced the end of the text
    broken_words: bool = False  # a word longer than the box was broken between characters
    removed: str = ""  # characters no font covers (left out)
    ink: tuple[int, int, int, int] | None = None  # union of the glyphs' ink boxes

    def report(self) -> dict[str, Any]:
        return {"size": self.size, "lines": len(self.lines), "truncated": self.truncated,
                "broken_words": self.broken_words, "removed": self.removed,
                "ink": list(self.ink) if self.ink else None,
                "inside": self.ink is None or inside(self.ink, self.box),
                "text": self.text, "drawn": [_drawn(ln) for ln in self.lines]}


def _drawn(line: Line) -> dict[str, Any]:
    """What one line put on the card, so a golden test can compare strings rather than pixels:
    its text as drawn (logical order, with any ellipsis), direction, baseline, horizontal span
    (the pieces' advances) and the fonts that drew it."""
    fonts: list[str] = []
    for p in line.pieces:
        if p.text.strip() and p.face.label not in fonts:
            fonts.append(p.face.label)
    span = [round(min((p.x for p in line.pieces), default=0.0)),
            round(max((p.x + p.width for p in line.pieces), default=0.0))]
    return {"text": "".join(p.text for p in line.pieces), "dir": "rtl" if line.rtl else "ltr",
            "baseline": line.baseline, "x": span, "fonts": fonts}


def place(text: str, lines: list[tuple[list[str], bool]], size: int, box: Box, style: Style,
          m: Measurer, runs: tuple[Run, ...]) -> Block:
    """Lay ``lines`` (tokens, paragraph is RTL) out in ``box`` at ``size``; ``runs`` are the whole
    text's, for the ascent and descent shared by every line."""
    asc, desc = m.extent(runs, size)
    step = pitch(size, style)
    height = asc + desc + (len(lines) - 1) * step
    top = box.y0 + {"top": 0, "middle": (box.h - height) // 2, "bottom": box.h - height}.get(
        style.valign, 0)
    block = Block(text, box, size)
    ink = None
    for i, (toks, rtl) in enumerate(lines):
        baseline = top + asc + i * step
        line_runs = _neutral_edges(m.stack.split("".join(toks).rstrip()).runs, rtl)
        pieces = [Piece(r.text, r.face, r.rtl, 0.0, m.run_width(r, size), m.run_lang(r))
                  for r in line_runs]
        total = sum(p.width for p in pieces)
        align, start_rtl = style.align, (style.base == "rtl") if style.base else rtl
        if align == "start":
            align = "right" if start_rtl else "left"
        elif align == "end":
            align = "left" if start_rtl else "right"
        x = {"left": box.x0, "right": box.x1 - total, "center": box.x0 + (box.w - total) / 2}.get(
            align, box.x0)
        line_ink = None
        for p in _visual_order(pieces, rtl):
            p.x = x
            x += p.width
            line_ink = _union(line_ink, _render_piece(p, baseline, size))
        line_ink = _nudge(pieces, line_ink, box)
        ink = _union(ink, line_ink)
        block.lines.append(Line(pieces, baseline, rtl))
    block.ink = ink
    return block


def _neutral_edges(runs: tuple[Run, ...], rtl: bool) -> list[Run]:
    """Spaces at the edge of an opposite-direction run take the paragraph's direction, so
    they end up between the runs rather than on the wrong side of an embedded phrase."""
    out: list[Run] = []
    for r in runs:
        if r.rtl == rtl or not r.text.strip():
            out.append(r)
            continue
        core = r.text.strip()
        lead, trail = r.text[: len(r.text) - len(r.text.lstrip())], r.text[len(r.text.rstrip()):]
        if lead:
            out.append(Run(lead, r.face, rtl))
        out.append(Run(core, r.face, r.rtl))
        if trail:
            out.append(Run(trail, r.face, rtl))
    return out


def _visual_order(pieces: list[Piece], rtl: bool) -> list[Piece]:
    """Left-to-right drawing order: reverse for RTL, keeping embedded runs of the other
    direction in their own order."""
    out: list[Piece] = []
    group: list[Piece] = []  # a run against the paragraph's direction, collected reversed
    for p in (reversed(pieces) if rtl else pieces):
        if p.rtl != rtl:
            group.append(p)
        else:
            out.extend(reversed(group))
            group = []
            out.append(p)
    return out + list(reversed(group))


def _render_piece(p: Piece, baseline: int, size: int) -> tuple[int, int, int, int] | None:
    """Render the piece's glyphs once: their exact ink box checks the fit, draw() pastes them."""
    if not p.text.strip():
        return None
    font = p.face.font(size)
    x = round(p.x)
    if p.face.emoji:
        s = p.face.scale(size)
        lft, t, r, b = font.getbbox(p.text, anchor="ls")
        return (x + int(lft * s), baseline + int(t * s), x + int(r * s + 0.999),
                baseline + int(b * s + 0.999))
    mask, off = font.getmask2(p.text, "L", direction="rtl" if p.rtl else "ltr",
                              language=p.lang, anchor="ls")
    p.mask, p.at = mask, (x + off[0], baseline + off[1])
    w, h = mask.size
    return (p.at[0], p.at[1], p.at[0] + w, p.at[1] + h) if w and h else None


def _nudge(pieces: list[Piece], ink: tuple | None, box: Box) -> tuple | None:
    """Glyphs may reach past their advance (the hook of a 'j', an Arabic tail): shift the line
    back inside the box when there is room, rather than shrinking the text."""
    if ink is None:
        return None
    dx = box.x0 - ink[0] if ink[0] < box.x0 else (box.x1 - ink[2] if ink[2] > box.x1 else 0)
    if not dx or ink[0] + dx < box.x0 or ink[2] + dx > box.x1:
        return ink
    for p in pieces:
        p.x += dx
        p.at = (p.at[0] + dx, p.at[1])
    return (ink[0] + dx, ink[1], ink[2] + dx, ink[3])


def _union(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def inside(ink: tuple | None, box: Box) -> bool:
    """No ink outside ``box`` (no ink at all counts as inside)."""
    return ink is None or (ink[0] >= box.x0 and ink[1] >= box.y0 and ink[2] <= box.x1
                           and ink[3] <= box.y1)


def draw(block: Block, image: Any, fill: tuple[int, int, int]) -> None:
    """Draw a laid-out block onto a Pillow image (RGB or RGBA)."""
    from PIL import Image, ImageDraw

    d = ImageDraw.Draw(image)
    ink = d._getink(fill)[0]  # what ImageDraw.text does with the same glyph masks
    for line in block.lines:
        for p in line.pieces:
            if p.mask is not None:
                if p.mask.size[0] and p.mask.size[1]:
                    d.draw.draw_bitmap(p.at, p.mask, ink)
                continue
            if not p.face.emoji or not p.text.strip():
                continue
            # Colour emoji exist only as 109 px bitmaps: draw at that size, then scale.
            font = p.face.font(block.size)
            lft, t, r, b = font.getbbox(p.text, anchor="ls")
            tile = Image.new("RGBA", (max(1, r - lft), max(1, b - t)), (0, 0, 0, 0))
            ImageDraw.Draw(tile).text((-lft, -t), p.text, font=font, anchor="ls",
                                      embedded_color=True)
            s = p.face.scale(block.size)
            w, h = max(1, int((r - lft) * s)), max(1, int((b - t) * s))
            tile = tile.resize((w, h), Image.Resampling.LANCZOS)
            image.paste(tile, (round(p.x) + int(lft * s), line.baseline + int(t * s)), tile)


def draw_indexed(block: Block, image: Any, base: int, levels: int) -> None:
    """Draw onto an index image (mode L holding palette indices): glyph coverage becomes one of
    ``levels`` palette entries from ``base`` on, a ramp from the box's background to the text
    colour. Flat cards become 8-bit palette PNGs, which encode about three times faster."""
    from PIL import Image

    lut = [0] + [base + (v * levels + 254) // 255 - 1 for v in range(1, 256)]
    on = [0] + [255] * 255
    for line in block.lines:
        for p in line.pieces:
            if p.mask is None or not p.mask.size[0] or not p.mask.size[1]:
                continue
            m = Image.Image()._new(p.mask)  # the glyph bitmap as an image, without a copy
            image.paste(m.point(lut), p.at, m.point(on))
