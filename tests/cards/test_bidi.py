"""Mixed-direction lines follow the Unicode bidi algorithm: Arabic with Latin words, digits and
parentheses, compared with python-bidi's Rust implementation (the unicode-bidi crate) as the
oracle for what a reader sees from left to right."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("card_fonts")

CASES = [
    ("التصديق على اتفاقية حقوق الطفل (CRC) في 2020", True),
    ("قالت منظمة Human Rights Watch إن 120 دولة (من أصل 193) تحدثت", True),
    ("— سويسرا ورواندا وجزر البهاما", True),
    ("عند 00:41:10 من بداية البث", True),
    ("The State (المملكة العربية السعودية) spoke 3 times", False),
    ("UPR 2020: «الاستعراض الدوري الشامل» for the USA!", False),
    ("ملاحظة: see A/HRC/46/15, para. 26.1 (2021).", True),
]


def _visual(block) -> str:
    """The line's characters left to right: pieces by x, a right-to-left piece's characters
    reversed (raqm also mirrors its brackets, rule L4; the oracle's answer leaves them as they
    are, so neither side mirrors here)."""
    out = []
    for line in block.lines:
        for p in sorted(line.pieces, key=lambda p: p.x):
            out.append(p.text[::-1] if p.rtl else p.text)
    return "".join(out)


@pytest.mark.parametrize(("text", "rtl"), CASES)
def test_mixed_lines_are_ordered_by_the_unicode_bidi_algorithm(text: str, rtl: bool) -> None:
    from bidi import get_display

    from uprbuzz.cards.fonts import load_stack
    from uprbuzz.cards.layout import Box, Measurer, Style, fit

    block = fit(text, Box(0, 0, 3000, 200), Style(40, 40, max_lines=1),
                Measurer(load_stack(None, "regular"), "ar"))
    assert len(block.lines) == 1 and block.lines[0].rtl == rtl
    assert _visual(block) == get_display(text, base_dir="R" if rtl else "L")
    # pieces touch, left to right, without overlap
    xs = sorted((p.x, p.x + p.width) for p in block.lines[0].pieces)
    assert all(abs(a[1] - b[0]) < 0.01 for a, b in zip(xs, xs[1:], strict=False))
    # the report keeps the logical text
    assert "".join(p.text for p in block.lines[0].pieces) == text


def test_an_arabic_card_starts_its_state_line_with_the_dash_on_the_right() -> None:
    from uprbuzz.cards import render

    out = render("recommendation", {"state": "سويسرا؛ رواندا", "text": "التصديق على الاتفاقية (CRC)",
                                    "lang": "ar"}, "1600x900", {"handle": "@x"}, inspect=True)
    box = out.report["boxes"]["state"]
    assert box["drawn"][0]["text"].startswith("— ")
    # the dash is the rightmost ink of the line: the right edge of the line is the dash's
    mask = out.layers["state"]
    x0, y0, x1, y1 = box["ink"]
    right = mask.crop((x1 - 30, y0, x1, y1)).getbbox()
    assert right is not None
    # a dash is a flat stroke: its ink near the right edge is at most a few pixels tall
    assert right[3] - right[1] <= 8, right
