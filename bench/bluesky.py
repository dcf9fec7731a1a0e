"""Bluesky against the real local PDS: PDS install/start time, per-post local overhead (time
not spent waiting for the server: record building, CIDs, image re-encoding, SDK plumbing),
and posts per second.

Run: .venv/bin/python bench/bluesky.py   (needs tools/local-pds/install.sh; skips otherwise)
"""

from __future__ import annotations

import io
import secrets
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from uprbuzz.config import BlueskyConfig, Secret  # noqa: E402
from uprbuzz.platforms.base import OutgoingMedia, OutgoingPart  # noqa: E402
from uprbuzz.sandbox import pds as glue  # noqa: E402


class TimedTransport(httpx.BaseTransport):
    """Accumulates the wall time spent inside HTTP round trips (= server + loopback time)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seconds = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        t = time.perf_counter()
        try:
            resp = self.inner.handle_request(request)
            resp.read()
            return resp
        finally:
            self.seconds += time.perf_counter() - t


def png(w: int, h: int) -> bytes:
    from PIL import Image

    im = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def measure(p: object, transport: TimedTransport, make_parts: object, n: int) -> tuple[float, float]:
    """(mean total ms, mean local-overhead ms) per publish call."""
    totals, local = [], []
    for i in range(n):
        parts = make_parts(i)  # type: ignore[operator]
        keys = p.new_keys(len(parts))  # type: ignore[attr-defined]
        transport.seconds = 0.0
        t = time.perf_counter()
        p.publish(parts, keys)  # type: ignore[attr-defined]
        total = time.perf_counter() - t
        totals.append(total * 1000)
        local.append((total - transport.seconds) * 1000)
    return statistics.mean(totals), statistics.median(local)


def main() -> int:
    if not glue.is_installed():
        print(f"SKIP: {glue.NOT_INSTALLED}")
        return 0
    secs = glue.tools_dir() / "pds" / "node_modules" / ".uprbuzz-install-seconds"
    if secs.is_file():
        print(f"PDS install (last run of install.sh): {secs.read_text().strip()} s")
    starts = []
    for _ in range(3):
        t = time.perf_counter()
        h = glue.start_pds()
        starts.append(time.perf_counter() - t)
        h.stop()
    print(f"PDS start, spawn -> READY: median {statistics.median(starts):.2f} s "
          f"(runs: {', '.join(f'{s:.2f}' for s in starts)})")

    from uprbuzz.platforms.bluesky import BlueskyPlatform

    with glue.start_pds() as h:
        handle, pw = f"bench{secrets.token_hex(3)}.test", secrets.token_urlsafe(12)
        glue.create_account(h.url, handle, pw)
        tr = TimedTransport()
        p = BlueskyPlatform(BlueskyConfig(pds_url=h.url, handle=handle, password=Secret(pw)),
                            transport=tr)
        t = time.perf_counter()
        p.verify()  # import atproto + login, once
        print(f"first call (atproto import + password login): {time.perf_counter() - t:.2f} s")
        img = png(1200, 675)
        cases = {
            "text post (facets)": lambda i: [OutgoingPart(f"post {i} #UPR https://example.org/{i}")],
            "image post (PNG 1200x675)": lambda i: [OutgoingPart(f"img {i}", media=(
                OutgoingMedia(img, "image/png", "gradient", 1200, 675),))],
            "3-part thread (1 applyWrites)": lambda i: [OutgoingPart(f"t{i} part {k}") for k in (1, 2, 3)],
        }
        for name, make in cases.items():
            measure(p, tr, make, 3)  # warm-up
            total, local = measure(p, tr, make, 30)
            print(f"{name}: {total:.1f} ms per publish, local overhead {local:.2f} ms (median)")
        n = 200
        t = time.perf_counter()
        for i in range(n):
            p.publish([OutgoingPart(f"throughput {i}")], p.new_keys(1))
        el = time.perf_counter() - t
        print(f"throughput: {n / el:.0f} posts/s sequential ({n} text posts)")
        rss = Path(f"/proc/{h.pid}/status").read_text().split("VmRSS:")[1].split("\n")[0].strip()
        print(f"PDS RSS after the run: {rss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
