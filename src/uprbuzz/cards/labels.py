"""Fixed words on cards, from the gettext catalogs of ``cards/locales`` (see ``i18n``).

A field of the same name overrides each on a card (``heading``, ``label``). The msgids below are
the English words; every other language is a ``.po`` catalog, so a language is added by a
translator without touching this code.
"""

from __future__ import annotations

from datetime import date

from uprbuzz.cards import i18n
from uprbuzz.cards.i18n import base, guess_lang, is_rtl

__all__ = ["MSGIDS", "POSITION_WORDS", "base", "count_text", "counts_sentence", "date_text",
           "days_word", "guess_lang", "is_rtl", "label", "people", "position", "quote", "states"]

MSGIDS: dict[str, str] = {
    "recommendation": "Recommendation",
    "watch_live": "Watch live",
    "start": "Start",
    "end": "End",
    "webcast_at": "{t} into the webcast",
    "webcast_starts": "Webcast starts",
    "watch_on": "Watch on {where}",
    "today": "Today",
    "responses_to": "Responses to {n} recommendations",
}
# The State's positions on a recommendation (uprbuzz.upr_record), as words in a sentence
# ("The US noted …"): gettext context "position"; the card's badge uses the same words.
POSITION_WORDS: dict[str, str] = {
    "supported": "supported",
    "noted": "noted",
    "supported in part": "supported in part",
    "pending": "pending",
}
# Recommending States may be separated by the separators people type in each script.
STATE_SEPARATORS = (";", "؛", "；")


def label(key: str, lang: str | None, **kw: str) -> str:
    return i18n.gettext(MSGIDS[key], lang).format(**kw)


def quote(text: str, lang: str | None) -> str:
    return i18n.gettext("“{text}”", lang, "quotation").format(text=text.strip())


def days_word(n: int, lang: str | None) -> str:
    """'days to go' in the plural form CLDR gives ``n`` in the language."""
    return i18n.ngettext("day to go", "days to go", n, lang)


def people(name: str, role: str, lang: str | None) -> str:
    """Who said it: 'name, role' with the language's comma; either may be empty."""
    name, role = name.strip(), role.strip()
    if name and role:
        return i18n.gettext("{name}, {role}", lang, "attribution").format(name=name, role=role)
    return name or role


def states(value: str) -> list[str]:
    """The States of a 'Switzerland; Rwanda' field (also split at Arabic ؛ and Chinese ；)."""
    for sep in STATE_SEPARATORS[1:]:
        value = value.replace(sep, ";")
    return [s.strip() for s in value.split(";") if s.strip()]


def date_text(d: date, lang: str | None) -> str:
    """A date on a card and in its alt text, as the language writes it."""
    return i18n.format_date(d, lang)


def position(key: str, lang: str | None) -> str:
    """A position (``supported``, ``noted``, ``supported in part``, ``pending``) in words."""
    if key not in POSITION_WORDS:
        raise KeyError(key)
    return i18n.gettext(POSITION_WORDS[key], lang, "position")


def count_text(key: str, n: int, lang: str | None) -> str:
    """'183 supported' in the language (context ``count``: 'acceptées : 183', '支持：183 项')."""
    return i18n.gettext("{n} " + POSITION_WORDS[key], lang, "count").format(n=n)


def counts_sentence(counts: dict[str, int], lang: str | None) -> str:
    """'183 supported, 140 noted and 24 supported in part' (positions with a count, listed
    as the language lists)."""
    return i18n.format_list([count_text(k, n, lang) for k, n in counts.items() if n], lang)
