"""Card templates: the registry, the card sizes, and the names other modules import.

A template turns field values into a :class:`Design` for one size: text boxes (each with its
colour role and the role it sits on, so contrast can be checked), panels, images, the logo box,
and alt text built from everything the card shows. Layouts mirror for right-to-left cards.

The machinery (Template, Field, Design, Frame) is in ``template_kit``; the templates are in
``text_templates`` (recommendation, quote, blog), ``time_templates`` (countdown, watch-live) and
``record_templates`` (response, summary).
Imports no Pillow: ``uprbuzz check`` resolves card fields through this module.
"""

from __future__ import annotations

from uprbuzz.cards import labels as L
from uprbuzz.cards.fonts import paragraph_rtl
from uprbuzz.cards.record_templates import RESPONSE, SUMMARY
from uprbuzz.cards.template_kit import (
    Design,
    Field,
    Frame,
    Template,
    TemplateError,
    TextSpec,
    stack,
)
from uprbuzz.cards.text_templates import BLOG, QUOTE, RECOMMENDATION
from uprbuzz.cards.time_templates import COUNTDOWN, DEFAULT_ZONES, WATCH_LIVE

__all__ = ["DEFAULT_ZONES", "SIZES", "TEMPLATES", "Design", "Field", "Frame", "Template",
           "TemplateError", "TextSpec", "get", "is_rtl", "stack"]

SIZES = {"1600x900": (1600, 900), "1080x1080": (1080, 1080)}

# The order they were defined in before the split (dict order is visible to callers); the
# templates after the review (record_templates) come last.
TEMPLATES: dict[str, Template] = {t.name: t for t in (
    RECOMMENDATION, QUOTE, COUNTDOWN, WATCH_LIVE, BLOG, RESPONSE, SUMMARY)}


def get(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise TemplateError(f"unknown card template {name!r} "
                            f"(templates: {', '.join(sorted(TEMPLATES))})") from None


def is_rtl(v: dict[str, str], t: Template) -> bool:
    return L.is_rtl(v["lang"]) or paragraph_rtl(v[t.main])
