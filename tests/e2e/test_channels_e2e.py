"""The sample queue published to six sandbox channels (two accounts on each of X, Bluesky and
Mastodon, started by `uprbuzz sandbox start`) and read back from each server: text, media with
alt text, language, thread structure, content warning, Bluesky link cards; a second run sends
nothing."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.fixtures.publish import REPO, run_uprbuzz
from uprbuzz.config import load_config
from uprbuzz.sandbox import manager
from uprbuzz.sandbox.pds import is_installed
from uprbuzz.sources.gather import load_all

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHANNELS = """[project]
name = "network"
timezone = "America/New_York"
lang = "en"

[channels.x]
platform = "x"

[channels.x-es]
platform = "x"
langs = ["es"]

[channels.bluesky]
platform = "bluesky"

[channels.bluesky-es]
platform = "bluesky"
langs = ["es"]

[channels.mastodon]
platform = "mastodon"

[channels.mastodon-es]
platform = "mastodon"
langs = ["es"]
visibility = "unlisted"

[budget]
x = 1000
bluesky = 1000
mastodon = 1000
"""
CW_POST = """---
status: approved
lang: es
content_warning: Violencia policial
sensitive: true
---
Testimonios sobre la violencia policial en la revisión de EE. UU. #UPR36
"""


@pytest.fixture
def network(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not is_installed():
        if __import__("os").environ.get("UPRBUZZ_REQUIRE_SERVERS") == "1":
            pytest.fail("the local PDS is not installed (tools/local-pds/install.sh)")
        pytest.skip("the local PDS is not installed")
    root = tmp_path / "network"
    for d in ("posts", "media"):
        shutil.copytree(REPO / d, root / d, ignore=shutil.ignore_patterns("rendered"))
    (root / "posts" / "es" / "testimonios.md").write_text(CW_POST, encoding="utf-8")
    (root / "uprbuzz.toml").write_text(CHANNELS, encoding="utf-8")
    state, _ = manager.start(root)
    try:
        yield root, manager.channel_env(state)
    finally:
        manager.stop(root)


def test_sample_queue_on_six_channels(network) -> None:  # type: ignore[no-untyped-def]
    root, env = network
    config = load_config(root, env=env)
    assert len(config.enabled_channels) == 6
    loaded = load_all(config)
    posts = {p.id: p for p in loaded.posts if p.status == "approved"}
    want = {c.name: Counter() for c in config.channels}  # channel -> texts it must hold
    for post in posts.values():
        for ch in config.route(post):
            for part in post.parts_on(ch.name, ch.platform) or ():
                want[ch.name][part.text] += 1
    # Spanish posts go to the Spanish accounts only; the others to the main accounts
    assert want["x-es"] and want["mastodon"] and not set(want["x-es"]) & set(want["x"])

    r = run_uprbuzz(["publish", *posts], root, env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    tl = manager.timeline(root)
    chans = tl["channels"]
    for name, texts in want.items():
        got = Counter(p["text"] for p in chans[name]["posts"])
        assert got == texts, (name, got, texts)

    # threads: each later part replies to the part before, on every platform
    thread = [p.text for p in posts["review/what-is-the-upr"].parts]
    x_posts = {p["text"]: p for p in chans["x"]["posts"]}
    assert x_posts[thread[1]]["in_reply_to"] == x_posts[thread[0]]["id"]
    bs = {p["text"]: p for p in chans["bluesky"]["posts"]}
    assert bs[thread[2]]["reply"]["parent"]["uri"] == bs[thread[1]]["uri"]
    assert bs[thread[2]]["reply"]["root"]["uri"] == bs[thread[0]]["uri"]
    md = {p["text"]: p for p in chans["mastodon"]["posts"]}
    assert md[thread[1]]["in_reply_to"] == md[thread[0]]["id"]

    # media with alt text, everywhere it went
    with_media = next(p for p in posts["review/what-is-the-upr"].parts if p.media)
    alt = with_media.media[0].alt
    assert alt in x_posts[with_media.text]["alt_texts"]
    assert alt in md[with_media.text]["alt_texts"]

    # language, visibility and the content warning on Mastodon; Spanish only where it is spoken
    cw = next(p for p in chans["mastodon-es"]["posts"] if p["text"].startswith("Testimonios"))
    assert cw["spoiler_text"] == "Violencia policial" and cw["language"] == "es"
    assert cw["visibility"] == "unlisted"
    assert not any(p["text"].startswith("Testimonios") for p in chans["mastodon"]["posts"])

    # Bluesky link cards for posts with a link
    linked = [p for p in posts.values() if p.link]
    assert linked
    for post in linked:
        first = post.parts[0].text
        if first in bs:
            assert bs[first]["embed"] in ("app.bsky.embed.external", "app.bsky.embed.images")

    # exactly once: a second run sends nothing anywhere
    again = run_uprbuzz(["publish", *posts], root, env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    tl2 = manager.timeline(root)
    for name in want:
        assert len(tl2["channels"][name]["posts"]) == len(chans[name]["posts"]), name
