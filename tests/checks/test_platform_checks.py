"""The per-platform and media checks on real image files written with Pillow in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from uprbuzz.checks import bluesky_rules as bsky_checks
from uprbuzz.checks import media_rules as media_checks
from uprbuzz.checks import x_rules as x_checks
from uprbuzz.config import BlueskyConfig, Config
from uprbuzz.model import Card, Loc, Media, Override, Part, Post

SRC = Loc("posts/p.md", 1, 1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    media_checks.clear_cache()
    yield
    media_checks.clear_cache()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "proj"
    (r / "media").mkdir(parents=True)
    return r


def cfg(root: Path, budget: int = 1_000_000) -> Config:
    return Config(root=root, bluesky=BlueskyConfig(image_budget=budget))


def image(root: Path, name: str, size=(64, 48), fmt: str | None = None, noise=False, **kw) -> str:
    path = root / "media" / name
    im = (Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise
          else Image.new("RGB", size, (200, 30, 40)))
    im.save(path, fmt, **kw)
    return f"media/{name}"


def post(*parts: Part, **kw) -> Post:
    kw.setdefault("platforms", ("x", "bluesky"))
    return Post(id="p", parts=parts, source=SRC, **kw)


def part(text="Watch the review live #UPR37", *media: Media, line=5) -> Part:
    return Part(text, tuple(media), Loc("posts/p.md", line, 1))


def img(path: str, alt="A red placard reading 'UPR 2020'", line=3, **kw) -> Media:
    return Media(path, alt, loc=Loc("posts/p.md", line, 3), **kw)


def run(p: Post, config: Config) -> list:
    return [*media_checks.check_post(p, config), *x_checks.check_post(p, config),
            *bsky_checks.check_post(p, config)]


def codes(diags) -> list[str]:
    return sorted(d.code for d in diags)


def test_a_good_post_has_no_diagnostics(root):
    p = post(part("Hello", img(image(root, "a.png"))), part("Second part"))
    assert run(p, cfg(root)) == []


def test_x_too_long_points_at_the_part_and_says_by_how_much(root):
    p = post(part("intro"), part("x" * 312, line=9), platforms=("x",))
    [d] = run(p, cfg(root))
    assert (d.code, d.path, d.line, d.severity) == ("x-too-long", "posts/p.md", 9, "error")
    assert "Part 2 of 2 is 312 weighted characters on X; the limit is 280 (32 over)" in d.message


def test_bluesky_graphemes_and_bytes(root):
    too_long = post(part("é" * 301))  # 301 graphemes, 602 bytes; X: 301 weight-1 chars
    assert codes(run(too_long, cfg(root))) == ["bsky-too-long", "x-too-long"]
    heavy = post(part("👨‍👩‍👧‍👧" * 121), platforms=("bluesky",))  # 121 graphemes, 3025 bytes
    [d] = run(heavy, cfg(root))
    assert d.code == "bsky-too-many-bytes" and "3,025 bytes" in d.message and "(25 over)" in d.message


def test_platform_skip_and_overrides(root):
    long = "y" * 290  # too long for X only
    skipped = post(part(long), overrides={"x": Override(skip=True)})
    assert run(skipped, cfg(root)) == []
    short_for_x = post(part(long), overrides={"x": Override(parts=(part("short"),))})
    assert run(short_for_x, cfg(root)) == []
    assert codes(run(post(part(long)), cfg(root))) == ["x-too-long"]


def test_missing_alt_decorative_and_decorative_with_alt(root):
    path = image(root, "a.png")
    [d] = run(post(part("t", img(path, alt="  "))), cfg(root))
    assert (d.code, d.line, d.column) == ("alt-missing", 3, 3)
    assert run(post(part("t", img(path, alt="", decorative=True))), cfg(root)) == []
    [d] = run(post(part("t", img(path, alt="a flag", decorative=True))), cfg(root))
    assert d.code == "alt-decorative"


def test_missing_file_and_escapes(root, tmp_path):
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    (root / "media" / "link.png").symlink_to(outside)
    cases = {
        "media/nope.png": "media-missing",
        "../secret.png": "media-outside-root",
        "media/../../secret.png": "media-outside-root",
        str(outside): "media-outside-root",
        "media/link.png": "media-outside-root",
        "media": "media-missing",  # a folder
    }
    for path, code in cases.items():
        diags = run(post(part("t", img(path))), cfg(root))
        assert codes(diags) == [code], (path, diags)
    [d] = run(post(part("t", img("media/link.png"))), cfg(root))
    assert "symlink" in d.message


def test_symlink_inside_the_project_is_fine(root):
    target = image(root, "real.png")
    (root / "media" / "alias.png").symlink_to(root / target)
    assert run(post(part("t", img("media/alias.png"))), cfg(root)) == []


def test_not_an_image(root):
    (root / "media" / "notes.jpg").write_text("not really a JPEG")
    [d] = run(post(part("t", img("media/notes.jpg"))), cfg(root))
    assert d.code == "media-not-image" and "JPEG, PNG, GIF or WEBP" in d.message


def test_wrong_format_for_x_is_reencoded_for_bluesky(root):
    path = image(root, "scan.bmp", fmt="BMP")
    diags = run(post(part("t", img(path))), cfg(root))
    assert codes(diags) == ["bsky-image-reencoded", "x-media-format"]
    x = next(d for d in diags if d.code == "x-media-format")
    assert x.severity == "error" and "BMP" in x.message
    b = next(d for d in diags if d.code == "bsky-image-reencoded")
    assert b.severity == "warning"


def test_five_images(root):
    medias = [img(image(root, f"i{k}.png")) for k in range(5)]
    diags = run(post(part("t", *medias)), cfg(root))
    assert codes(diags) == ["bsky-too-many-images", "x-too-many-images"]
    assert all("5 images" in d.message for d in diags)


def test_a_card_counts_as_an_image(root):
    medias = [img(image(root, f"i{k}.png")) for k in range(4)]
    p = post(part("t", *medias), card=Card("quote", {"quote": "q"}))
    assert codes(run(p, cfg(root))) == ["bsky-too-many-images", "x-too-many-images"]
    # a card alone makes an empty text acceptable
    assert run(post(part(""), card=Card("quote")), cfg(root)) == []


def test_oversized_for_x(root):
    path = image(root, "huge.png", size=(1400, 1300), noise=True)  # incompressible: ~5.5 MB
    size = (root / path).stat().st_size
    assert size > 5 * 1024 * 1024
    diags = run(post(part("t", img(path)), platforms=("x",)), cfg(root))
    [d] = diags
    assert d.code == "x-media-too-big" and f"{size:,} bytes" in d.message


def test_bluesky_reencoding_predicts_the_size(root):
    from uprbuzz.imaging import fit_to_budget

    path = image(root, "big.png", size=(400, 300), noise=True)  # ~360 KB
    budget = 150_000
    [d] = run(post(part("t", img(path)), platforms=("bluesky",)), cfg(root, budget))
    expected = fit_to_budget((root / path).read_bytes(), budget)
    assert d.code == "bsky-image-reencoded" and d.severity == "warning"
    assert f"re-encoded to {len(expected.data):,} bytes (JPEG" in d.message


def test_bluesky_image_that_cannot_fit(root):
    path = image(root, "big.png", size=(300, 200), noise=True)
    [d] = run(post(part("t", img(path)), platforms=("bluesky",)), cfg(root, 100))
    assert d.code == "bsky-image-too-big" and d.severity == "error"
    assert f"{(root / path).stat().st_size:,} bytes" in d.message


def test_animated_gif_must_be_alone_on_x(root):
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue")]
    frames[0].save(root / "media" / "anim.gif", save_all=True, append_images=frames[1:])
    p = post(part("t", img("media/anim.gif"), img(image(root, "b.png"))), platforms=("x",))
    assert codes(run(p, cfg(root))) == ["x-gif-not-alone"]
    assert run(post(part("t", img("media/anim.gif")), platforms=("x",)), cfg(root)) == []


def test_alt_text_longer_than_x_allows(root):
    path = image(root, "a.png")
    [d] = run(post(part("t", img(path, alt="a" * 1001))), cfg(root))
    assert d.code == "x-alt-too-long" and "(1 over)" in d.message


def test_langs_and_tags(root):
    p = post(part("t"), langs=("en", "es", "fr", "ar"), tags=("upr", "u" * 65))
    diags = run(p, cfg(root))
    assert codes(diags) == ["bsky-tag-too-long", "bsky-too-many-langs"]
    assert all((d.path, d.line) == ("posts/p.md", 1) for d in diags)  # post.source
    assert codes(run(post(part("t"), tags=tuple(f"t{i}" for i in range(9))), cfg(root))) == [
        "bsky-too-many-tags"]


def test_a_hashtag_too_long_to_link_is_a_warning(root):
    [d] = run(post(part("see #" + "a" * 70), platforms=("bluesky",)), cfg(root))
    assert (d.code, d.severity) == ("bsky-hashtag-too-long", "warning")


def test_empty_text_without_media(root):
    [d] = run(post(part("  ")), cfg(root))
    assert d.code == "empty-post"
    assert run(post(part("", img(image(root, "a.png")))), cfg(root)) == []


def test_locations_fall_back_to_source_then_to_line_1(root):
    no_loc = Post(id="camp/1", parts=(Part("z" * 300),), platforms=("x",), source=SRC)
    [d] = run(no_loc, cfg(root))
    assert (d.path, d.line, d.column) == ("posts/p.md", 1, 1)
    nowhere = Post(id="camp/1", parts=(Part("z" * 300),), platforms=("x",))
    [d] = run(nowhere, cfg(root))
    assert (d.path, d.line, d.column) == ("camp/1", 1, 1)
    assert str(d).startswith("camp/1:1:1: error: The text is 300 weighted characters")


def test_one_image_shared_by_many_posts_is_probed_and_reencoded_once(root, monkeypatch):
    import uprbuzz.imaging as imaging

    calls = {"probe": 0, "fit": 0}
    real_probe, real_fit = imaging.probe, imaging.fit_to_budget

    def probe(data):
        calls["probe"] += 1
        return real_probe(data)

    def fit(data, budget):
        calls["fit"] += 1
        return real_fit(data, budget)

    monkeypatch.setattr(imaging, "probe", probe)
    monkeypatch.setattr(imaging, "fit_to_budget", fit)
    path = image(root, "shared.png", size=(300, 200), noise=True)
    config = cfg(root, 100_000)
    for k in range(20):
        diags = run(Post(id=f"p{k}", parts=(part("t", img(path)),), source=SRC), config)
        assert codes(diags) == ["bsky-image-reencoded"]
        if k == 0:
            after_first = dict(calls)
    assert calls == after_first and calls["fit"] == 1
    # a changed file is probed again
    image(root, "shared.png", size=(30, 20))
    assert run(post(part("t", img(path))), config) == []
    assert calls["probe"] > after_first["probe"] and calls["fit"] == 2


def test_the_caches_notice_files_that_appear_change_or_turn_into_escaping_symlinks(root, tmp_path):
    config = cfg(root)
    p = post(part("t", img("media/later.png")))
    assert codes(run(p, config)) == ["media-missing"]
    image(root, "later.png")
    assert run(p, config) == []
    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (8, 8)).save(outside)
    (root / "media" / "later.png").unlink()
    (root / "media" / "later.png").symlink_to(outside)
    assert codes(run(p, config)) == ["media-outside-root"]
    (root / "media" / "later.png").unlink()
    (root / "media" / "later.png").write_text("now a text file")
    assert codes(run(p, config)) == ["media-not-image"]


def test_media_path_with_a_nul_character_is_an_error_not_a_crash(tmp_path) -> None:
    # found by the hypothesis test of mangled sample posts: os calls raise ValueError on NUL
    from uprbuzz.checks.media_rules import check_post as media_check
    from uprbuzz.config import load_config
    from uprbuzz.model import Media, Part, Post

    (tmp_path / "uprbuzz.toml").write_text("[project]\n", encoding="utf-8")
    config = load_config(tmp_path, env={})
    post = Post("p", (Part("text", (Media("media/\x00x.png", "alt"),)),), status="approved")
    diags = media_check(post, config)
    assert [d.code for d in diags] == ["media-missing"]
    assert "NUL" in diags[0].message
