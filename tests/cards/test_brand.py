"""Brand kit: WCAG contrast computed at render (a failing kit is an error), colours, logo."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.usefixtures("card_fonts")
REC = {"state": "Somalia", "text": "Consider ratifying all remaining human rights conventions",
       "paragraph": "26.1"}


def test_contrast_ratio_matches_wcag() -> None:
    from uprbuzz.cards.brand import contrast

    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((255, 255, 255), (255, 255, 255)) == pytest.approx(1.0)
    assert contrast((0x76, 0x76, 0x76), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def test_failing_brand_kit_is_rejected_at_render() -> None:
    from uprbuzz.cards import render
    from uprbuzz.cards.brand import BrandError

    with pytest.raises(BrandError, match=r"muted #777777 on background #666666 is 1\.\d+:1"):
        render("recommendation", {**REC, "timestamp": "00:01:00"}, "1600x900",
               {"background": "#666666", "muted": "#777777"})


def test_only_colours_a_card_uses_are_checked() -> None:
    from uprbuzz.cards import render

    # on_accent is never drawn by a recommendation card: a poor value there does not block it.
    out = render("recommendation", REC, "1600x900", {"on_accent": "#FFC845"})
    assert all(r >= 4.5 for r in out.report["contrast"].values())


def test_bad_colour_names_the_key() -> None:
    from uprbuzz.cards import render
    from uprbuzz.cards.brand import BrandError

    with pytest.raises(BrandError, match=r"\[brand\] accent: 'yellowish' is not a colour"):
        render("quote", {"quote": "x"}, "1600x900", {"accent": "yellowish"})


def test_logo_from_media_is_drawn_in_the_footer(tmp_path) -> None:
    from PIL import Image

    from uprbuzz.cards import render
    from uprbuzz.cards.brand import BrandError, load_brand

    (tmp_path / "media").mkdir()
    Image.new("RGBA", (200, 80), (255, 0, 0, 255)).save(tmp_path / "media" / "logo.png")
    kit = load_brand(SimpleNamespace(brand={"logo": "media/logo.png"}, root=tmp_path, name="x"))
    out = render("quote", {"quote": "Hello"}, "1600x900", kit)
    red = [xy for xy in ((x, y) for x in range(1300, 1530, 6) for y in range(760, 830, 4))
           if out.image.getpixel(xy) == (255, 0, 0)]
    assert red, "logo not drawn bottom right"
    with pytest.raises(BrandError, match="not found"):
        load_brand(SimpleNamespace(brand={"logo": "media/nope.png"}, root=tmp_path, name="x"))


def test_colours_may_be_a_sub_table() -> None:
    from uprbuzz.cards.brand import BrandError, load_brand

    kit = load_brand(SimpleNamespace(brand={"colors": {"background": "#102a54", "accent": "#f2b705"}},
                                     root=".", name="x"))
    assert kit.colour("background") == (0x10, 0x2A, 0x54) and kit.colour("accent") == (0xF2, 0xB7, 0x05)
    with pytest.raises(BrandError, match="unknown colour"):
        load_brand(SimpleNamespace(brand={"colors": {"backgroud": "#000000"}}, root=".", name="x"))
