"""Fixed words on cards in the six UN languages (a field of the same name overrides each)."""

from __future__ import annotations

import unicodedata

LANGS = ("en", "es", "fr", "ru", "ar", "zh")

LABELS: dict[str, dict[str, str]] = {
    "recommendation": {"en": "Recommendation", "es": "Recomendación", "fr": "Recommandation",
                       "ru": "Рекомендация", "ar": "توصية", "zh": "建议"},
    "watch_live": {"en": "Watch live", "es": "Véalo en directo", "fr": "Suivez en direct",
                   "ru": "Смотрите в прямом эфире", "ar": "شاهدوا البث المباشر", "zh": "观看直播"},
    "start": {"en": "Start", "es": "Inicio", "fr": "Début", "ru": "Начало", "ar": "البداية",
              "zh": "开始"},
    "end": {"en": "End", "es": "Fin", "fr": "Fin", "ru": "Конец", "ar": "النهاية", "zh": "结束"},
    "webcast_at": {"en": "{t} into the webcast", "es": "{t} desde el inicio de la transmisión",
                   "fr": "{t} après le début de la retransmission", "ru": "{t} от начала трансляции",
                   "ar": "عند {t} من بداية البث", "zh": "直播开始后 {t}"},
    "webcast_starts": {"en": "Webcast starts", "es": "La transmisión empieza",
                       "fr": "Début de la retransmission", "ru": "Начало трансляции",
                       "ar": "يبدأ البث", "zh": "直播开始时间"},
    "watch_on": {"en": "Watch on {where}", "es": "En directo en {where}", "fr": "En direct sur {where}",
                 "ru": "Трансляция на {where}", "ar": "البث على {where}", "zh": "观看地址：{where}"},
    "today": {"en": "Today", "es": "Hoy", "fr": "Aujourd’hui", "ru": "Сегодня", "ar": "اليوم",
              "zh": "今天"},
}
QUOTES = {"en": ("“", "”"), "es": ("«", "»"), "fr": ("« ", " »"), "ru": ("«", "»"),
          "ar": ("«", "»"), "zh": ("“", "”")}


def base(lang: str | None) -> str:
    l2 = (lang or "en").split("-")[0].split("_")[0].lower()
    return l2 if l2 in LANGS else "en"


def label(key: str, lang: str | None, **kw: str) -> str:
    table = LABELS[key]
    return table.get(base(lang), table["en"]).format(**kw)


def quote(text: str, lang: str | None) -> str:
    o, c = QUOTES.get(base(lang), QUOTES["en"])
    return f"{o}{text.strip()}{c}"


def days_word(n: int, lang: str | None) -> str:
    """'days to go' with each language's plural forms."""
    b = base(lang)
    if b == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return "день до обзора"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "дня до обзора"
        return "дней до обзора"
    if b == "ar":
        if n == 1:
            return "يوم واحد متبقٍ"
        if n == 2:
            return "يومان متبقيان"
        if 3 <= n % 100 <= 10:
            return "أيام متبقية"
        return "يومًا متبقيًا" if 11 <= n % 100 <= 99 else "يوم متبقٍ"
    forms = {"en": ("day to go", "days to go"), "es": ("día para el examen", "días para el examen"),
             "fr": ("jour avant l’examen", "jours avant l’examen"), "zh": ("天", "天")}[b]
    return forms[0] if (n == 1 or (b == "fr" and n == 0)) else forms[1]


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
