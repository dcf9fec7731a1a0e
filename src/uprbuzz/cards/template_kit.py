"""What every card template is made of: fields, the design a template returns, and geometry.

A :class:`Template` names its fields and three functions: ``derive`` completes the values
(defaults, localised labels, computed text), ``design`` places them for one size in a
:class:`Frame`, ``alt`` says in words what the card shows. A :class:`Design` lists text boxes
(each with its colour role and the role it sits on, so contrast can be checked), panels, the
feature image and the logo box. The templates themselves live in ``text_templates`` and
``time_templates``; ``templates`` is the registry everyone imports. No Pillow here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from uprbuzz.cards import labels as L
from uprbuzz.cards.layout import Box, Style
from uprbuzz.errors import UprbuzzError

_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class TemplateError(UprbuzzError, ValueError):
    """Unknown template, missing or malformed field."""


@dataclass(frozen=True)
class Field:
    name: str
    required: bool = False
    default: str = ""
    help: str = ""


@dataclass(frozen=True)
class TextSpec:
    name: str
    box: Box
    style: Style
    weight: str = "regular"
    role: str = "text"  # brand colour of the text
    bg: str = "background"  # brand colour it is drawn on (contrast is checked for the pair)


@dataclass
class Design:
    texts: list[tuple[TextSpec, str]] = field(default_factory=list)
    panels: list[tuple[Box, str]] = field(default_factory=list)  # (box, brand colour role)
    image: tuple[Box, str] | None = None  # feature image (path relative to root), contained
    logo: Box | None = None
    kind: str = "flat"  # flat -> PNG, photo -> JPEG


@dataclass(frozen=True)
class Template:
    name: str
    help: str
    fields: tuple[Field, ...]
    derive: Callable[[dict[str, str], date], None]
    design: Callable[[dict[str, str], Frame], Design]
    alt: Callable[[dict[str, str], str], str]  # (values, footer handle) -> alt text
    main: str  # the field whose script decides direction and default language

    def resolve(self, fields: Mapping[str, Any], today: date | None = None) -> dict[str, str]:
        known = {f.name for f in self.fields}
        unknown = sorted(set(fields) - known - {"lang"})
        if unknown:
            raise TemplateError(f"template {self.name!r} has no field {', '.join(unknown)} "
                                f"(fields: {', '.join(sorted(known))})")
        v = {f.name: as_text(fields.get(f.name, f.default)) for f in self.fields}
        missing = [f.name for f in self.fields if f.required and not v[f.name].strip()]
        if missing:
            raise TemplateError(f"template {self.name!r} needs field {', '.join(missing)}")
        v["lang"] = as_text(fields.get("lang", "")) or L.guess_lang(v[self.main])
        self.derive(v, today or date.today())
        return v


class Frame:
    """Geometry helpers for one size; ``rect`` mirrors horizontally for RTL cards."""

    def __init__(self, w: int, h: int, rtl: bool) -> None:
        self.w, self.h, self.rtl = w, h, rtl
        self.square = w == h
        self.m = 72

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> Box:
        b = Box(round(x0), round(y0), round(x1), round(y1))
        return b.mirrored(self.w) if self.rtl else b

    def footer(self, d: Design, v: dict[str, str], handle: str, x0: float | None = None) -> float:
        """Handle text at the start side, logo at the end side; returns the footer's top."""
        m, top = self.m, self.h - self.m - 56
        x0 = m if x0 is None else x0
        d.logo = self.rect(self.w - m - 220, top, self.w - m, self.h - m)
        if handle:
            d.texts.append((TextSpec("footer", self.rect(x0, top, self.w - m - 240, self.h - m),
                                     text_style(v, 36, 16, max_lines=1, valign="middle"),
                                     "regular", "muted"), handle))
        d.panels.append((self.rect(x0, top - 28, x0 + 140, top - 22), "accent"))
        return top - 40


def stack(top: float, bottom: float, items: list[tuple[str, float | None]], gap: float = 20
          ) -> dict[str, tuple[float, float]]:
    """Vertical slots: fixed heights, and one flexible (None) taking what is left."""
    fixed = sum(h for _, h in items if h is not None) + gap * (len(items) - 1)
    flex = max(40.0, bottom - top - fixed)
    out, y = {}, top
    for name, h in items:
        hh = flex if h is None else h
        out[name] = (y, y + hh)
        y += hh + gap
    return out


def as_text(v: Any) -> str:
    """A field value as text; a list becomes '; '-separated."""
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "; ".join(as_text(x) for x in v)
    return str(v)


def text_style(v: dict[str, str], max_size: int, min_size: int = 18, **kw: Any) -> Style:
    """A style in the card's language and direction."""
    return Style(max_size, min_size, lang=v["lang"], base=v.get("_dir") or None, **kw)


def sentences(*parts: str) -> str:
    """Alt text: the non-empty parts, spaces collapsed (a language's no-break spaces kept, as in
    '9 ноября 2020\u202fг.'), each ending as a sentence."""
    out = []
    for p in parts:
        p = _SPACES.sub(" ", p).strip()
        if p:
            out.append(p if p[-1] in ".!?。！？:：" else p + ".")
    return " ".join(out)
