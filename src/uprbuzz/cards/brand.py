"""The brand kit (``[brand]`` in uprbuzz.toml) and the WCAG contrast check.

Every text colour a card uses is checked against the colour it is drawn on when the card is
rendered; a kit below 4.5:1 (WCAG 2.x AA for normal text) is an error naming the key to change.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uprbuzz.cards.fonts import FontStack, load_stack
from uprbuzz.errors import UprbuzzError

AA = 4.5
RGB = tuple[int, int, int]

DEFAULTS: dict[str, str] = {
    "background": "#0B2A4A",  # deep navy
    "surface": "#12385F",  # panels (tables, image frame)
    "text": "#FFFFFF",
    "muted": "#C9D7E8",
    "accent": "#FFC845",
    "on_accent": "#0B2A4A",  # text on an accent-coloured badge
}
COLOUR_KEYS = tuple(DEFAULTS)


class BrandError(UprbuzzError, ValueError):
    """A brand kit that cannot be used (bad colour, failing contrast, missing logo or font)."""


@dataclass(frozen=True)
class Brand:
    colours: Mapping[str, RGB]
    root: Path
    name: str = ""
    handle: str = ""
    logo: Path | None = None
    fonts: Mapping[str, Any] = field(default_factory=dict)
    min_contrast: float = AA

    def colour(self, role: str) -> RGB:
        return self.colours[role]

    def stack(self, weight: str) -> FontStack:
        return _stack(_freeze(self.fonts), weight, self.root)

    def check_contrast(self, pairs: set[tuple[str, str]]) -> dict[str, float]:
        """Contrast of each (text role, background role); BrandError if any is below AA."""
        out, bad = {}, []
        for fg, bg in sorted(pairs):
            ratio = contrast(self.colours[fg], self.colours[bg])
            out[f"{fg}/{bg}"] = round(ratio, 2)
            if ratio < self.min_contrast:
                bad.append(f"{fg} {_hex(self.colours[fg])} on {bg} {_hex(self.colours[bg])} is "
                           f"{ratio:.2f}:1")
        if bad:
            raise BrandError(
                "uprbuzz.toml [brand]: text contrast below WCAG AA "
                f"({self.min_contrast}:1 needed): " + "; ".join(bad)
                + ". Change these colours so text stays readable.")
        return out

    def key(self) -> dict[str, Any]:
        """Everything about the kit that changes pixels (for content-addressed names)."""
        return {
            "colours": {k: _hex(v) for k, v in sorted(self.colours.items())},
            "name": self.name, "handle": self.handle,
            "logo": _file_digest(self.logo) if self.logo else None,
            "fonts": {w: self.stack(w).key() for w in ("regular", "bold")},
            "emoji": bool(self.stack("regular").emoji),
        }


def load_brand(config: Any) -> Brand:
    """The kit from ``config.brand`` over the defaults; raises BrandError with the key at fault."""
    raw: Mapping[str, Any] = getattr(config, "brand", None) or {}
    root = Path(getattr(config, "root", "."))
    given = {**dict(raw.get("colors") or {}), **dict(raw.get("colours") or {}),
             **{k: raw[k] for k in COLOUR_KEYS if k in raw}}
    unknown = sorted(set(given) - set(COLOUR_KEYS))
    if unknown:
        raise BrandError(f"uprbuzz.toml [brand]: unknown colour {', '.join(unknown)} "
                         f"(colours: {', '.join(COLOUR_KEYS)})")
    colours = {}
    for k in COLOUR_KEYS:
        v = given.get(k, DEFAULTS[k])
        try:
            colours[k] = parse_colour(v)
        except ValueError as e:
            raise BrandError(f"uprbuzz.toml [brand] {k}: {e}") from None
    logo = None
    if raw.get("logo"):
        logo = (root / str(raw["logo"])).resolve()
        if not logo.is_relative_to(root.resolve()):
            raise BrandError(f"uprbuzz.toml [brand] logo: {raw['logo']} is outside the project")
        if not logo.is_file():
            raise BrandError(f"uprbuzz.toml [brand] logo: {raw['logo']} not found")
    return Brand(colours, root, str(raw.get("name", getattr(config, "name", ""))),
                 str(raw.get("handle", "")), logo, dict(raw.get("fonts", {})),
                 float(raw.get("min_contrast", AA)))


def parse_colour(v: Any) -> RGB:
    s = str(v).strip().lstrip("#")
    if len(s) == 3:
        s = "".join(c * 2 for c in s)
    if len(s) != 6 or any(c not in "0123456789abcdefABCDEF" for c in s):
        raise ValueError(f"{v!r} is not a colour (write it as #RRGGBB)")
    return (int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16))


def luminance(c: RGB) -> float:
    def ch(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = (ch(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _hex(c: RGB) -> str:
    return f"#{c[0]:02X}{c[1]:02X}{c[2]:02X}"


def _freeze(m: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in m.items()))


_STACKS: dict[tuple, FontStack] = {}


def _stack(frozen: tuple, weight: str, root: Path) -> FontStack:
    k = (frozen, weight, str(root))
    if k not in _STACKS:
        _STACKS[k] = load_stack(dict(frozen), weight, root)
    return _STACKS[k]


_DIGESTS: dict[tuple, str] = {}


def _file_digest(p: Path) -> str:
    st = os.stat(p)
    k = (str(p), st.st_mtime_ns, st.st_size)
    if k not in _DIGESTS:
        _DIGESTS[k] = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
    return _DIGESTS[k]
