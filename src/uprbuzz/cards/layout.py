"""Fit text into a box: wrap, shrink, and only as a last resort cut with an ellipsis.

The font size is found by binary search (largest size whose wrapped text fits), so a card costs a
handful of measurements, not a loop over every size. Lines break at spaces, and between any two
CJK characters (keeping closing punctuation with the character before it). Right-to-left
paragraphs (Arabic) are laid out right to left with raqm shaping each run (``direction="rtl"``);
mixed-direction lines are ordered by the Unicode bidi algorithm (``text_placement.bidi_runs``).
No-break spaces keep their neighbours on one line.
The final layout is checked against the glyphs' real ink boxes, so nothing overflows the box.

This module breaks lines and searches the size; ``text_metrics`` measures (Box, Style,
Measurer) and ``text_placement`` orders, renders and draws the glyphs (Block, draw). Those names
are re-exported here, where the renderer and the sheet import them from.
"""

from __future__ import annotations

import regex

from uprbuzz.cards.fonts import Run, paragraph_rtl
from uprbuzz.cards.text_metrics import Box, Measurer, Style, pitch
from uprbuzz.cards.text_placement import Block, Line, Piece, draw, draw_indexed, inside, place

__all__ = ["ELLIPSIS", "Block", "Box", "Line", "Measurer", "Piece", "Style", "draw", "draw_indexed",
           "fit"]

ELLIPSIS = "…"
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Bopomofo}"
_CLOSE = r"、。，．・：；？！ー）」』】〕〉》〗〙”’),.!?:;%…"
_OPEN = r"（「『【〔〈《〖〘“‘("
# No-break spaces (U+00A0, U+202F, U+2007) and the word joiner hold their neighbours together:
# "Los Angeles 05:30" is written with them on time lines, and CLDR puts U+202F in dates.
_NB = "\u00a0\u202f\u2007\u2060"
_BS = rf"[^\S{_NB}]"  # a space a line may break at
_TOKEN = regex.compile(rf"[{_OPEN}]*[{_CJK}][{_CLOSE}]*{_BS}*|(?:[^\s{_CJK}]|[{_NB}])+{_BS}*|{_BS}+")
_GRAPHEME = regex.compile(r"\X")


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
        if asc + desc + (len(lines) - 1) * pitch(size, style) > box.h:
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
            block = place(text, lines, size, box, style, m, runs)
            block.broken_words, block.removed = allow_break, split.removed
            if inside(block.ink, box):
                return block
            smaller = attempt(size - 1, allow_break) if size > style.min_size else None
            best = (size - 1, smaller) if smaller is not None else None
    return _ellipsis(text, paras, box, style, m, runs, split.removed)


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


def _ellipsis(text: str, paras: list[list[str]], box: Box, style: Style, m: Measurer,
              runs: tuple[Run, ...], removed: str) -> Block:
    """Last resort at the minimum size: keep the lines that fit and end the last with '…'."""
    size = style.min_size
    runs = runs + m.stack.split(ELLIPSIS).runs
    asc, desc = m.extent(runs, size)
    room = max(1, (box.h - asc - desc) // pitch(size, style) + 1)
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
        block = place(text, kept, size, box, style, m, runs)
        block.truncated, block.broken_words, block.removed = True, True, removed
        if inside(block.ink, box) or room == 1:
            return block
        room -= 1
