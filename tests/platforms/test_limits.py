"""Each platform fact is declared once (uprbuzz.platforms.limits) and every reader agrees with
it: the platforms, the checks, the card encoder, the X stand-in, the budget."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from uprbuzz.checks import bluesky_rules, media_rules, x_rules
from uprbuzz.config import BlueskyConfig, Config, XConfig
from uprbuzz.model import Loc, Media, Part, Post
from uprbuzz.platforms.base import OutgoingMedia, OutgoingPart, Rejected
from uprbuzz.platforms.limits import BLUESKY, BY_NAME, MiB, X

HEAVY = ("tweepy", "atproto", "PIL", "twitter_text", "regex", "httpx", "requests")


def test_importing_the_facts_loads_nothing_heavy() -> None:
    code = (f"import sys, uprbuzz.platforms.limits, uprbuzz.platforms.base\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_platforms_declare_these_limits() -> None:
    from uprbuzz.platforms.bluesky import BlueskyPlatform
    from uprbuzz.platforms.x import XPlatform

    assert XPlatform(XConfig()).limits is X is BY_NAME["x"]
    bs = BlueskyPlatform(BlueskyConfig(image_budget=1_500_000)).limits
    assert bs == replace(BLUESKY, max_image_bytes=1_500_000) and bs.atomic_threads


def test_x_image_cap_is_x_upload_error_value() -> None:
    # X answers "File size exceeds 5242880 bytes." (and 15728640 for GIFs): MiB, not 10**6.
    assert (X.max_image_bytes, X.max_gif_bytes) == (5_242_880, 15_728_640) == (5 * MiB, 15 * MiB)


def test_counters_use_the_declared_lengths() -> None:
    from twitter_text.config import config

    from uprbuzz.platforms.text_measure import bluesky_count, x_length

    assert config["defaults"]["max_weighted_tweet_length"] == X.max_length  # the library agrees
    assert x_length("a" * X.max_length).valid and not x_length("a" * (X.max_length + 1)).valid
    c = bluesky_count("a")
    assert (c.limit, c.byte_limit) == (BLUESKY.max_length, BLUESKY.max_bytes)


def test_web_formats_are_what_imaging_passes_through() -> None:
    from uprbuzz.imaging import MIMES

    assert set(MIMES) == set(X.formats or ()) == set(BLUESKY.formats or ())


def test_editorial_daily_caps_stay_far_below_the_rate_limits() -> None:
    from uprbuzz.checks.budget import DEFAULT_CAPS
    from uprbuzz.sandbox.xapi_store import DEFAULT_LIMITS

    assert {k: (r.limit, r.window) for k, r in X.rate_limits.items()} == DEFAULT_LIMITS
    x_post = X.rate_limits["POST /2/tweets"]
    assert DEFAULT_CAPS["x"] < x_post.limit * 86_400 // x_post.window
    per_day = BLUESKY.rate_limits["write points/day"].limit // BLUESKY.create_points
    assert DEFAULT_CAPS["bluesky"] < per_day


def test_card_budgets_come_from_the_platforms() -> None:
    from uprbuzz.cards.encode import DEFAULT_BUDGET, budget_for

    cfg = Config(root=Path("."), bluesky=BlueskyConfig(image_budget=2_000_000))
    assert budget_for(cfg, ("x",)) == X.max_image_bytes
    assert budget_for(cfg, ("bluesky",)) == 2_000_000
    assert budget_for(cfg, ("x", "bluesky")) == 2_000_000
    assert budget_for(Config(root=Path(".")), ("x", "bluesky")) == BLUESKY.max_image_bytes
    assert min(X.max_image_bytes, BLUESKY.max_image_bytes) >= DEFAULT_BUDGET


# --- checks, stand-in and encoder agree at the edge ------------------------------------------

def padded_png(total: int) -> bytes:
    """A readable PNG of exactly ``total`` bytes (zeros after IEND)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buf, "PNG")
    return buf.getvalue() + b"\0" * (total - len(buf.getvalue()))


def x_diags(root: Path, data: bytes, alt: str = "a teal placard", n: int = 1) -> list[str]:
    media_rules.clear_cache()
    (root / "media").mkdir(parents=True, exist_ok=True)
    (root / "media" / "p.png").write_bytes(data)
    part = Part("t", tuple(Media("media/p.png", alt, loc=Loc("p.md", 2, 1)) for _ in range(n)),
                Loc("p.md", 1, 1))
    post = Post("p", (part,), platforms=("x",), source=Loc("p.md", 1, 1))
    return [d.code for d in x_rules.check_post(post, Config(root=root))]


@pytest.mark.parametrize("size,ok", [(X.max_image_bytes, True), (X.max_image_bytes + 1, False)])
def test_image_at_and_over_the_x_cap(tmp_path: Path, xapi, size: int, ok: bool) -> None:
    """The check, the stand-in (over HTTP, through XPlatform) and the encoder draw the line at
    the same byte."""
    from uprbuzz.cards.encode import budget_for
    from uprbuzz.platforms.x import XPlatform

    data = padded_png(size)
    assert len(data) == size
    assert ("x-media-too-big" not in x_diags(tmp_path, data)) is ok
    x = XPlatform(xapi.config)
    media = OutgoingMedia(data, "image/png", "a teal placard", 40, 30)
    if ok:
        assert xapi.server.store.media[x.upload(media)]["size"] == size
    else:
        with pytest.raises(Rejected, match=f"exceeds {X.max_image_bytes} bytes"):
            x.upload(media)
    assert (size <= budget_for(Config(root=tmp_path), ("x",))) is ok


def test_gif_cap_in_the_stand_in(xapi) -> None:
    from PIL import Image

    from tests.fixtures.xapi import ACCOUNT
    from uprbuzz.sandbox import xapi_api as api

    store = xapi.server.store
    for size, status in ((X.max_gif_bytes, 200), (X.max_gif_bytes + 1, 400)):
        gif = io.BytesIO()
        Image.new("P", (8, 8)).save(gif, "GIF")
        data = gif.getvalue() + b"\0" * (size - len(gif.getvalue()))
        got, _ = api._finish_media(store, ACCOUNT, store.new_id(), data, "tweet_gif", 0)
        assert got == status


def test_alt_text_at_and_over_the_x_cap(tmp_path: Path, xapi) -> None:
    from uprbuzz.platforms.x import XPlatform

    data = padded_png(200)
    assert "x-alt-too-long" not in x_diags(tmp_path, data, "a" * X.max_alt)
    assert "x-alt-too-long" in x_diags(tmp_path, data, "a" * (X.max_alt + 1))
    http = XPlatform(xapi.config)
    mid = http.upload(OutgoingMedia(data, "image/png", "", 40, 30))
    for n, code in ((X.max_alt, 200), (X.max_alt + 1, 400)):
        r = http.client.session.post("https://api.x.com/2/media/metadata", auth=http._auth(),
                                     json={"id": mid, "metadata": {"alt_text": {"text": "a" * n}}})
        assert r.status_code == code
    # the platform sends what X takes: the longest alt is cut to the cap, not refused
    mid = http.upload(OutgoingMedia(data, "image/png", "b" * (X.max_alt + 5), 40, 30))
    assert xapi.server.store.media[mid]["alt_text"] == "b" * X.max_alt


def test_image_count_at_and_over_the_x_cap(tmp_path: Path, xapi) -> None:
    """The check and the stand-in agree; XPlatform refuses before uploading anything."""
    from uprbuzz.platforms.x import XPlatform

    data = padded_png(200)
    assert "x-too-many-images" not in x_diags(tmp_path, data, n=X.max_images)
    assert "x-too-many-images" in x_diags(tmp_path, data, n=X.max_images + 1)
    x = XPlatform(xapi.config)
    ids = [x.upload(OutgoingMedia(data, "image/png", "", 40, 30)) for _ in range(X.max_images + 1)]
    r = x.client.session.post("https://api.x.com/2/tweets", auth=x._auth(),
                              json={"text": "five", "media": {"media_ids": ids}})
    assert r.status_code == 400
    before = len(xapi.server.store.media)
    with pytest.raises(Rejected, match=f"X allows {X.max_images}"):
        x.publish([OutgoingPart("five", (OutgoingMedia(data, "image/png", "", 40, 30),) * 5)], [None])
    assert len(xapi.server.store.media) == before


def test_bluesky_checks_read_the_declared_limits(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "p.png").write_bytes(padded_png(300))
    media = Media("media/p.png", "a" * (BLUESKY.max_alt + 1), loc=Loc("p.md", 2, 1))
    tags = tuple(f"t{i}" for i in range(BLUESKY.max_tags + 1))
    langs = tuple(["en", "fr", "es", "de"][: BLUESKY.max_langs + 1])
    post = Post("p", (Part("b" * (BLUESKY.max_length + 1), (media,), Loc("p.md", 1, 1)),),
                platforms=("bluesky",), tags=tags, langs=langs, source=Loc("p.md", 1, 1))
    media_rules.clear_cache()
    codes = {d.code: d.message for d in bluesky_rules.check_post(post, Config(root=tmp_path))}
    assert {"bsky-too-many-langs", "bsky-too-many-tags", "bsky-too-long",
            "bsky-alt-too-long"} <= set(codes)
    assert f"at most {BLUESKY.max_alt}" in codes["bsky-alt-too-long"]


def test_formats_x_does_not_take(tmp_path: Path, xapi) -> None:
    from PIL import Image

    from uprbuzz.platforms.x import XPlatform

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buf, "BMP")
    assert "BMP" not in (X.formats or ())
    assert "x-media-format" in x_diags(tmp_path, buf.getvalue())
    with pytest.raises(Rejected, match="media type unrecognized"):
        XPlatform(xapi.config).upload(OutgoingMedia(buf.getvalue(), "image/bmp", "", 40, 30))
