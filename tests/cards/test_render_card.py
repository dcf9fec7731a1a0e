"""render_card / with_rendered_card: content-addressed, cached, deterministic, budget met."""

from __future__ import annotations

from pathlib import Path

import pytest

from uprbuzz.config import load_config
from uprbuzz.model import Card, Media, Override, Part, Post

pytestmark = pytest.mark.usefixtures("card_fonts")
REC = {"state": "Slovakia", "text": "Consider ratifying all remaining human rights conventions",
       "paragraph": "26.1", "timestamp": "00:41:10"}


def _project(root: Path, extra: str = "") -> object:
    root.mkdir(parents=True, exist_ok=True)
    (root / "uprbuzz.toml").write_text(
        '[project]\nname = "demo"\n[brand]\nhandle = "@uprwatch"\n' + extra, encoding="utf-8")
    return load_config(root, env={})


def test_card_renders_to_content_addressed_file_and_is_cached(tmp_path: Path) -> None:
    from uprbuzz.cards import render_card

    config = _project(tmp_path / "a")
    m = render_card(Card("recommendation", REC), config)
    path = config.root / m.path
    assert m.path.startswith("media/rendered/") and m.path.endswith(".png")
    assert (m.width, m.height) == (1600, 900)
    assert "Consider ratifying all remaining human rights conventions" in m.alt
    assert "Slovakia" in m.alt and "26.1" in m.alt
    stamp = path.stat().st_mtime_ns
    again = render_card(Card("recommendation", dict(REC)), config)
    assert again == m and path.stat().st_mtime_ns == stamp  # reused, not re-rendered
    other = render_card(Card("recommendation", {**REC, "paragraph": "26.2"}), config)
    assert other.path != m.path
    # Deterministic: another project renders the very same bytes under the same name.
    config_b = _project(tmp_path / "b")
    mb = render_card(Card("recommendation", REC), config_b)
    assert mb.path == m.path
    assert (config_b.root / mb.path).read_bytes() == path.read_bytes()


def test_brand_change_changes_the_name(tmp_path: Path) -> None:
    from uprbuzz.cards import render_card

    a = render_card(Card("quote", {"quote": "x"}), _project(tmp_path / "a"))
    b = render_card(Card("quote", {"quote": "x"}), _project(tmp_path / "b", 'accent = "#FFFFFF"\n'))
    assert a.path != b.path


def test_alt_override_and_square_size(tmp_path: Path) -> None:
    from uprbuzz.cards import render_card

    m = render_card(Card("quote", {"quote": "Hello"}, "1080x1080", "A custom description"),
                    _project(tmp_path))
    assert m.alt == "A custom description" and (m.width, m.height) == (1080, 1080)


def test_photo_card_meets_a_tight_budget_by_quality_not_cropping(tmp_path: Path) -> None:
    from PIL import Image

    from uprbuzz.cards import render_card

    config = _project(tmp_path, "[platforms.bluesky]\nimage_budget = 120000\n")
    (tmp_path / "media").mkdir()
    noise = Image.effect_noise((900, 600), 80).convert("RGB")
    noise.save(tmp_path / "media" / "photo.png")
    m = render_card(Card("blog", {"title": "Live from Geneva", "image": "media/photo.png"}), config)
    data = (tmp_path / m.path).read_bytes()
    assert m.path.endswith(".jpg") and len(data) <= 120_000
    with Image.open(tmp_path / m.path) as im:
        assert im.format == "JPEG" and im.size == (1600, 900)  # same frame: nothing cropped


def test_with_rendered_card_prepends_to_part_one_and_overrides(tmp_path: Path) -> None:
    from uprbuzz.cards import with_rendered_card

    config = _project(tmp_path)
    photo = Media("media/p.jpg", "A photo")
    post = Post("rec", (Part("one", (photo,)), Part("two")), card=Card("recommendation", REC),
                langs=("en",), overrides={"x": Override(media=(photo,))})
    out = with_rendered_card(post, config)
    first = out.parts[0].media
    assert len(first) == 2 and first[0].path.startswith("media/rendered/") and first[1] == photo
    assert out.parts[1].media == ()
    assert out.overrides["x"].media[0] == first[0]
    assert with_rendered_card(out, config).parts[0].media == first  # idempotent
    plain = Post("p", (Part("x"),))
    assert with_rendered_card(plain, config) is plain


def test_post_language_picks_the_card_words(tmp_path: Path) -> None:
    from uprbuzz.cards import with_rendered_card

    post = Post("rec", (Part("uno"),), card=Card("recommendation", REC), langs=("es",))
    m = with_rendered_card(post, _project(tmp_path)).parts[0].media[0]
    assert m.alt.startswith("Recomendación 26.1")


def test_importing_cards_does_not_import_pillow() -> None:
    import subprocess
    import sys

    code = ("import sys, uprbuzz.cards, uprbuzz.cards.templates, uprbuzz.cards.layout; "
            "print('PIL' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
