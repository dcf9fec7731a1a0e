"""The report's words and numbers in the project's language (``[project] lang``).

Its fixed words are a gettext catalog of their own, ``impact/locales/<lang>.po`` (msgid = the
English text), read by the cards' catalog reader (``cards.i18n``: no compile step, plural forms
in CLDR's category order); numbers, money and dates come from CLDR through Babel. A language
without a catalog gets English words with its own number and date formats.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from uprbuzz.cards import i18n

LOCALES = (Path(__file__).parent / "locales",)


def _base(lang: str) -> str:
    """``fr-CA`` reads ``fr_CA.po`` if there is one, else ``fr.po``; else English."""
    tag = lang.strip().replace("-", "_")
    for cand in (tag, tag.split("_")[0].lower()):
        if any((d / f"{cand}.po").is_file() for d in LOCALES):
            return cand
    return i18n.SOURCE


class Words:
    def __init__(self, lang: str | None) -> None:
        self.lang = (lang or i18n.SOURCE).strip() or i18n.SOURCE
        base = _base(self.lang)
        # the cards' reader, pointed at this package's catalogs (one mechanism, two catalogs)
        self._messages = {} if base == i18n.SOURCE else i18n.read_catalog(base, LOCALES)
        self.locale = i18n.locale(self.lang)

    def __call__(self, msgid: str, **kw: Any) -> str:
        forms = self._messages.get((None, msgid))
        text = forms[0] if forms and forms[0] else msgid
        return text.format(**kw) if kw else text

    def n(self, singular: str, plural: str, n: int, **kw: Any) -> str:
        """The form for ``n`` by the language's CLDR plural rules; ``{n}`` is ``n`` formatted."""
        forms = self._messages.get((None, singular))
        if not forms:
            text = singular if n == 1 else plural
        else:
            cats = i18n.categories(self.lang)
            cat = i18n.plural_category(n, self.lang)
            i = cats.index(cat) if cat in cats else len(cats) - 1
            text = forms[min(i, len(forms) - 1)] or forms[-1]
        return text.format(n=self.num(n), **kw)

    # --- CLDR through Babel -------------------------------------------------------------------
    def num(self, v: int | float) -> str:
        from babel.numbers import format_decimal

        return str(format_decimal(v, locale=self.locale))

    def usd(self, v: float) -> str:
        from babel.numbers import format_currency

        # X prices go to a tenth of a cent: keep the digits that matter ($0.015), at least two
        return str(format_currency(round(v, 6), "USD", locale=self.locale,
                                   decimal_quantization=False))

    def day(self, d: date) -> str:
        from babel.dates import format_date

        return str(format_date(d, "medium", locale=self.locale))

    def short_day(self, d: date) -> str:
        """An axis label: '9 Nov', '9 nov.'."""
        from babel.dates import format_skeleton

        return str(format_skeleton("MMMd", d, locale=self.locale))

    def moment(self, dt: datetime) -> str:
        return i18n.format_datetime(dt, self.lang, "long")

    @property
    def rtl(self) -> bool:
        return i18n.is_rtl(self.lang)
