"""Figures for the platform checks: `uprbuzz measure` process start, and per-call cost of
x_length / bluesky_count / the three check_post functions on a typical post with an image.

    .venv/bin/python bench/checks.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

TEXT = ("Watch live: the UPR review of Examplestan starts at 14:30 Geneva time 🇨🇭 — "
        "questions from @ohchr.bsky.social, #UPR37 https://webtv.un.org/ ¡en directo!")


def per_call(fn, n: int) -> float:
    """µs per call of fn(i); each i gives a new text, so the counting caches never hit."""
    fn(-1)
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t) / n * 1e6


def main() -> None:
    starts = []
    for _ in range(7):
        t = time.perf_counter()
        subprocess.run([str(ROOT / ".venv/bin/uprbuzz"), "measure", "--json", TEXT],
                       check=True, capture_output=True)
        starts.append(time.perf_counter() - t)
    print(f"uprbuzz measure --json process: median {statistics.median(starts) * 1000:.0f} ms "
          f"(min {min(starts) * 1000:.0f} ms, 7 runs)")

    from PIL import Image

    from uprbuzz.checks import bluesky_rules as bluesky
    from uprbuzz.checks import media_rules as media
    from uprbuzz.checks import x_rules as x
    from uprbuzz.config import Config
    from uprbuzz.model import Loc, Media, Part, Post
    from uprbuzz.platforms.text_measure import bluesky_count, x_length

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "media").mkdir()
        Image.new("RGB", (1600, 900), (30, 90, 160)).save(root / "media" / "card.png")
        config = Config(root=root)
        def post_n(i: int) -> Post:
            i += 100_000  # texts unlike those measured above: no cache hits
            return Post("bench", (Part(f"{TEXT} {i}", (Media("media/card.png", "A blue card",
                                                                loc=Loc("p", 3)),), Loc("p", 5)),
                                  Part(f"Second part of the thread #UPR37 {i}")), source=Loc("p"))

        post = post_n(0)
        t = time.perf_counter()
        first = [*media.check_post(post, config), *x.check_post(post, config),
                 *bluesky.check_post(post, config)]
        cold = (time.perf_counter() - t) * 1000
        assert not [d for d in first if d.severity == "error"], first
        xs = per_call(lambda i: x_length(f"{TEXT} {i}"), 2000)
        bs = per_call(lambda i: bluesky_count(f"{TEXT} {i}"), 2000)
        xc = per_call(lambda i: x.check_post(post_n(i), config), 1000)
        bc = per_call(lambda i: bluesky.check_post(post_n(i + 2000), config), 1000)
        mc = per_call(lambda i: media.check_post(post_n(i + 1000), config), 1000)
    print(f"per call ({len(TEXT)}-char text): x_length {xs:.0f} µs, bluesky_count {bs:.0f} µs; "
          f"2-part post with a cached image: x {xc:.0f} µs, bluesky {bc:.0f} µs, media {mc:.0f} µs "
          f"(first call with image probe: {cold:.0f} ms)")


if __name__ == "__main__":
    main()
