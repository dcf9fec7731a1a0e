"""Text fitting: shrink before cutting, CJK breaks per character, RTL, emoji, missing glyphs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("card_fonts")


def _m(weight: str = "regular", **spec):
    from uprbuzz.cards.fonts import load_stack
    from uprbuzz.cards.layout import Measurer

    return Measurer(load_stack(spec or None, weight))


def _fit(text: str, w: int = 600, h: int = 200, max_size: int = 80, min_size: int = 16, m=None, **kw):
    from uprbuzz.cards.layout import Box, Style, fit

    box = Box(10, 10, 10 + w, 10 + h)
    return fit(text, box, Style(max_size, min_size, **kw), m or _m()), box


def test_short_text_gets_the_largest_size_and_long_text_shrinks() -> None:
    short, _ = _fit("Hello")
    long, _ = _fit("Take all necessary measures to ensure accountability " * 3)
    assert short.size == 80
    assert 16 <= long.size < short.size
    assert not long.truncated and long.report()["inside"]


def test_binary_search_finds_the_largest_fitting_size() -> None:
    from uprbuzz.cards.layout import Style, fit

    text = "Consider ratifying all remaining human rights conventions"
    block, box = _fit(text)
    bigger = fit(text, box, Style(block.size + 1, block.size + 1), _m())
    assert bigger.truncated or bigger.size < block.size + 1 or not bigger.report()["inside"]


def test_ellipsis_only_as_last_resort_and_reported() -> None:
    block, box = _fit("word " * 400, w=300, h=60, max_size=40, min_size=20)
    assert block.truncated
    assert block.lines and block.lines[-1].pieces[-1].text.endswith("…")
    assert block.report()["inside"]
    assert block.ink[3] <= box.y1 and block.ink[2] <= box.x1


def test_cjk_breaks_between_characters_and_keeps_closing_punctuation() -> None:
    text = "批准《儿童权利公约》，并采取有效措施保护所有儿童的权利。" * 2
    block, _ = _fit(text, w=500, h=400, max_size=60, min_size=40)
    assert len(block.lines) > 1 and not block.truncated and not block.broken_words
    starts = ["".join(p.text for p in line.pieces)[:1] for line in block.lines]
    assert not any(s in "，。、》」" for s in starts), starts


def test_arabic_is_shaped_right_to_left() -> None:
    block, box = _fit("التصديق على اتفاقية حقوق الطفل", w=1200, max_size=60)
    piece = block.lines[0].pieces[0]
    assert piece.rtl and piece.face.label.startswith("NotoSansArabic")
    assert block.ink[2] >= box.x1 - 6  # starts at the right
    # raqm joins the letters: shaped Arabic is narrower than its isolated forms.
    m = _m()
    joined = m.width("حقوق", 60)
    isolated = sum(m.width(c, 60) for c in "حقوق")
    assert joined < isolated


def test_mixed_arabic_and_latin_keep_their_order() -> None:
    block, _ = _fit("اتفاقية (CRC) الطفل", w=1200, max_size=60)
    pieces = block.lines[0].pieces
    latin = next(p for p in pieces if "CRC" in p.text)
    arabic = [p for p in pieces if p.rtl and p.text.strip()]
    # visual: "الطفل" left of "(CRC)", "اتفاقية" right of it
    assert any(p.x > latin.x for p in arabic) and any(p.x < latin.x for p in arabic)


def test_emoji_drawn_in_colour() -> None:
    from PIL import Image

    from uprbuzz.cards.layout import draw

    block, box = _fit("Watch live 📺✊🏽", w=800, max_size=60)
    assert not block.removed
    assert any(p.face.emoji for line in block.lines for p in line.pieces)
    im = Image.new("RGB", (820, 220), (0, 0, 0))
    draw(block, im, (255, 255, 255))
    colours = {c for _, c in im.getcolors(1 << 20) if len({*c}) > 1}
    assert len(colours) > 20  # coloured pixels: not white text, not a tofu box


def test_emoji_cleanly_left_out_without_an_emoji_font() -> None:
    m = _m(emoji=False)
    block, _ = _fit("Watch live 📺 now", m=m)
    assert block.removed == "📺"
    assert "📺" not in "".join(p.text for line in block.lines for p in line.pieces)


def test_characters_no_font_covers_are_left_out_and_reported() -> None:
    block, _ = _fit("A\ue000B")  # private use: no font has it
    assert block.removed == "\ue000"
    assert "".join(p.text for line in block.lines for p in line.pieces) == "AB"


def test_scripts_pick_fonts_that_cover_them() -> None:
    m = _m()
    faces = {r.text.strip(): r.face.label for r in m.stack.split("Обзор 审议 توصية").runs}
    assert faces["Обзор"].startswith("NotoSans-")
    assert "CJK" in faces["审议"]
    assert "Arabic" in faces["توصية"]


def test_missing_font_configuration_is_a_clear_error(tmp_path) -> None:
    from uprbuzz.cards.fonts import FontError, load_stack

    with pytest.raises(FontError, match="install-fonts"):
        load_stack({"regular": ["NoSuchFont.ttf"], "dirs": [str(tmp_path)]}, "regular")
