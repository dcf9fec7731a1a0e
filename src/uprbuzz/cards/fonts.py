"""Font stacks: which font draws which character.

A stack is an ordered list of faces per weight (regular, bold) plus an optional colour-emoji face.
Text is split into *runs*, each drawn with the first face of the stack whose character map covers
it (read once per face with fontTools), so Latin, Cyrillic, Arabic and Chinese can share one line.
Characters no face covers are removed and reported, never drawn as empty boxes ("tofu").

The default stack is the Noto set installed by ``scripts/install-fonts.sh``; ``[brand.fonts]``
in uprbuzz.toml replaces it (``regular``, ``bold``: lists of file names or paths, a ``.ttc``
face chosen with ``name.ttc#2``; ``emoji``: a file or ``false``; ``dirs``: where to look).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex

from uprbuzz.errors import UprbuzzError

DEFAULT_DIRS = (
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/dejavu",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
)
DEFAULT_STACKS: dict[str, tuple[str, ...]] = {
    "regular": ("NotoSans-Regular.ttf", "NotoSansArabic-Regular.ttf", "NotoSansCJK-Regular.ttc#2",
                "NotoSansSymbols2-Regular.ttf", "NotoSansSymbols-Regular.ttf", "DejaVuSans.ttf"),
    "bold": ("NotoSans-Bold.ttf", "NotoSansArabic-Bold.ttf", "NotoSansCJK-Bold.ttc#2",
             "NotoSansSymbols2-Regular.ttf", "NotoSansSymbols-Bold.ttf", "DejaVuSans-Bold.ttf"),
}
DEFAULT_EMOJI = "NotoColorEmoji.ttf"
EMOJI_STRIKE = 109  # the only pixel size of Noto Color Emoji's bitmaps
INSTALL_HINT = "run scripts/install-fonts.sh (Debian: fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji)"

_EMOJI = regex.compile(r"\p{Extended_Pictographic}|[\U0001F1E6-\U0001F1FF]")
_GRAPHEME = regex.compile(r"\X")
# Joiners and selectors belong to the run they sit in.
_STICKY = {0x200C, 0x200D, 0xFE0E, 0xFE0F, 0x20E3}


class FontError(UprbuzzError, RuntimeError):
    """No usable font (not installed, misconfigured) or Pillow lacks raqm."""


@dataclass(frozen=True)
class Face:
    path: str
    index: int = 0
    emoji: bool = False

    @property
    def label(self) -> str:
        return f"{Path(self.path).name}#{self.index}" if self.index else Path(self.path).name

    def covers(self, cp: int) -> bool:
        return cp in _cmap(self.path, self.index)

    def font(self, size: int) -> Any:
        """The Pillow font; emoji faces only exist at their bitmap strike (scaled when drawn)."""
        return _font(self.path, self.index, EMOJI_STRIKE if self.emoji else size)

    def scale(self, size: int) -> float:
        return size / EMOJI_STRIKE if self.emoji else 1.0


@dataclass(frozen=True)
class Run:
    text: str
    face: Face
    rtl: bool


@dataclass(frozen=True)
class Split:
    runs: tuple[Run, ...]
    removed: str = ""  # characters no face covers (left out, reported)


@dataclass(frozen=True)
class FontStack:
    faces: tuple[Face, ...]
    emoji: Face | None = None
    _memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def key(self) -> list[str]:
        """What identifies the stack's output (for content-addressed card names)."""
        out = []
        for f in (*self.faces, *([self.emoji] if self.emoji else [])):
            st = os.stat(f.path)
            out.append(f"{f.label}:{st.st_size}")
        return out

    def split(self, text: str) -> Split:
        """Runs of ``text`` (logical order), each with the face that draws it."""
        hit = self._memo.get(text)
        if hit is None:
            if len(self._memo) > 20000:  # long-running live sessions: keep memory bounded
                self._memo.clear()
            hit = self._memo[text] = self._split(text)
        return hit

    def _split(self, text: str) -> Split:
        runs: list[list] = []  # [text, face]
        removed: list[str] = []
        cur: Face | None = None
        for g in _GRAPHEME.findall(text):
            if _EMOJI.search(g) and not g.isascii():
                face = self.emoji if self.emoji and self.emoji.covers(ord(g[0])) else None
                if face is None:
                    removed.append(g)
                    continue
            else:
                face = self._pick(g, cur)
                if face is None:
                    removed.append(g)
                    continue
            if runs and runs[-1][1] == face:
                runs[-1][0] += g
            else:
                runs.append([g, face])
            if not face.emoji:
                cur = face
        out = tuple(Run(t, f, is_rtl(t)) for t, f in runs)
        return Split(out, "".join(removed))

    def _pick(self, g: str, cur: Face | None) -> Face | None:
        cps = [ord(c) for c in g if ord(c) not in _STICKY]
        if not cps:
            return cur or (self.faces[0] if self.faces else None)
        neutral = not unicodedata.category(g[0]).startswith(("L", "M"))
        if neutral and cur is not None and all(cur.covers(c) for c in cps):
            return cur  # spaces, digits and punctuation stay in the surrounding run
        for face in self.faces:
            if all(face.covers(c) for c in cps):
                return face
        for face in self.faces:  # a mark the font lacks: draw the base at least
            if face.covers(cps[0]):
                return face
        return None


def is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def paragraph_rtl(text: str) -> bool:
    """Base direction from the first strong character (Unicode bidi rule P2)."""
    for c in text:
        b = unicodedata.bidirectional(c)
        if b == "L":
            return False
        if b in ("R", "AL"):
            return True
    return False


def check_raqm() -> None:
    from PIL import features

    if not features.check("raqm"):
        raise FontError("Pillow was built without raqm (complex text layout), so Arabic and CJK "
                        "cannot be shaped; install libraqm0/libfribidi0 (" + INSTALL_HINT + ")")


def load_stack(spec: Mapping[str, Any] | None, weight: str = "regular",
               root: Path | None = None) -> FontStack:
    """Resolve ``[brand.fonts]`` (or the defaults) to a stack of existing font files."""
    spec = spec or {}
    dirs = [Path(os.path.expanduser(d)) for d in spec.get("dirs", ())] + \
        [Path(os.path.expanduser(d)) for d in DEFAULT_DIRS]
    names = spec.get(weight) or DEFAULT_STACKS.get(weight) or DEFAULT_STACKS["regular"]
    if isinstance(names, str):
        names = [names]
    faces = tuple(f for f in (_resolve(n, dirs, root) for n in names) if f is not None)
    if not faces:
        raise FontError(f"no font of the {weight} stack {list(names)} was found; " + INSTALL_HINT)
    emoji_name = spec.get("emoji", DEFAULT_EMOJI)
    emoji = _resolve(emoji_name, dirs, root, emoji=True) if emoji_name else None
    return FontStack(faces, emoji)


def _resolve(name: str, dirs: Sequence[Path], root: Path | None, emoji: bool = False) -> Face | None:
    index = 0
    if "#" in name:
        name, _, idx = name.rpartition("#")
        index = int(idx)
    p = Path(os.path.expanduser(name))
    candidates = [p] if p.is_absolute() else ([root / p] if root else []) + [d / p for d in dirs]
    for c in candidates:
        if c.is_file():
            return Face(str(c.resolve()), index, emoji)
    return None


@lru_cache(maxsize=64)
def _cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    try:
        if path.lower().endswith((".ttc", ".otc")):
            font = TTCollection(path, lazy=True).fonts[index]
        else:
            font = TTFont(path, lazy=True, fontNumber=index)
        return frozenset(font["cmap"].getBestCmap() or {})
    except Exception as e:  # unreadable font file: a configuration problem
        raise FontError(f"cannot read font {path}: {e}") from e


@lru_cache(maxsize=512)
def _font(path: str, index: int, size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.RAQM)
    except OSError as e:
        raise FontError(f"cannot load font {path} at {size}px: {e}") from e
