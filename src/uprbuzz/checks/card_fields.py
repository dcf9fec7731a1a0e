"""Share cards, checked without drawing them: template, fields and the values it would refuse.

A card is resolved exactly as the renderer resolves it (``Template.resolve``) with *today* set
to the post's publication day, so a countdown is judged as it will be drawn, not as of the day
``check`` runs. ``uprbuzz.cards.templates`` imports no Pillow; this runs only when a file is
(re-)checked, never on a warm run.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from uprbuzz.model import Card, Diagnostic, Post

if TYPE_CHECKING:
    from uprbuzz.config import Config

CODE = "card"


def card_problem(card: Card, day: date | None, lang: str | None = None) -> str | None:
    """Why the renderer would refuse ``card`` on ``day`` (None: it would not)."""
    from uprbuzz.cards import templates as T

    try:
        t = T.get(card.template)
        if card.size not in T.SIZES:
            return f"size {card.size!r} is not one of {', '.join(T.SIZES)}"
        fields = dict(card.fields)
        if lang and "lang" not in fields:
            fields["lang"] = lang
        if (msg := _value_problem(t, fields)) is not None:
            return msg
        # Without a publication day (an undated draft) a past date cannot be judged yet.
        t.resolve(fields, day or date.min)
    except (ValueError, KeyError) as e:  # TemplateError, and any bare error a template lets out
        msg = str(e)
        if "has passed" in msg and day is not None:
            given = fields.get("date") or fields.get("start", "")
            return (f"the countdown day ({given}) is before {day}, the day this post goes "
                    "out; set days to show a number anyway")
        return msg if isinstance(e, T.TemplateError) else f"template {card.template!r}: {msg}"
    return None


def _value_problem(t: object, fields: dict) -> str | None:
    """Plain words for the values a template reads with int() / date.fromisoformat()."""
    names = {f.name for f in t.fields}  # type: ignore[attr-defined]
    for name in ("date", "today"):
        v = str(fields.get(name) or "").strip()
        if name in names and v:
            try:
                date.fromisoformat(v)
            except ValueError:
                return f"field {name}: {v!r} is not a day (write 2020-11-09)"
    v = str(fields.get("days") or "").strip()
    if "days" in names and v:
        try:
            int(v)
        except ValueError:
            return f"field days: {v!r} is not a whole number"
    return None


def field_problem(spec: dict, extra: tuple[str, ...] = ()) -> str | None:
    """Template and field *names* of a card spec whose values are filled in later (feeds)."""
    from uprbuzz.cards import templates as T

    try:
        t = T.get(str(spec.get("template")))
    except T.TemplateError as e:
        return str(e)
    known = {f.name for f in t.fields} | {"lang", "template", "size", "alt"}
    unknown = sorted(set(spec) - known - set(extra))
    if unknown:
        return (f"template {t.name!r} has no field {', '.join(unknown)} "
                f"(fields: {', '.join(sorted(f.name for f in t.fields))})")
    return None


def check_post(post: Post, config: Config) -> list[Diagnostic]:
    card = post.card
    if card is None:
        return []
    from uprbuzz.cards.templates import TEMPLATES

    if card.template not in TEMPLATES and post.origin == "queue":
        return []  # the queue already names the unknown template at its value
    day = post.at.astimezone(config.zone).date() if post.at is not None else None
    msg = card_problem(card, day, post.langs[0] if post.langs else None)
    if msg is None:
        return []
    if post.source is None:
        return [Diagnostic(post.id, 1, 1, "error", CODE, f"card: {msg}")]
    return [Diagnostic.at(post.source, "error", CODE, f"card: {msg}")]
