"""Share cards: branded, accessible images rendered with Pillow (raqm for Arabic and CJK).

    render_card(card, config) -> Media        # media/rendered/<hash>.png|jpg, cached
    with_rendered_card(post, config) -> Post  # the card prepended to part 1's media
    render(template, fields, size, brand) -> Rendered(image, alt, report)   # in memory

Pillow is imported only inside functions: importing this package costs nothing, but the
publish path should still import it only for posts that carry a card.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from uprbuzz.model import Card, Media, Post

if TYPE_CHECKING:
    from uprbuzz.cards.renderer import Rendered
    from uprbuzz.config import Config

log = logging.getLogger("uprbuzz.cards")
RENDERED_DIR = "rendered"  # under config.media_dir


def render(template: str, fields: Mapping[str, Any], size: str = "1600x900", brand: Any = None,
           **kw: Any) -> Rendered:
    from uprbuzz.cards.renderer import render as _render

    return _render(template, fields, size, brand, **kw)


def render_card(card: Card, config: Config, *, platforms: tuple[str, ...] | None = None,
                today: date | None = None) -> Media:
    """Render (or reuse) ``card`` as ``media/rendered/<hash>.<png|jpg>``; Media with alt and size."""
    from uprbuzz.cards.brand import load_brand
    from uprbuzz.cards.encode import budget_for, encode
    from uprbuzz.cards.renderer import card_key, design
    from uprbuzz.cards.renderer import render as _render

    brand = load_brand(config)
    today = today or _today(config)
    t, values, d = design(card.template, card.fields, card.size, brand, today)
    budget = budget_for(config, platforms)
    key = card_key(card.template, values, card.size, brand) + f"-{budget}"
    folder = config.root / config.media_dir / RENDERED_DIR
    alt = card.alt if card.alt else t.alt(values, values["_handle"])
    for ext in ("png", "jpg"):
        path = folder / f"{key}.{ext}"
        if path.is_file():
            w, h = _dimensions(path)
            return Media(_rel(path, config), alt, width=w, height=h)
    out = _render(card.template, card.fields, card.size, brand, today=today)
    for warning in out.warnings:
        log.warning("card %s: %s", card.template, warning)
    enc = encode(out.image, out.kind, budget)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.{enc.ext}"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(enc.data)
    os.replace(tmp, path)  # atomic: a concurrent renderer writes the same bytes
    return Media(_rel(path, config), alt, width=enc.width, height=enc.height)


def with_rendered_card(post: Post, config: Config) -> Post:
    """``post`` with its card rendered and prepended to part 1's media (and to overrides)."""
    if post.card is None or not post.parts:
        return post
    card = post.card
    if "lang" not in card.fields and post.langs:
        card = replace(card, fields={**card.fields, "lang": post.langs[0]})
    media = replace(render_card(card, config, platforms=post.targets or None), loc=post.source)

    def prepend(items: tuple[Media, ...]) -> tuple[Media, ...]:
        return items if any(m.path == media.path for m in items) else (media, *items)

    first = post.parts[0]
    parts = (replace(first, media=prepend(first.media)), *post.parts[1:])
    overrides = {}
    for name, ov in post.overrides.items():
        if ov.media is not None:
            ov = replace(ov, media=prepend(ov.media))
        if ov.parts:
            ov = replace(ov, parts=(replace(ov.parts[0], media=prepend(ov.parts[0].media)),
                                    *ov.parts[1:]))
        overrides[name] = ov
    return replace(post, parts=parts, overrides=overrides)


def _today(config: Config) -> date:
    from uprbuzz.clock import default_clock

    return default_clock().now().astimezone(config.zone).date()


def _dimensions(path: Any) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.width, im.height


def _rel(path: Any, config: Config) -> str:
    return path.relative_to(config.root).as_posix()


__all__ = ["render", "render_card", "with_rendered_card", "RENDERED_DIR"]
