"""Fit text into a box: wrap, shrink, and only as a last resort cut with an ellipsis.

The font size is found by binary search (largest size whose wrapped text fits), so a card costs a
handful of measurements, not a loop over every size. Lines break at spaces, and between any two
CJK characters (keeping closing punctuation with the character before it). Right-to-left
paragraphs (Arabic) are laid out right to left with raqm shaping each run (``direction="rtl"``);
runs of the other direction inside a line are kept in their own order (bidi at run level).
The final layout is checked against the glyphs' real ink boxes, so nothing overflows the box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import regex

from uprbuzz.cards.fonts import Face, FontStack, Run, paragraph_rtl

ELLIPSIS = "…"
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Bopomofo}"
_CLOSE = r"、。，．・：；？！ー）」』】〕〉》〗〙”’),.!?:;%…"
_OPEN = r"（「『【〔〈《〖〘“‘("
_TOKEN = regex.compile(rf"[{_OPEN}]*[{_CJK}][{_CLOSE}]*\s*|[^\s{_CJK}]+\s*|\s+")
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    def mirrored(self, width: int) -> "Box":
        return Box(width - self.x1, self.y0, width - self.x0, self.y1)


@dataclass(frozen=True)
class Style:
    max_size: int
    min_size: int = 16
    spacing: float = 1.25  # line pitch as a multiple of the font size
    align: str = "start"  # start | center | end (start = right for RTL paragraphs)
    valign: str = "top"  # top | middle | bottom
    max_lines: int | None = None
    lang: str | None = None
    base: str | None = None  # "rtl"/"ltr": the card's direction decides "start"; None: each paragraph's


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
    pieces: list[Piece]
    baseline: int


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
                "inside": self.ink is None or _inside(self.ink, self.box)}


class Measurer:
    """Memoised run widths and metrics for one font stack (shared by every card of a run)."""

    def __init__(self, stack: FontStack, lang: str | None = None) -> None:
        self.stack, self.lang = stack, lang
        self._w: dict[tuple, float] = {}

    def run_lang(self, run: Run) -> str | None:
        lang = (self.lang or "").lower()
        if run.rtl:
            return lang if lang[:2] in ("ar", "fa", "ur", "he") else "ar"
        if "CJK" in run.face.label:
            return lang if lang[:2] in ("zh", "ja", "ko") else "zh-Hans"
        return self.lang

    def run_width(self, run: Run, size: int) -> float:
        k = (run.text, run.face, size)
        w = self._w.get(k)
        if w is None:
            font = run.face.font(size)
            w = font.getlength(run.text, direction="rtl" if run.rtl else "ltr",
                               language=self.run_lang(run)) * run.face.scale(size)
            if len(self._w) > 50000:
                self._w.clear()
            self._w[k] = w
        return w

    def width(self, text: str, size: int) -> float:
        return sum(self.run_width(r, size) for r in self.stack.split(text).runs)

    def extent(self, runs: tuple[Run, ...], size: int) -> tuple[int, int]:
        """Ink above and below the baseline, per face from a sample of its tallest and deepest
        letters (Arabic and CJK fonts declare far taller metrics than their letters use).
        Measured once per face at 100 px and scaled; the placed glyphs are checked exactly."""
        asc, desc = int(size * 0.5), 0
        for face in {r.face for r in runs}:
            a, d = _face_extent(face)
            asc, desc = max(asc, int(a * size / 100) + 1), max(desc, int(d * size / 100) + 1)
        return asc, desc


_SAMPLE = ("ÅÉÎÕÜÑÇÁgjpqy()[]|ЙЁДЩўأإآلكطظـجحخعغيىةۓـّـًـٍ"
           "国龍「」（）あア한")
_EXTENTS: dict[Face, tuple[int, int]] = {}


def _face_extent(face: Face) -> tuple[int, int]:
    e = _EXTENTS.get(face)
    if e is None:
        sample = "".join(c for c in _SAMPLE if face.covers(ord(c))) or "Hg"
        if face.emoji:
            sample = "😀"
        font = face.font(100)
        s = face.scale(100)
        _, t, _, b = font.getbbox(sample, anchor="ls")
        e = _EXTENTS[face] = (int(-t * s + 0.999), int(b * s + 0.999))
    return e


def fit(text: str, box: Box, style: Style, m: Measurer) -> Block:
    """Lay out ``text`` in ``box`` at the largest size that fits (see module doc)."""
    split = m.stack.split(text)
    clean = "".join(r.text for r in split.runs)
    runs = m.stack.split(clean.replace("\n", " ")).runs
    paras = [_tokens(p) for p in clean.split("\n")]

    def attempt(size: int, allow_break: bool) -> list[tuple[list[str], bool]] | None:
        lines = _wrap(paras, box.w, size, m, allow_break)
        if lines is None:
            return None
        if style.max_lines and len(lines) > style.max_lines:
            return None
        asc, desc = m.extent(runs, size)
        if asc + desc + (len(lines) - 1) * _pitch(size, style) > box.h:
            return None
        return lines

    for allow_break in (False, True):
        lo, hi, best = style.min_size, style.max_size, None
        while lo <= hi:
            mid = (lo + hi) // 2
            lines = attempt(mid, allow_break)
            if lines is not None:
                best, lo = (mid, lines), mid + 1
            else:
                hi = mid - 1
        # Real ink can exceed the font's metrics (stacked marks): step down until inside.
        while best is not None:
            size, lines = best
            block = _place(text, lines, size, box, style, m, runs)
            block.broken_words, block.removed = allow_break, split.removed
            if _inside(block.ink, box):
                return block
            smaller = attempt(size - 1, allow_break) if size > style.min_size else None
            best = (size - 1, smaller) if smaller is not None else None
    return _ellipsis(text, paras, box, style, m, runs, split.removed)


def _pitch(size: int, style: Style) -> int:
    return round(size * style.spacing)


def _tokens(paragraph: str) -> list[str]:
    return _TOKEN.findall(paragraph)


def _wrap(paras: list[list[str]], width: int, size: int, m: Measurer,
          allow_break: bool) -> list[tuple[list[str], bool]] | None:
    """Greedy wrap; each line is (tokens, paragraph is RTL). None if a word cannot fit."""
    out: list[tuple[list[str], bool]] = []
    for toks in paras:
        rtl = paragraph_rtl("".join(toks))
        line: list[str] = []
        used = 0.0
        queue = list(toks)
        while queue:
            tok = queue.pop(0)
            full = m.width(tok, size)
            bare = m.width(tok.rstrip(), size) if tok != tok.rstrip() else full
            if used + bare <= width:
                line.append(tok)
                used += full
                continue
            if line and line[-1].strip():
                out.append((line, rtl))
                line, used = [], 0.0
                if not tok.strip():
                    continue  # spaces at a line break vanish
                queue.insert(0, tok)
                continue
            if not tok.strip():
                continue
            if not allow_break:
                return None
            parts = _GRAPHEME.findall(tok)
            if len(parts) == 1:  # a single character wider than the box
                return None
            queue[0:0] = parts
        out.append((line, rtl))
    return out


def _place(text: str, lines: list[tuple[list[str], bool]], size: int, box: Box, style: Style,
           m: Measurer, runs: tuple[Run, ...]) -> Block:
    asc, desc = m.extent(runs, size)
    pitch = _pitch(size, style)
    height = asc + desc + (len(lines) - 1) * pitch
    top = box.y0 + {"top": 0, "middle": (box.h - height) // 2, "bottom": box.h - height}.get(
        style.valign, 0)
    block = Block(text, box, size)
    ink = None
    for i, (toks, rtl) in enumerate(lines):
        baseline = top + asc + i * pitch
        runs = _neutral_edges(m.stack.split("".join(toks).rstrip()).runs, rtl)
        pieces = [Piece(r.text, r.face, r.rtl, 0.0, m.run_width(r, size), m.run_lang(r))
                  for r in runs]
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
        block.lines.append(Line(pieces, baseline))
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
    """Left-to-right drawing order: reverse for RTL, keeping embedded LTR groups in order."""
    if not rtl:
        out, group = [], []
        for p in pieces:
            if p.rtl:
                group.append(p)
            else:
                out.extend(reversed(group))
                group = []
                out.append(p)
        return out + list(reversed(group))
    out, group = [], []
    for p in reversed(pieces):
        if not p.rtl:
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
        l, t, r, b = font.getbbox(p.text, anchor="ls")
        return (x + int(l * s), baseline + int(t * s), x + int(r * s + 0.999),
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


def _inside(ink: tuple | None, box: Box) -> bool:
    return ink is None or (ink[0] >= box.x0 and ink[1] >= box.y0 and ink[2] <= box.x1
                           and ink[3] <= box.y1)


def _ellipsis(text: str, paras: list[list[str]], box: Box, style: Style, m: Measurer,
              runs: tuple[Run, ...], removed: str) -> Block:
    """Last resort at the minimum size: keep the lines that fit and end the last with '…'."""
    size = style.min_size
    runs = runs + m.stack.split(ELLIPSIS).runs
    asc, desc = m.extent(runs, size)
    pitch = _pitch(size, style)
    room = max(1, (box.h - asc - desc) // pitch + 1)
    if style.max_lines:
        room = min(room, style.max_lines)
    lines = _wrap(paras, box.w, size, m, True) or [([text], False)]
    while True:
        kept = [(list(t), r) for t, r in lines[:room]]
        last, rtl = kept[-1]
        while last and m.width("".join(last).rstrip() + ELLIPSIS, size) > box.w:
            tok = last.pop()
            g = _GRAPHEME.findall(tok.rstrip())
            if len(g) > 1:
                last.append("".join(g[:-1]))
        kept[-1] = ([("".join(last).rstrip() + ELLIPSIS)], rtl)
        block = _place(text, kept, size, box, style, m, runs)
        block.truncated, block.broken_words, block.removed = True, True, removed
        if _inside(block.ink, box) or room == 1:
            return block
        room -= 1


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
            l, t, r, b = font.getbbox(p.text, anchor="ls")
            tile = Image.new("RGBA", (max(1, r - l), max(1, b - t)), (0, 0, 0, 0))
            ImageDraw.Draw(tile).text((-l, -t), p.text, font=font, anchor="ls", embedded_color=True)
            s = p.face.scale(block.size)
            w, h = max(1, int((r - l) * s)), max(1, int((b - t) * s))
            tile = tile.resize((w, h), Image.Resampling.LANCZOS)
            image.paste(tile, (round(p.x) + int(l * s), line.baseline + int(t * s)), tile)


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
