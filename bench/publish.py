"""Publish-loop overhead and throughput against the local servers, and the cold-start import check.

- Local overhead per publication = (client wall time - time spent in the server) / publications.
  X stand-in: server time is measured inside the stand-in (its request handler, in-process).
  PDS (Node, another process): the round-trip time seen by the client's HTTP transport, so the
  figure there is an *upper* bound on server time (loopback and HTTP parsing count as server).
- Posts per second per platform (lanes separately) and for both platforms together.
- A cold `uprbuzz publish` with nothing due: which heavy modules it imported (must be none of
  atproto, tweepy) and its wall time.

Run: .venv/bin/python bench/publish.py [N]   (N posts, default 150)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/queue.py would shadow the stdlib's queue module: drop this folder from the path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

_server_time = threading.local()
_totals = {"x_server": 0.0, "x_requests": 0, "bsky_rtt": 0.0, "bsky_requests": 0}
_lock = threading.Lock()


def instrument_xapi() -> None:
    from uprbuzz.sandbox import xapi

    orig = xapi._Handler._handle  # type: ignore[attr-defined]

    def timed(self, *a, **kw):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return orig(self, *a, **kw)
        finally:
            with _lock:
                _totals["x_server"] += time.perf_counter() - t
                _totals["x_requests"] += 1

    xapi._Handler._handle = timed  # type: ignore[attr-defined]


def timing_transport():  # type: ignore[no-untyped-def]
    import httpx

    class Timing(httpx.HTTPTransport):
        def handle_request(self, request):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            resp = super().handle_request(request)
            resp.read()
            with _lock:
                _totals["bsky_rtt"] += time.perf_counter() - t
                _totals["bsky_requests"] += 1
            return resp

    return Timing()


def project(root: Path, n: int, tag: str) -> Path:
    from tests.fixtures.publish import make_image, make_project

    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    posts = {}
    for i in range(n):
        media = "media:\n  - path: media/a.png\n    alt: A small chart\n" if i % 5 == 0 else ""
        posts[f"b/{i:04d}.md"] = (f"---\nat: {at}\nstatus: approved\n{media}---\n"
                                  f"{tag} {i}: 347 recommendations to the United States #UPR36\n")
    make_project(root, posts, toml="")
    make_image(root / "media/a.png", 64, 36)
    return root


def run_lane(name: str, n: int, xsrv, bsky_cfg, tmp: Path, tag: str = "") -> dict[str, float]:  # type: ignore[no-untyped-def]
    from tests.fixtures.xapi import ACCOUNT, env_for
    from uprbuzz.clock import SystemClock
    from uprbuzz.config import load_config
    from uprbuzz.platforms.bluesky import BlueskyPlatform
    from uprbuzz.platforms.x import XPlatform
    from uprbuzz.publish.publisher import Publisher
    from uprbuzz.store import Store

    root = project(tmp / f"p-{name}{tag}", n, f"bench-{name}{tag}")
    env = {}
    if xsrv is not None:
        env.update(env_for(xsrv, ACCOUNT))
    if bsky_cfg is not None:
        env.update(UPRBUZZ_BLUESKY_PDS=bsky_cfg.pds_url, UPRBUZZ_BLUESKY_HANDLE=bsky_cfg.handle,
                   UPRBUZZ_BLUESKY_PASSWORD=bsky_cfg.password.reveal())
    config = load_config(root, env=env)
    store = Store.open(config)
    plats = {}
    if name in ("x", "both"):
        plats["x"] = XPlatform(config.x)
    if name in ("bluesky", "both"):
        h = str(config.bluesky.handle)
        plats["bluesky"] = BlueskyPlatform(
            config.bluesky, transport=timing_transport(),
            session_load=lambda: store.sessions.load("bluesky", h),
            session_save=lambda s: store.sessions.save("bluesky", h, s))
        plats["bluesky"].verify()  # log in before timing (a one-off, not per publication)
    for k in _totals:
        _totals[k] = 0 if isinstance(_totals[k], int) else 0.0
    # the lanes not benchmarked are switched off through the post list
    for f in (root / "posts").rglob("*.md"):
        txt = f.read_text()
        if name != "both":
            f.write_text(txt.replace("status: approved\n", f"status: approved\nplatforms: [{name}]\n", 1))
    pub = Publisher(config, store, clock=SystemClock(), platforms=plats, log=lambda _l: None)
    t = time.perf_counter()
    report = pub.publish_due()
    wall = time.perf_counter() - t
    store.close()
    pubs = len(report.published)
    assert report.ok and pubs == n * (2 if name == "both" else 1), report.summary()
    server = _totals["x_server"] if name == "x" else _totals["bsky_rtt"]
    return {"wall": wall, "pubs": pubs, "server": server,
            "requests": _totals["x_requests"] if name == "x" else _totals["bsky_requests"]}


def cold_start(tmp: Path) -> tuple[set[str], float]:
    from tests.fixtures.publish import make_project

    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
    root = make_project(tmp / "cold", {f"c{i}.md": f"---\nat: {soon}\nstatus: approved\n---\nLater {i}\n"
                                       for i in range(200)})
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    cmd = [sys.executable, "-X", "importtime", "-m", "uprbuzz", "-C", str(root), "publish"]
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm the parse cache / pyc
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    mods = {ln.split("|")[-1].strip().split(".")[0] for ln in r.stderr.splitlines()
            if ln.startswith("import time:")}
    return mods, wall


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    from tests.fixtures.xapi import ACCOUNT
    from uprbuzz.sandbox import pds as glue
    from uprbuzz.sandbox.xapi import serve
    from uprbuzz.sandbox.xapi_store import DEFAULT_LIMITS

    instrument_xapi()
    xsrv = serve(accounts=[ACCOUNT], processing_seconds=0.0,
                 limits={k: (10**9, 900) for k in DEFAULT_LIMITS})
    handle = None
    bsky_cfg = None
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        mods, cold = cold_start(tmp)
        heavy = sorted({"atproto", "tweepy", "PIL"} & mods)
        print(f"cold `uprbuzz publish`, nothing due (200 queued): {cold * 1000:.0f} ms; "
              f"heavy modules imported: {heavy or 'none'}")
        if glue.is_installed():
            import secrets

            from uprbuzz.config import BlueskyConfig, Secret

            handle = glue.start_pds()
            h, pw = f"bench{secrets.token_hex(3)}.test", secrets.token_urlsafe(12)
            glue.create_account(handle.url, h, pw)
            bsky_cfg = BlueskyConfig(pds_url=handle.url, handle=h, password=Secret(pw))
        try:
            lanes = ["x"] + (["bluesky", "both"] if bsky_cfg else [])
            for name in lanes:
                # warm-up: first-use imports (tweepy, atproto, twitter-text) are a per-process
                # cost, not a per-publication one
                run_lane(name, 3, xsrv, bsky_cfg, tmp, "-warm")
                r = run_lane(name, n, xsrv, bsky_cfg, tmp)
                rate = r["pubs"] / r["wall"]
                if name == "both":
                    print(f"both platforms in parallel: {r['pubs']} publications in "
                          f"{r['wall']:.2f} s = {rate:.1f} publications/s ({n / r['wall']:.1f} posts/s)")
                    continue
                local = (r["wall"] - r["server"]) / r["pubs"] * 1000
                what = "server-side" if name == "x" else "client-measured round trip (upper bound)"
                print(f"{name}: {r['pubs']} posts in {r['wall']:.2f} s = {rate:.1f} posts/s; "
                      f"{r['requests']} requests, {what} {r['server']:.2f} s; "
                      f"local overhead {local:.2f} ms per publication")
            if not bsky_cfg:
                print("bluesky: skipped (local PDS not installed: tools/local-pds/install.sh)")
        finally:
            if handle is not None:
                handle.stop()
            xsrv.stop()


if __name__ == "__main__":
    main()
