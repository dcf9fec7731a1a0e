"""Languages on cards (and in the partners' toolkit): gettext catalogs and CLDR through Babel.

The fixed words ("Recommendation", "days to go", the quotation marks …) are gettext messages
whose ``msgid`` is the English text. Each language is one catalog, ``<lang>.po``, read directly
(no compile step) from the folders of ``UPRBUZZ_CARD_LOCALES`` (``os.pathsep``-separated, searched
first) and then ``cards/locales/`` in the package. Adding a language is adding a ``.po`` file:
no code names the languages.

Everything that CLDR knows comes from Babel: dates ("lundi 9 novembre 2020"), list separators
("Suisse, Rwanda et Bahamas"), the plural categories (one, few, many … of ``n``) and the writing
direction. A plural message's ``msgstr[i]`` follow the language's CLDR categories in the order
zero, one, two, few, many, other (only those the language has: Russian has one, few, many,
other; Chinese only other); a catalog that gives fewer forms falls back to its last one.

Babel is imported inside functions: ``uprbuzz check`` resolves card fields without it until a
card needs a word.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

PACKAGE_LOCALES = Path(__file__).parent / "locales"
SOURCE = "en"  # the language of the msgids
CATEGORIES = ("zero", "one", "two", "few", "many", "other")  # CLDR's order, used for msgstr[i]
_ENV = "UPRBUZZ_CARD_LOCALES"

Messages = dict[tuple[str | None, str], tuple[str, ...]]


def locale_dirs() -> tuple[Path, ...]:
    extra = [Path(p) for p in os.environ.get(_ENV, "").split(os.pathsep) if p.strip()]
    return (*extra, PACKAGE_LOCALES)


def languages() -> tuple[str, ...]:
    """Every language with a catalog (and English, the source), sorted."""
    found = {SOURCE}
    for d in locale_dirs():
        if d.is_dir():
            found.update(p.stem for p in d.glob("*.po"))
    return tuple(sorted(found))


def _tag(lang: str | None) -> str:
    return (lang or SOURCE).strip().replace("-", "_")


def base(lang: str | None) -> str:
    """The catalog a language tag reads from: ``pt-BR`` → ``pt_BR`` if there is one, else ``pt``;
    a language without a catalog reads English."""
    tag = _tag(lang)
    have = languages()
    for cand in (tag, tag.split("_")[0].lower()):
        if cand in have:
            return cand
    return SOURCE


@lru_cache(maxsize=64)
def read_catalog(lang: str, dirs: tuple[Path, ...]) -> Messages:
    """The translations of ``lang.po`` in the first of ``dirs`` that has one (the cards' and
    the impact report's catalogs are read alike)."""
    from babel.messages.pofile import read_po

    for d in dirs:
        p = d / f"{lang}.po"
        if p.is_file():
            with p.open("rb") as fh:
                cat = read_po(fh, locale=None)
            out: Messages = {}
            for m in cat:
                if not m.id or m.fuzzy:
                    continue
                ids = m.id if isinstance(m.id, (list, tuple)) else (m.id,)
                strs = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
                if any(strs):
                    out[(m.context, ids[0])] = tuple(s or "" for s in strs)
            return out
    return {}


def catalog(lang: str | None) -> Messages:
    b = base(lang)
    return {} if b == SOURCE else read_catalog(b, locale_dirs())


def gettext(msgid: str, lang: str | None, context: str | None = None) -> str:
    forms = catalog(lang).get((context, msgid))
    return forms[0] if forms and forms[0] else msgid


def ngettext(singular: str, plural: str, n: int, lang: str | None,
             context: str | None = None) -> str:
    """The form of a plural message for ``n`` by the language's CLDR plural rules."""
    forms = catalog(lang).get((context, singular))
    if not forms:
        return singular if n == 1 else plural
    cats = categories(lang)
    i = cats.index(plural_category(n, lang)) if plural_category(n, lang) in cats else len(cats) - 1
    form = forms[min(i, len(forms) - 1)]
    return form or forms[-1]


@lru_cache(maxsize=64)
def _locale(tag: str) -> Any:
    from babel import Locale, UnknownLocaleError

    for cand in (tag, tag.split("_")[0]):
        try:
            return Locale.parse(cand)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(SOURCE)


def locale(lang: str | None) -> Any:
    """Babel's Locale for a language tag (English for one CLDR does not know)."""
    return _locale(_tag(lang))


def categories(lang: str | None) -> tuple[str, ...]:
    """The language's CLDR plural categories in catalog order (always ending with 'other')."""
    tags = set(locale(base(lang) if base(lang) != SOURCE else lang).plural_form.tags) | {"other"}
    return tuple(c for c in CATEGORIES if c in tags)


def plural_category(n: int, lang: str | None) -> str:
    return str(locale(base(lang) if base(lang) != SOURCE else lang).plural_form(n))


def format_date(d: date, lang: str | None, form: str = "full") -> str:
    """A date as the language writes it: 'lundi 9 novembre 2020', 'понедельник, 9 ноября 2020 г.'."""
    from babel.dates import format_date as fd

    return str(fd(d, form, locale=locale(lang)))


def format_datetime(dt: datetime, lang: str | None, form: str = "full") -> str:
    """Date and 24-hour time (the UN's clock), in the language."""
    return f"{format_date(dt.date(), lang, form)} {format_time(dt, lang)}"


def format_time(dt: datetime, lang: str | None) -> str:
    """24-hour time in the language's digits and separator ('14:30', '14 h 30' where CLDR says)."""
    from babel.dates import format_skeleton

    return str(format_skeleton("Hm", dt, locale=locale(lang)))


def format_list(items: list[str], lang: str | None) -> str:
    """'A, B and C' with the language's separators ('A، B وC' in Arabic, 'A、B和C' in Chinese)."""
    from babel.lists import format_list as fl

    items = [i for i in items if i]
    return str(fl(items, locale=locale(lang))) if items else ""


def is_rtl(lang: str | None) -> bool:
    return bool(locale(lang).character_order == "right-to-left")


def guess_lang(text: str) -> str:
    """A language for the fixed words when a card names none: from the script of its text."""
    for c in text:
        if not c.isalpha():
            continue
        name = unicodedata.name(c, "")
        if name.startswith("ARABIC"):
            return "ar"
        if name.startswith(("CJK", "HIRAGANA", "KATAKANA")):
            return "zh"
        if name.startswith("CYRILLIC"):
            return "ru"
        if name.startswith("LATIN"):
            return "en"
    return "en"
