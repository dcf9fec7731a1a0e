"""Card content in the six UN languages for the golden tests (facts: shared/reference/upr-2020.md)."""

from __future__ import annotations

START, END, TODAY = "2020-11-09T14:30+01:00", "2020-11-09T18:00+01:00", "2020-11-02"

_CITY = {  # Geneva, New York, Los Angeles
    "en": ("Geneva", "New York", "Los Angeles"), "es": ("Ginebra", "Nueva York", "Los Ángeles"),
    "fr": ("Genève", "New York", "Los Angeles"), "ru": ("Женева", "Нью-Йорк", "Лос-Анджелес"),
    "ar": ("جنيف", "نيويورك", "لوس أنجلوس"), "zh": ("日内瓦", "纽约", "洛杉矶"),
}
_REC = {
    "en": ("Switzerland; Rwanda; Bahamas", "Ratify the Convention on the Rights of the Child"),
    "es": ("Suiza; Rwanda; Bahamas", "Ratificar la Convención sobre los Derechos del Niño"),
    "fr": ("Suisse; Rwanda; Bahamas", "Ratifier la Convention relative aux droits de l’enfant"),
    "ru": ("Швейцария; Руанда; Багамские Острова", "Ратифицировать Конвенцию о правах ребенка"),
    "ar": ("سويسرا؛ رواندا؛ جزر البهاما", "التصديق على اتفاقية حقوق الطفل (CRC)"),
    "zh": ("瑞士；卢旺达；巴哈马", "批准《儿童权利公约》"),
}
_QUOTE = {
    "en": ("We will return early next year to provide a more detailed response.",
           "Andrew Bremberg", "US Ambassador in Geneva"),
    "es": ("Volveremos a principios del próximo año para ofrecer una respuesta más detallada.",
           "Andrew Bremberg", "Embajador de los Estados Unidos en Ginebra"),
    "fr": ("Nous reviendrons au début de l’année prochaine pour apporter une réponse plus détaillée.",
           "Andrew Bremberg", "Ambassadeur des États-Unis à Genève"),
    "ru": ("Мы вернемся в начале следующего года, чтобы дать более подробный ответ.",
           "Эндрю Бремберг", "Посол США в Женеве"),
    "ar": ("سنعود في مطلع العام المقبل لتقديم رد أكثر تفصيلاً.", "أندرو بريمبرغ",
           "سفير الولايات المتحدة في جنيف"),
    "zh": ("我们将在明年初回来，提供更详细的答复。", "安德鲁·布伦伯格", "美国驻日内瓦大使"),
}
_TITLE = {
    "en": ("Review of the United States", "Universal Periodic Review: United States"),
    "es": ("Examen de los Estados Unidos", "Examen Periódico Universal: Estados Unidos"),
    "fr": ("Examen des États-Unis", "Examen périodique universel : États-Unis"),
    "ru": ("Обзор по Соединенным Штатам", "Универсальный периодический обзор: США"),
    "ar": ("استعراض الولايات المتحدة", "الاستعراض الدوري الشامل: الولايات المتحدة"),
    "zh": ("对美国的审议", "普遍定期审议：美国"),
}
_BLOG = {
    "en": ("Live from Geneva: The United States Takes Center Stage",
           "On 9 November the United States undergoes its third Universal Periodic Review at the "
           "UN Human Rights Council."),
    "es": ("En directo desde Ginebra: Estados Unidos, en el centro de atención",
           "El 9 de noviembre, Estados Unidos se somete a su tercer Examen Periódico Universal en el "
           "Consejo de Derechos Humanos de la ONU."),
    "fr": ("En direct de Genève : les États-Unis sous les projecteurs",
           "Le 9 novembre, les États-Unis passent leur troisième Examen périodique universel devant "
           "le Conseil des droits de l’homme de l’ONU."),
    "ru": ("Прямой эфир из Женевы: США в центре внимания",
           "9 ноября США проходят третий Универсальный периодический обзор в Совете ООН по правам "
           "человека."),
    "ar": ("مباشرة من جنيف: الولايات المتحدة في دائرة الضوء",
           "في 9 نوفمبر تخضع الولايات المتحدة لاستعراضها الدوري الشامل الثالث في مجلس حقوق الإنسان "
           "التابع للأمم المتحدة."),
    "zh": ("日内瓦直播：美国成为焦点", "11月9日，美国在联合国人权理事会接受第三次普遍定期审议。"),
}
LANGS = tuple(_REC)
TEMPLATES = ("recommendation", "quote", "countdown", "watch-live", "blog")


def zones(lang: str) -> str:
    g, ny, la = _CITY[lang]
    return f"Europe/Zurich={g}; America/New_York={ny}; America/Los_Angeles={la}"


def fields(template: str, lang: str) -> dict[str, str]:
    """The fields of ``template`` in ``lang``."""
    if template == "recommendation":
        state, text = _REC[lang]
        return {"state": state, "text": text, "paragraph": "26.49", "timestamp": "00:41:10",
                "lang": lang}
    if template == "quote":
        q, who, role = _QUOTE[lang]
        return {"quote": q, "attribution": who, "role": role, "lang": lang}
    if template == "countdown":
        return {"title": _TITLE[lang][0], "start": START, "today": TODAY, "zones": zones(lang),
                "where": "webtv.un.org", "lang": lang}
    if template == "watch-live":
        return {"title": _TITLE[lang][1], "start": START, "end": END, "zones": zones(lang),
                "lang": lang}
    if template == "blog":
        title, excerpt = _BLOG[lang]
        out = {"title": title, "excerpt": excerpt, "site": "The Advocates for Human Rights",
               "lang": lang}
        if lang in ("en", "ar"):  # photo cards (JPEG) with a feature image
            out.update(image="media/feature.png", image_alt="A gradient standing in for a photo")
        return out
    raise KeyError(template)


def content(template: str, lang: str) -> list[str]:
    """Strings the alt text must contain (the card's content, not 'image')."""
    f = fields(template, lang)
    keys = {"recommendation": ("text", "paragraph", "timestamp"),
            "quote": ("quote", "attribution", "role"), "countdown": ("title",),
            "watch-live": ("title",), "blog": ("title", "excerpt", "site")}[template]
    out = [f[k] for k in keys]
    if template == "recommendation":
        out += [s.strip() for s in f["state"].replace("؛", ";").replace("；", ";").split(";")]
    if template in ("countdown", "watch-live"):
        out += [z.split("=")[1] for z in f["zones"].split("; ")] + ["14:30", "08:30", "05:30"]
    if template == "countdown":
        out.append("7")
    return out


# One-character edits to a golden card's fields, and the text boxes each must change: the golden
# comparison has to catch every one (test_golden.test_one_changed_character_fails_its_golden).
# (template, lang, field, old, new, boxes that show the change)
MUTATIONS: tuple[tuple[str, str, str, str, str, frozenset[str]], ...] = (
    ("recommendation", "en", "paragraph", "26.49", "26.48", frozenset({"title"})),
    ("recommendation", "en", "timestamp", "00:41:10", "00:41:19", frozenset({"when"})),
    ("recommendation", "en", "state", "Rwanda", "Rwonda", frozenset({"state"})),
    ("recommendation", "ar", "paragraph", "26.49", "26.46", frozenset({"title"})),
    ("quote", "en", "attribution", "Bremberg", "Bremburg", frozenset({"by"})),  # no digit
    ("quote", "zh", "quote", "明年", "今年", frozenset({"quote"})),
    ("countdown", "en", "today", "2020-11-02", "2020-11-03", frozenset({"number"})),
    ("countdown", "en", "start", "T14:30", "T15:30", frozenset({"times"})),
    ("watch-live", "en", "start", "T14:30", "T15:30",
     frozenset({"cell1.1", "cell2.1", "cell3.1"})),
    ("watch-live", "en", "end", "T18:00", "T18:01", frozenset({"cell1.2", "cell2.2", "cell3.2"})),
    ("watch-live", "ru", "start", "T14:30", "T14:35",
     frozenset({"cell1.1", "cell2.1", "cell3.1"})),
    ("blog", "en", "excerpt", "On 9 November", "On 8 November", frozenset({"excerpt"})),
    ("blog", "ar", "excerpt", "في 9 نوفمبر", "في 6 نوفمبر", frozenset({"excerpt"})),
)


def mutated(template: str, lang: str, field: str, old: str, new: str) -> dict[str, str]:
    """The golden fields of ``template`` in ``lang`` with ``old`` replaced once in ``field``."""
    f = fields(template, lang)
    assert f[field].count(old) == 1, f"{template}-{lang}: {old!r} is not once in {field}"
    f[field] = f[field].replace(old, new)
    return f
