"""The cards after the review, in the six UN languages and both sizes: ``response`` (the
recommendation, its States, the position as a badge, the paragraph key and link) and
``summary`` (counts by position as a bar chart whose alt text states the numbers). Checked
without goldens: size, every box drawn inside itself and not cut, the words of the language,
bars as long as their counts, right-to-left Arabic."""

from __future__ import annotations

import pytest

from tests.cards.golden import outside
from tests.fixtures.cards import CARD_BRAND

pytestmark = pytest.mark.usefixtures("card_fonts")

LANGS = ("en", "fr", "es", "ru", "ar", "zh")
LINK = "https://docs.un.org/en/A/HRC/46/15"
# (States, recommendation, the "noted" badge) in each language
REC = {
    "en": ("Slovakia; Slovenia", "Consider ratifying all remaining human rights conventions",
           "Noted"),
    "fr": ("Slovaquie; Slovénie", "Envisager de ratifier toutes les conventions relatives aux "
           "droits de l’homme", "Notée"),
    "es": ("Eslovaquia; Eslovenia", "Considerar la posibilidad de ratificar todas las "
           "convenciones de derechos humanos", "Anotada"),
    "ru": ("Словакия; Словения", "Рассмотреть вопрос о ратификации всех остальных конвенций "
           "по правам человека", "Принята к сведению"),
    "ar": ("سلوفاكيا؛ سلوفينيا", "النظر في التصديق على جميع اتفاقيات حقوق الإنسان المتبقية",
           "أُحيط بها علماً"),
    "zh": ("斯洛伐克；斯洛文尼亚", "考虑批准所有其余的人权公约", "注意到"),
}
COUNTS = "supported=183; noted=140; supported in part=24"


def _render(template: str, fields: dict[str, str], size: str = "1600x900"):  # type: ignore[no-untyped-def]
    from uprbuzz.cards import render

    return render(template, fields, size, CARD_BRAND, inspect=True)


def _sound(out, size: tuple[int, int]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every box drawn, inside itself, nothing cut or left out; -> each box's text."""
    assert out.image.size == size
    assert out.kind == "flat" and not out.warnings, out.warnings
    for name, box in out.report["boxes"].items():
        assert box["text"].strip() and not box["truncated"] and not box["removed"], name
        assert out.layers[name].getbbox() is not None, f"{name}: nothing drawn"
        assert outside(out.layers[name], box["box"]) == 0, f"{name}: ink outside its box"
    return {k: v["text"] for k, v in out.report["boxes"].items()}


@pytest.mark.parametrize("size", [(1600, 900), (1080, 1080)])
@pytest.mark.parametrize("lang", LANGS)
def test_response_card(lang: str, size: tuple[int, int]) -> None:
    states, text, badge = REC[lang]
    out = _render("response", {"state": states, "text": text, "position": "noted",
                               "paragraph": "26.1", "doc": "A/HRC/46/15", "link": LINK,
                               "lang": lang}, f"{size[0]}x{size[1]}")
    boxes = _sound(out, size)
    assert set(boxes) == {"badge", "title", "text", "state", "source", "footer"}
    assert boxes["badge"] == badge and boxes["text"] == text
    assert boxes["source"] == "A/HRC/46/15 ¶26.1 · docs.un.org/en/A/HRC/46/15"
    assert out.report["rtl"] == (lang == "ar")
    first, second = (s.strip() for s in states.replace("؛", ";").replace("；", ";").split(";"))
    assert first in boxes["state"] and second in boxes["state"]
    for s in (text, badge, first, second, "A/HRC/46/15 ¶26.1", LINK):
        assert s in out.alt, (s, out.alt)
    # the badge sits on its panel at the end of the title row (the start side for Arabic)
    bx = out.report["boxes"]["badge"]["box"]
    title = out.report["boxes"]["title"]["box"]
    assert (bx[0] > title[2]) == (lang != "ar") and (bx[2] < title[0]) == (lang == "ar")
    assert out.report["boxes"]["badge"]["bg"] == "muted"


def test_each_position_has_its_badge_and_a_bad_one_is_refused() -> None:
    from uprbuzz.cards.template_kit import TemplateError

    seen = {}
    for pos, words in (("supported", "Supported"), ("Supported in part", "Supported in part"),
                       ("noted", "Noted"), ("", "Pending")):
        out = _render("response", {"state": "Ghana", "text": "Ratify the CRC", "position": pos})
        seen[words] = (out.report["boxes"]["badge"]["text"], out.report["boxes"]["badge"]["bg"])
        assert f"{words}." in out.alt
    assert {w: t for w, (t, _) in seen.items()} == {w: w for w in seen}
    assert len({bg for _, bg in seen.values()}) == 3  # supported (in part), noted, pending
    with pytest.raises(TemplateError, match="'refused' is not a position"):
        _render("response", {"state": "Ghana", "text": "Ratify", "position": "refused"})


@pytest.mark.parametrize("size", [(1600, 900), (1080, 1080)])
@pytest.mark.parametrize("lang", LANGS)
def test_summary_card_draws_the_counts_as_bars(lang: str, size: tuple[int, int]) -> None:
    out = _render("summary", {"counts": COUNTS, "doc": "A/HRC/46/15/Add.1", "lang": lang},
                  f"{size[0]}x{size[1]}")
    boxes = _sound(out, size)
    assert [boxes[f"count{i}"] for i in range(3)] == ["183", "140", "24"]
    assert "347" in boxes["title"] and boxes["doc"] == "A/HRC/46/15/Add.1"
    # the alt text states every number, in the card's language
    for s in ("347", "183", "140", "24", "A/HRC/46/15/Add.1"):
        assert s in out.alt, out.alt
    from uprbuzz.cards.labels import count_text

    for key, n in (("supported", 183), ("noted", 140), ("supported in part", 24)):
        assert count_text(key, n, lang) in out.alt, out.alt  # 'notées : 140', '注意到：140 项'
    assert lang == "en" or "noted" not in out.alt
    # three bars as long as their counts (the number sits right after its bar's end)
    from uprbuzz.cards.renderer import design

    _, _, d = design("summary", {"counts": COUNTS, "lang": lang}, f"{size[0]}x{size[1]}",
                     _brand(), None)
    widths = sorted((b.w for b, _ in d.panels if b.h > 20), reverse=True)  # not the footer rule
    assert len(widths) == 3
    assert abs(widths[1] / widths[0] - 140 / 183) < 0.02 and abs(widths[2] / widths[0] - 24 / 183) < 0.02


def _brand():  # type: ignore[no-untyped-def]
    from uprbuzz.cards.renderer import as_brand

    return as_brand(CARD_BRAND)


@pytest.mark.parametrize(("counts", "words"), [
    ("supported=183; rejected=x", "needs a whole number"),
    ("supported=0", "nothing to draw"),
    ("refused=3", "'refused' is not a position"),
])
def test_summary_counts_that_cannot_be_drawn_are_refused(counts: str, words: str) -> None:
    from uprbuzz.cards.template_kit import TemplateError

    with pytest.raises(TemplateError, match=words):
        _render("summary", {"counts": counts})


def test_a_recommendation_card_without_a_link_is_unchanged() -> None:
    """The record link is a new optional field: cards that don't use it resolve to the same
    values (so the same content address and pixels) as before it existed."""
    from uprbuzz.cards.renderer import card_key, resolve

    fields = {"state": "Slovakia", "text": "Abolish the death penalty", "paragraph": "26.46",
              "timestamp": "00:41:10", "lang": "en"}
    _, values = resolve("recommendation", fields, _brand())
    assert "link" not in values
    _, linked = resolve("recommendation", {**fields, "link": LINK}, _brand())
    assert card_key("recommendation", values, "1600x900", _brand()) != card_key(
        "recommendation", linked, "1600x900", _brand())
    out = _render("recommendation", {**fields, "link": LINK})
    assert out.report["boxes"]["when"]["text"] == "00:41:10 into the webcast · docs.un.org/en/A/HRC/46/15"
    assert out.alt.endswith(f"00:41:10 into the webcast. {LINK}. @uprwatch.bsky.social.")
