"""Campaign expansion, budget planning and feed parsing figures.

Run: .venv/bin/python bench/campaigns.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from uprbuzz.checks.budget import Budget  # noqa: E402
from uprbuzz.config import Config  # noqa: E402
from uprbuzz.sources.campaigns.campaign_posts import load_campaigns  # noqa: E402


def best(fn, n: int = 15) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000, statistics.median(times) * 1000  # type: ignore[return-value]


def main() -> None:
    cfg = Config(root=ROOT, timezone="Europe/Zurich")
    posts = load_campaigns(cfg).posts
    b, m = best(lambda: load_campaigns(cfg))
    print(f"campaigns: sample schedules -> {len(posts)} occurrences: best {b:.1f} ms, median {m:.1f} ms")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "schedules").mkdir()
        for i in range(20):  # 20 campaigns x 1 year, 2 rules each
            (root / "schedules" / f"c{i}.toml").write_text(f"""
[campaign]
start = 2020-01-01
end = 2020-12-31
[[rule]]
every = "weekdays 09:{i:02d}"
messages = ["a {{date}}", "b {{date}}", "c {{date}}"]
[[rule]]
dates = ["12-10"]
time = "18:00"
text = "day"
""")
        big = Config(root=root, timezone="Europe/Zurich")
        n = len(load_campaigns(big).posts)
        b, m = best(lambda: load_campaigns(big), 5)
        print(f"campaigns: 20 year-long campaigns -> {n} occurrences: best {b:.1f} ms, median {m:.1f} ms")
        allp = load_campaigns(big).posts
        bud = Budget.from_config(big)
        b, m = best(lambda: bud.plan_days(allp), 5)
        print(f"budget: plan_days over {len(allp)} posts: best {b:.1f} ms, median {m:.1f} ms")
    wix = ROOT.parent / "shared" / "data" / "feeds"
    if wix.is_dir():
        from uprbuzz.sources.feeds.feed_fetch import FeedError
        from uprbuzz.sources.feeds.feed_items import parse_feed

        files = sorted((wix / "feedparser" / "tests").rglob("*.xml"))
        blobs = [f.read_bytes() for f in files]
        t = time.perf_counter()
        refused = 0
        for blob in blobs:
            try:
                parse_feed(blob)
            except FeedError:
                refused += 1
        dt = time.perf_counter() - t
        print(f"feeds: feedparser corpus {len(blobs)} files in {dt:.2f} s "
              f"({dt / len(blobs) * 1000:.2f} ms/file), {refused} refused with a clear error")
        big = (wix / "wix" / "adolfstock.de_blog-feed.xml").read_bytes()
        b, m = best(lambda: parse_feed(big), 5)
        print(f"feeds: Wix feed {len(big) // 1024} KB, 20 items: best {b:.0f} ms, median {m:.0f} ms")
    else:
        print(f"feeds: SKIPPED ({wix} not found: no feed corpus to parse)")


if __name__ == "__main__":
    main()
