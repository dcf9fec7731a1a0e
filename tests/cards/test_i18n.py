"""Cards speak each language natively: CLDR dates, plurals and lists (Babel), fixed words from
gettext catalogs, and a language added by a catalog alone (Portuguese)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.fixtures.cards import CARD_BRAND

pytestmark = pytest.mark.usefixtures("card_fonts")

START = "2020-11-09T14:30+01:00"


def _render(template: str, fields: dict[str, str], size: str = "1600x900", brand=None):
    from uprbuzz.cards import render

    return render(template, fields, size, CARD_BRAND if brand is None else brand)


@pytest.mark.parametrize(("lang", "want"), [
    ("en", "Monday, November 9, 2020"), ("es", "lunes, 9 de noviembre de 2020"),
    ("fr", "lundi 9 novembre 2020"), ("ru", "9 ноября 2020\u202fг."), ("ar", "9 نوفمبر 2020"),
    ("zh", "2020年11月9日"), ("pt", "9 de novembro de 2020"),
])
def test_dates_are_written_as_the_language_writes_them(lang: str, want: str) -> None:
    """Cards printed 2020-11-09 in every language, on the card and in its alt text."""
    for template, fields in (
            ("countdown", {"title": "UPR", "start": START, "today": "2020-11-02"}),
            ("watch-live", {"title": "UPR", "start": START})):
        out = _render(template, {**fields, "lang": lang})
        drawn = " ".join(b["text"] for b in out.report["boxes"].values())
        assert want in drawn, drawn
        assert want in out.alt, out.alt
        assert "2020-11-09" not in drawn and "2020-11-09" not in out.alt


@pytest.mark.parametrize(("lang", "n", "want"), [
    ("ru", 1, "день"), ("ru", 3, "дня"), ("ru", 5, "дней"), ("ru", 21, "день"), ("ru", 12, "дней"),
    ("ar", 1, "يوم واحد"), ("ar", 2, "يومان"), ("ar", 5, "أيام"), ("ar", 11, "يومًا"),
    ("ar", 100, "يوم متبقٍ"), ("fr", 1, "jour "), ("fr", 2, "jours"), ("en", 1, "day to go"),
    ("en", 7, "days to go"), ("es", 1, "día "), ("pt", 1, "dia "), ("pt", 3, "dias"),
])
def test_days_follow_cldr_plural_rules(lang: str, n: int, want: str) -> None:
    from uprbuzz.cards.labels import days_word

    assert want in days_word(n, lang)


def test_chinese_countdown_says_more_than_the_bare_unit() -> None:
    """The Chinese countdown said only '5 天'."""
    out = _render("countdown", {"title": "对美国的审议", "date": "2020-11-09", "today": "2020-11-04",
                                "lang": "zh"})
    label = out.report["boxes"]["label"]["text"]
    assert label != "天" and "审议" in label
    assert out.alt.startswith("5 " + label)


@pytest.mark.parametrize(("lang", "state", "want"), [
    ("ar", "سويسرا؛ رواندا؛ جزر البهاما", "سويسرا ورواندا وجزر البهاما"),
    ("zh", "瑞士；卢旺达；巴哈马", "瑞士、卢旺达和巴哈马"),
    ("fr", "Suisse; Rwanda; Bahamas", "Suisse, Rwanda et Bahamas"),
    ("en", "Switzerland; Rwanda", "Switzerland and Rwanda"),
])
def test_states_are_separated_in_every_script_and_listed_per_language(lang: str, state: str,
                                                                       want: str) -> None:
    """Arabic '؛' and Chinese '；' did not separate States; the list joins as CLDR says."""
    out = _render("recommendation", {"state": state, "text": "نص" if lang == "ar" else "Text",
                                     "lang": lang})
    assert out.report["boxes"]["state"]["text"] == "— " + want
    assert want in out.alt


def test_an_end_past_midnight_is_marked_plus_one() -> None:
    """An end time past midnight in a zone got no '+1'."""
    out = _render("watch-live", {"start": "2020-11-09T14:30+01:00", "end": "2020-11-09T23:30+01:00",
                                 "zones": "Europe/Zurich=Geneva; Asia/Tokyo=Tokyo", "lang": "en"})
    boxes = out.report["boxes"]
    cells = {k: b["text"] for k, b in boxes.items() if k.startswith("cell")}
    assert cells["cell2.1"] == "22:30"  # Tokyo start, same day
    assert cells["cell2.2"] == "07:30 (+1)"  # Tokyo end, the next day
    assert cells["cell1.2"] == "23:30"
    assert "07:30 (+1)" in out.alt


def test_every_catalog_is_complete_and_has_cldr_plural_forms() -> None:
    from uprbuzz.cards import i18n
    from uprbuzz.cards.labels import MSGIDS

    langs = i18n.languages()
    assert {"en", "es", "fr", "ru", "ar", "zh", "pt"} <= set(langs)
    for lang in langs:
        if lang == "en":
            continue
        cat = i18n.catalog(lang)
        for msgid in MSGIDS.values():
            assert (None, msgid) in cat, (lang, msgid)
            assert set(_fields(cat[(None, msgid)][0])) == set(_fields(msgid)), (lang, msgid)
        assert len(cat[(None, "day to go")]) == len(i18n.categories(lang)), lang


def test_the_template_lists_every_message_the_code_uses_and_every_catalog_has_them() -> None:
    import re

    from babel.messages.pofile import read_po

    from uprbuzz.cards import i18n
    from uprbuzz.cards.labels import MSGIDS

    with (i18n.PACKAGE_LOCALES / "messages.pot").open("rb") as fh:
        pot = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fh) if m.id}
    src = Path(__file__).resolve().parents[2] / "src" / "uprbuzz"
    used = {(None, m) for m in MSGIDS.values()}
    used |= {(None, "day to go"), ("quotation", "“{text}”"), ("attribution", "{name}, {role}")}
    site = (src / "toolkit" / "site.py").read_text(encoding="utf-8")
    used |= {("toolkit", m) for m in re.findall(r"\b_\(\s*[\"']([^\"']+)[\"']", site)}
    assert len(used) > 30
    assert used <= pot, sorted(used - pot)
    for lang in i18n.languages():
        if lang != "en":
            assert set(i18n.catalog(lang)) == pot, (lang, set(i18n.catalog(lang)) ^ pot)


def _fields(s: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(s) if f]


def test_portuguese_comes_from_its_catalog_alone() -> None:
    """No code names Portuguese: its words, dates and plurals come from pt.po and CLDR."""
    src = Path(__file__).resolve().parents[2] / "src" / "uprbuzz" / "cards"
    for py in src.rglob("*.py"):
        text = py.read_text(encoding="utf-8")
        assert '"pt"' not in text and "'pt'" not in text, py
    out = _render("countdown", {"title": "Revisão dos Estados Unidos", "start": START,
                                "today": "2020-11-02", "where": "webtv.un.org", "lang": "pt"})
    drawn = {k: b["text"] for k, b in out.report["boxes"].items()}
    assert drawn["label"] == "dias para a revisão"
    assert "segunda-feira, 9 de novembro de 2020" in drawn["title"]
    assert drawn["times"].startswith("A transmissão começa: ")
    assert drawn["where"] == "Ao vivo em webtv.un.org"
    rec = _render("recommendation", {"state": "Suíça; Ruanda; Bahamas", "text": "Ratificar",
                                     "paragraph": "26.1", "lang": "pt-BR"})
    assert rec.report["boxes"]["title"]["text"] == "Recomendação 26.1"
    assert rec.report["boxes"]["state"]["text"] == "— Suíça, Ruanda e Bahamas"


def test_a_new_catalog_folder_adds_a_language(tmp_path: Path, monkeypatch) -> None:
    """A translator's folder (UPRBUZZ_CARD_LOCALES) adds a language with no code change."""
    from uprbuzz.cards import i18n

    (tmp_path / "de.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Recommendation"\nmsgstr "Empfehlung"\n\n'
        'msgid "day to go"\nmsgid_plural "days to go"\nmsgstr[0] "Tag bis zur Überprüfung"\n'
        'msgstr[1] "Tage bis zur Überprüfung"\n', encoding="utf-8")
    monkeypatch.setenv("UPRBUZZ_CARD_LOCALES", str(tmp_path))
    assert "de" in i18n.languages()
    rec = _render("recommendation", {"state": "A; B", "text": "Text", "lang": "de"})
    assert rec.report["boxes"]["title"]["text"] == "Empfehlung"
    assert rec.report["boxes"]["state"]["text"] == "— A und B"
    cd = _render("countdown", {"date": "2020-11-09", "today": "2020-11-06", "lang": "de"})
    assert cd.report["boxes"]["label"]["text"] == "Tage bis zur Überprüfung"
    assert "Montag, 9. November 2020" in cd.report["boxes"]["title"]["text"]
    assert i18n.format_date(date(2020, 11, 9), "de") == "Montag, 9. November 2020"


def test_a_long_text_warns_that_it_is_too_dense_or_too_small_for_a_phone() -> None:
    """A 600-character text was set in 11 dense lines with no warning."""
    text = ("Take all necessary measures to ensure accountability for human rights violations, "
            "including by law enforcement officials, and provide remedies to victims. ") * 12
    out = _render("recommendation", {"state": "Switzerland", "text": text[:600], "lang": "en"},
                  "1080x1080")
    assert out.report["boxes"]["text"]["lines"] > 8
    warn = [w for w in out.warnings if w.startswith("text: ")]
    assert len(warn) == 1 and "dense lines" in warn[0] and "shorten it" in warn[0], out.warnings
    tiny = _render("recommendation", {"state": "Switzerland", "text": text[:1500], "lang": "en"},
                   "1080x1080")
    assert tiny.report["boxes"]["text"]["size"] < 24
    warn = [w for w in tiny.warnings if w.startswith("text: ")]
    assert len(warn) == 1 and "below the 24 px" in warn[0], tiny.warnings
    wide = _render("recommendation", {"state": "Switzerland", "text": text[:1500], "lang": "en"})
    assert any("below the 36 px" in w for w in wide.warnings), wide.warnings
    short = _render("recommendation", {"state": "Switzerland", "text": text[:120], "lang": "en"},
                    "1080x1080")
    assert not short.warnings


def test_zone_names_and_times_stay_together_on_a_line() -> None:
    """'Los / Angeles' and 'Ciudad de México / 07:30' were split across lines."""
    zones = ("Europe/Zurich=Ginebra; America/New_York=Nueva York; "
             "America/Mexico_City=Ciudad de México; America/Los_Angeles=Los Ángeles; "
             "America/Bogota=Bogotá; America/Argentina/Buenos_Aires=Buenos Aires")
    for size in ("1600x900", "1080x1080"):
        out = _render("countdown", {"title": "Examen", "start": START, "today": "2020-11-02",
                                    "zones": zones, "lang": "es"}, size)
        lines = [d["text"] for d in out.report["boxes"]["times"]["drawn"]]
        assert len(lines) == 2, lines
        for name, time_ in (("Ciudad de México", "07:30"), ("Los Ángeles", "05:30"),
                            ("Buenos Aires", "10:30"), ("Nueva York", "08:30")):
            pair = f"{name} {time_}".replace(" ", "\u00a0")
            assert any(pair in ln for ln in lines), (pair, lines)
        assert "Ciudad de México 07:30" in out.alt


def test_with_no_brand_the_card_carries_the_event_line(tmp_path: Path) -> None:
    """With no [brand], a card named no organisation, event or date."""
    from types import SimpleNamespace

    project = SimpleNamespace(brand=None, root=tmp_path, name="UPR Watch: US review 2020")
    fields = {"state": "Suisse; Rwanda", "text": "Ratifier la Convention", "lang": "fr"}
    from uprbuzz.cards import render

    out = render("recommendation", fields, "1600x900", project, today=date(2020, 11, 9))
    footer = out.report["boxes"]["footer"]["text"]
    assert footer == "UPR Watch: US review 2020 · lundi 9 novembre 2020"
    assert out.alt.endswith("UPR Watch: US review 2020 · lundi 9 novembre 2020.")
    branded = render("recommendation", fields, "1600x900", {"handle": "@uprwatch"},
                     today=date(2020, 11, 9))
    assert branded.report["boxes"]["footer"]["text"] == "@uprwatch"


@pytest.mark.parametrize("image", ["", "media/feature.png"])
def test_a_short_arabic_blog_title_keeps_its_size_on_a_square_card(tmp_path: Path,
                                                                    image: str) -> None:
    """An Arabic blog title of 4 words at 1080×1080 shrank to 18 px with an ellipsis (its ink
    1 px over its box)."""
    from types import SimpleNamespace

    from PIL import Image

    (tmp_path / "media").mkdir()
    Image.new("RGB", (900, 600), (90, 120, 150)).save(tmp_path / "media" / "feature.png")
    kit = SimpleNamespace(brand={"handle": "@x"}, root=tmp_path, name="n")
    for title in ("مباشرة من جنيف اليوم", "حقوق الإنسان في العالم"):
        out = _render("blog", {"title": title, "image": image, "lang": "ar",
                               "excerpt": "في 9 نوفمبر تخضع الولايات المتحدة لاستعراضها."},
                      "1080x1080", kit)
        box = out.report["boxes"]["title"]
        assert not box["truncated"] and box["inside"], box
        assert box["size"] >= 60 and box["lines"] == 1, box
        assert not out.warnings
