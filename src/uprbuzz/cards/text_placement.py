"""Put wrapped lines on the card: direction, glyphs, exact ink, and drawing.

``layout.fit`` decides the size and the line breaks; :func:`place` turns those lines into
pieces (one per font run and bidi level) in visual order by the Unicode bidi algorithm
(python-bidi resolves each character's level, :func:`bidi_runs` reorders the pieces). Each piece's glyphs are
rendered once, so the block's real ink box is known (the fit is checked against it) and
:func:`draw` / :func:`draw_indexed` only paste the masks. Pillow loads only when drawing.
"""

from __future__ import annotations

import re
import unicodedata
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
    start: int = 0  # where the piece's text starts in its line (logical order)


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
        visual = [Piece(r.text, r.face, r.rtl, 0.0, m.run_width(r, size), m.run_lang(r), start=i)
                  for i, r in bidi_runs(m.stack.split("".join(toks).rstrip()).runs, rtl)]
        pieces = sorted(visual, key=lambda p: p.start)  # logical order, for the report
        total = sum(p.width for p in pieces)
        align, start_rtl = style.align, (style.base == "rtl") if style.base else rtl
        if align == "start":
            align = "right" if start_rtl else "left"
        elif align == "end":
            align = "left" if start_rtl else "right"
        x = {"left": box.x0, "right": box.x1 - total, "center": box.x0 + (box.w - total) / 2}.get(
            align, box.x0)
        line_ink = None
        for p in visual:
            p.x = x
            x += p.width
            line_ink = _union(line_ink, _render_piece(p, baseline, size))
        line_ink = _nudge(pieces, line_ink, box)
        ink = _union(ink, line_ink)
        block.lines.append(Line(pieces, baseline, rtl))
    block.ink = _nudge_block(block, ink, box)
    return block


def _nudge_block(block: Block, ink: tuple | None, box: Box) -> tuple | None:
    """The font metrics place the lines; real ink may reach a pixel or two past them (an Arabic
    tail under a bottom-aligned line). Shift the whole block back inside the box when its ink
    is not taller than the box, rather than shrinking the text to the minimum and cutting it."""
    if ink is None:
        return None
    dy = box.y0 - ink[1] if ink[1] < box.y0 else (box.y1 - ink[3] if ink[3] > box.y1 else 0)
    if not dy or ink[1] + dy < box.y0 or ink[3] + dy > box.y1:
        return ink
    for line in block.lines:
        line.baseline += dy
        for p in line.pieces:
            p.at = (p.at[0], p.at[1] + dy)
    return (ink[0], ink[1] + dy, ink[2], ink[3] + dy)


_RTL_CLASSES = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI", "FSI"})
_LEVEL = re.compile(r"Level\(\s*(\d+),?\s*\)")


def bidi_levels(text: str, rtl: bool) -> list[int]:
    """The embedding level of each character of one line by the Unicode bidi algorithm (UAX #9
    with paired brackets, rule N0), the paragraph's direction given; odd levels run right to
    left. The levels come from python-bidi's Rust engine (the unicode-bidi crate), which gives
    them, per UTF-8 byte, only in its debug answer; should that ever change shape, python-bidi's
    older pure-Python algorithm (no N0) answers instead. Rule L1 is applied here."""
    if not rtl and not any(unicodedata.bidirectional(c) in _RTL_CLASSES for c in text):
        return [0] * len(text)  # nothing right to left: every character is at level 0
    from bidi.bidi import get_display_inner  # type: ignore[import-untyped]

    info = str(get_display_inner(text, "R" if rtl else "L", True))
    levels_part = info.partition("levels:")[2].partition("paragraphs:")[0]
    per_byte = [int(x) for x in _LEVEL.findall(levels_part)]
    data = text.encode("utf-8")
    if len(per_byte) == len(data):
        out, pos = [], 0
        for ch in text:
            out.append(per_byte[pos])
            pos += len(ch.encode("utf-8"))
    else:
        out = _levels_v1(text, rtl)
    base = 1 if rtl else 0
    trailing = True  # L1: separators, and whitespace before them or at the line's end
    for i in range(len(text) - 1, -1, -1):
        kind = unicodedata.bidirectional(text[i])
        if kind in ("S", "B"):
            out[i], trailing = base, True
        elif trailing and kind in ("WS", "BN", "FSI", "LRI", "RLI", "PDI"):
            out[i] = base
        else:
            trailing = False
    return out


def _levels_v1(text: str, rtl: bool) -> list[int]:
    from bidi import algorithm as uba  # type: ignore[import-untyped]

    st = uba.get_empty_storage()
    st["base_level"], st["base_dir"] = (1, "R") if rtl else (0, "L")
    uba.get_embedding_levels(text, st)
    for i, c in enumerate(st["chars"]):
        c["i"] = i
    uba.explicit_embed_and_overrides(st)
    uba.resolve_weak_types(st, False)
    uba.resolve_neutral_types(st, False)
    uba.resolve_implicit_levels(st, False)
    got = {c["i"]: c["level"] for c in st["chars"]}
    out, last = [], st["base_level"]
    for i in range(len(text)):  # characters X9 removes (joiners, controls) follow their left
        last = got.get(i, last)
        out.append(last)
    return out


def bidi_runs(runs: tuple[Run, ...], rtl: bool) -> list[tuple[int, Run]]:
    """Cut a line's font runs where the bidi level changes and put the pieces in visual order
    (rule L2: from the highest level down to the lowest odd one, reverse every sequence at that
    level or above). Each piece keeps its text in logical order with ``rtl`` = odd level, so
    raqm shapes it in its direction and mirrors brackets; returns (logical position, run)."""
    text = "".join(r.text for r in runs)
    if not text:
        return [(0, r) for r in runs]
    levels = bidi_levels(text, rtl)
    pieces: list[tuple[int, int, Run]] = []  # (logical start, level, run)
    pos = 0
    for r in runs:
        j = pos
        while j < pos + len(r.text):
            k = j
            while k < pos + len(r.text) and levels[k] == levels[j]:
                k += 1
            pieces.append((j, levels[j], Run(text[j:k], r.face, levels[j] % 2 == 1)))
            j = k
        pos += len(r.text)
    order = list(range(len(pieces)))
    top = max(p[1] for p in pieces)
    low = min((p[1] for p in pieces if p[1] % 2), default=top + 1)
    for level in range(top, low - 1, -1):
        i = 0
        while i < len(order):
            if pieces[order[i]][1] >= level:
                j = i
                while j < len(order) and pieces[order[j]][1] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return [(pieces[k][0], pieces[k][2]) for k in order]


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
