"""What text is fitted into, and how big it is: boxes, styles, memoised widths and ink extents.

:class:`Measurer` answers every width question of a fit (``layout.fit`` tries many sizes), so it
memoises run widths per font stack; a face's ink above and below the baseline is sampled once
and scaled. Imports no Pillow: fonts load lazily on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from uprbuzz.cards.fonts import Face, FontStack, Run


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

    def mirrored(self, width: int) -> Box:
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


def pitch(size: int, style: Style) -> int:
    """Baseline-to-baseline distance of the style's lines at ``size``."""
    return round(size * style.spacing)


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
