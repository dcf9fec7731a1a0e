"""Every template in the six UN languages: golden cards, text inside its boxes, alt text; and
proof that the golden comparison sees a single changed character on every template."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.cards import cases
from tests.cards.golden import GoldenMismatch, compare, outside
from tests.fixtures.cards import CARD_BRAND

pytestmark = pytest.mark.usefixtures("card_fonts")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    root = tmp_path_factory.mktemp("cards")
    (root / "media").mkdir()
    # A deterministic stand-in for a photo (a gradient is photo-like: thousands of colours).
    a = Image.linear_gradient("L").resize((900, 600))
    b = Image.radial_gradient("L").resize((900, 600))
    Image.merge("RGB", (a, b, a.transpose(Image.Transpose.FLIP_LEFT_RIGHT))).save(
        root / "media" / "feature.png")
    return root


@pytest.fixture(scope="module")
def brand(project: Path):
    from uprbuzz.cards.brand import load_brand

    return load_brand(SimpleNamespace(brand=CARD_BRAND, root=project, name="test"))


def _render(template: str, lang: str, brand, size: str = "1600x900",
            fields: dict[str, str] | None = None):
    from uprbuzz.cards import render

    return render(template, fields or cases.fields(template, lang), size, brand, inspect=True)


@pytest.mark.parametrize("lang", cases.LANGS)
@pytest.mark.parametrize("template", cases.TEMPLATES)
def test_template_in_language(template: str, lang: str, brand, update_goldens: bool) -> None:
    out = _render(template, lang, brand)
    assert out.image.size == (1600, 900)
    # Every text box: laid out without ellipsis, and no text pixel outside the box.
    assert out.report["boxes"], "no text drawn"
    for name, box in out.report["boxes"].items():
        assert not box["truncated"], f"{name} was cut"
        assert not box["removed"], f"{name} lost characters {box['removed']!r}"
        mask = out.layers[name]
        assert mask.getbbox() is not None, f"{name}: nothing drawn"
        assert outside(mask, box["box"]) == 0, f"{name}: text pixels outside its box"
    assert out.report["rtl"] == (lang == "ar")
    for s in cases.content(template, lang):
        assert s in out.alt, f"alt text lacks {s!r}: {out.alt}"
    assert out.kind == ("photo" if template == "blog" and lang in ("en", "ar") else "flat")
    compare(f"{template}-{lang}", out, update_goldens)


@pytest.mark.parametrize("lang", ["en", "ar", "zh"])
@pytest.mark.parametrize("template", cases.TEMPLATES)
def test_square_cards(template: str, lang: str, brand, update_goldens: bool) -> None:
    out = _render(template, lang, brand, "1080x1080")
    assert out.image.size == (1080, 1080)
    for name, box in out.report["boxes"].items():
        assert not box["truncated"]
        assert outside(out.layers[name], box["box"]) == 0, name
    compare(f"{template}-{lang}-square", out, update_goldens)


def test_arabic_runs_right_to_left(brand) -> None:
    """An Arabic card's main text hugs the right edge; an English one the left."""
    ar = _render("recommendation", "ar", brand)
    en = _render("recommendation", "en", brand)
    bx = ar.report["boxes"]["text"]
    assert bx["ink"][2] >= bx["box"][2] - 8 and bx["ink"][0] > bx["box"][0] + 40
    be = en.report["boxes"]["text"]
    assert be["ink"][0] <= be["box"][0] + 8


def test_every_template_has_a_mutation_check() -> None:
    assert {m[0] for m in cases.MUTATIONS} == set(cases.TEMPLATES)


@pytest.mark.parametrize(("template", "lang", "field", "old", "new", "boxes"), cases.MUTATIONS,
                         ids=[f"{m[0]}-{m[1]}-{m[2]}" for m in cases.MUTATIONS])
def test_one_changed_character_fails_its_golden(template: str, lang: str, field: str, old: str,
                                                new: str, boxes: frozenset[str], brand,
                                                tmp_path: Path) -> None:
    """A golden card with one digit (or letter) changed fails its golden comparison, and both
    halves see it independently: the record as a changed string, the pixels in the same boxes.
    Exactly those boxes differ, so the rest of the card still matches its golden."""
    out = _render(template, lang, brand, fields=cases.mutated(template, lang, field, old, new))
    with pytest.raises(GoldenMismatch) as caught:
        compare(f"{template}-{lang}", out, update=False, actual_dir=tmp_path)
    found = caught.value.differences
    record = {d.box for d in found if d.kind == "record"}
    pixels = {d.box for d in found if d.kind == "pixels"}
    assert record == boxes | {None}, caught.value  # None: the alt text, which says it too
    assert all(d.what.startswith("alt ") for d in found if d.kind == "record" and d.box is None)
    assert pixels - {None} == boxes, caught.value
    # Not just moved ink: each changed box reports a different string.
    for box in boxes:
        assert any(d.box == box and d.what.startswith("text ") for d in found), caught.value
