"""Publish-loop overhead and throughput against the local servers, side by side with a naive bot,
and the cold-start import check.

Servers: the X stand-in runs in its own process (``python -m uprbuzz.sandbox.xapi``, as
``uprbuzz sandbox`` starts it), so it does not share this process's GIL; the Bluesky PDS is the
real local one (Node, its own process). uprbuzz and the naive bot publish the same posts (every
fifth with an image and alt text) to the same two servers in the same run, in alternating order
over the rounds so neither always runs first.

- The naive bot is what a script would do without uprbuzz: tweepy ``create_tweet`` (plus v2
  media upload and alt text) and atproto ``send_post``/``send_image``, one post after the other,
  with no post files, checks, state store, idempotency or retries. The same transports route it
  to the local servers, and its logins happen before timing, as uprbuzz's do.
- Local overhead per publication = (client wall time - time waiting on the server) / publications.
  X: both the time spent inside the stand-in (its ``Server-Timing`` header) and the client-seen
  round trips (requests' ``elapsed``) are reported; overhead is computed from the round trips, so
  loopback and HTTP parsing count as server time and the figure is a lower bound.
  Bluesky: the round-trip time seen by the client's HTTP transport (again an upper bound on
  server time).
- Posts per second per platform (lanes separately) and for both platforms together.
- A cold `uprbuzz publish` with nothing due: which heavy modules it imported (must be none of
  atproto, tweepy) and its wall time.

Run: .venv/bin/python bench/publish.py [N] [--rounds R]   (N posts per run, default 150; R rounds,
default 3, each running uprbuzz and the naive bot once per lane)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/queue.py would shadow the stdlib's queue module: drop this folder from the path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

ALT = "A small chart"
_DUR = re.compile(r"dur=([0-9.]+)")


class Meter:
    """Time spent waiting on the servers, summed over all HTTP requests of one run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.x_server = self.x_rtt = self.bsky_rtt = 0.0
        self.x_requests = self.bsky_requests = 0

    def x_hook(self, resp: Any, *a: Any, **kw: Any) -> None:
        """requests response hook: Server-Timing (inside the stand-in) and the round trip."""
        m = _DUR.search(resp.headers.get("Server-Timing", ""))
        with self.lock:
            self.x_server += float(m.group(1)) / 1000 if m else 0.0
            self.x_rtt += resp.elapsed.total_seconds()
            self.x_requests += 1

    def transport(self) -> Any:
        import httpx

        meter = self

        class Timing(httpx.HTTPTransport):
            def handle_request(self, request):  # type: ignore[no-untyped-def]
                t = time.perf_counter()
                resp = super().handle_request(request)
                resp.read()
                with meter.lock:
                    meter.bsky_rtt += time.perf_counter() - t
                    meter.bsky_requests += 1
                return resp

        return Timing()


METER = Meter()


def start_x(tmp: Path) -> tuple[subprocess.Popen, str, Any]:
    """The X stand-in as its own process (as ``uprbuzz sandbox start`` runs it); (proc, url, account)."""
    from uprbuzz.sandbox.xapi import dump_accounts, make_account
    from uprbuzz.sandbox.xapi_store import DEFAULT_LIMITS

    acct = make_account("bench")
    dump_accounts([acct], tmp / "x-accounts.json")
    limits = "{" + ", ".join(f'"{k}": [1000000000, 900]' for k in DEFAULT_LIMITS) + "}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uprbuzz.sandbox.xapi", "--port", "0", "--accounts",
         str(tmp / "x-accounts.json"), "--processing-seconds", "0", "--limits", limits],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    line = proc.stdout.readline()  # type: ignore[union-attr]
    m = re.search(r"http://\S+", line)
    if not m:
        proc.kill()
        raise SystemExit(f"the X stand-in did not start: {line!r}")
    return proc, m.group(0), acct


def x_env(url: str, acct: Any) -> dict[str, str]:
    return {"UPRBUZZ_X_API_URL": url, "UPRBUZZ_X_CONSUMER_KEY": acct.consumer_key,
            "UPRBUZZ_X_CONSUMER_SECRET": acct.consumer_secret,
            "UPRBUZZ_X_ACCESS_TOKEN": acct.access_token, "UPRBUZZ_X_ACCESS_SECRET": acct.access_secret}


def text(tag: str, i: int) -> str:
    return f"{tag} {i}: 347 recommendations to the United States #UPR36"


def project(root: Path, n: int, tag: str) -> Path:
    from tests.fixtures.publish import make_image, make_project

    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    posts = {}
    for i in range(n):
        media = f"media:\n  - path: media/a.png\n    alt: {ALT}\n" if i % 5 == 0 else ""
        posts[f"b/{i:04d}.md"] = f"---\nat: {at}\nstatus: approved\n{media}---\n{text(tag, i)}\n"
    make_project(root, posts, toml="")
    make_image(root / "media/a.png", 64, 36)
    return root


def run_uprbuzz(name: str, n: int, env: dict[str, str], bsky_cfg: Any, tmp: Path, tag: str) -> dict[str, float]:
    from uprbuzz.clock import SystemClock
    from uprbuzz.config import load_config
    from uprbuzz.platforms.bluesky import BlueskyPlatform
    from uprbuzz.platforms.x import XPlatform
    from uprbuzz.publish.publisher import Publisher
    from uprbuzz.store import Store

    root = project(tmp / f"u-{name}-{tag}", n, f"uprbuzz-{name}-{tag}")
    env = dict(env)
    if bsky_cfg is not None:
        env.update(UPRBUZZ_BLUESKY_PDS=bsky_cfg.pds_url, UPRBUZZ_BLUESKY_HANDLE=bsky_cfg.handle,
                   UPRBUZZ_BLUESKY_PASSWORD=bsky_cfg.password.reveal())
    config = load_config(root, env=env)
    store = Store.open(config)
    plats: dict[str, Any] = {}
    if name in ("x", "both"):
        plats["x"] = XPlatform(config.x)
        plats["x"].client.session.hooks["response"].append(METER.x_hook)
        plats["x"].verify()  # as the naive bot: credentials checked before timing
    if name in ("bluesky", "both"):
        h = str(config.bluesky.handle)
        plats["bluesky"] = BlueskyPlatform(
            config.bluesky, transport=METER.transport(),
            session_load=lambda: store.sessions.load("bluesky", h),
            session_save=lambda s: store.sessions.save("bluesky", h, s))
        plats["bluesky"].verify()  # log in before timing (a one-off, not per publication)
    # the lanes not benchmarked are switched off through the post list
    if name != "both":
        for f in (root / "posts").rglob("*.md"):
            txt = f.read_text()
            f.write_text(txt.replace("status: approved\n", f"status: approved\nplatforms: [{name}]\n", 1))
    pub = Publisher(config, store, clock=SystemClock(), platforms=plats, log=lambda _l: None)
    METER.reset()
    t, c = time.perf_counter(), time.process_time()
    report = pub.publish_due()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    store.close()
    pubs = len(report.published)
    assert report.ok and pubs == n * (2 if name == "both" else 1), report.summary()
    return result(name, wall, cpu, pubs)


def run_naive(name: str, n: int, env: dict[str, str], bsky_cfg: Any, image: bytes, tag: str) -> dict[str, float]:
    """A naive bot: the SDKs called directly in a loop, one post after the other."""
    x = bsky = None
    if name in ("x", "both"):
        import tweepy

        from uprbuzz.platforms.x_http import mount  # only to route api.x.com to the stand-in

        x = tweepy.Client(consumer_key=env["UPRBUZZ_X_CONSUMER_KEY"],
                          consumer_secret=env["UPRBUZZ_X_CONSUMER_SECRET"],
                          access_token=env["UPRBUZZ_X_ACCESS_TOKEN"],
                          access_token_secret=env["UPRBUZZ_X_ACCESS_SECRET"])
        mount(x.session, env["UPRBUZZ_X_API_URL"], 10)
        x.session.hooks["response"].append(METER.x_hook)
        x.get_me(user_auth=True)
        auth = tweepy.OAuth1UserHandler(env["UPRBUZZ_X_CONSUMER_KEY"], env["UPRBUZZ_X_CONSUMER_SECRET"],
                                        env["UPRBUZZ_X_ACCESS_TOKEN"], env["UPRBUZZ_X_ACCESS_SECRET"]).apply_auth()
    if name in ("bluesky", "both"):
        from atproto import Client
        from atproto_client.request import Request

        bsky = Client(base_url=bsky_cfg.pds_url, request=Request(transport=METER.transport()))
        bsky.login(bsky_cfg.handle, bsky_cfg.password.reveal())
    METER.reset()
    t, c = time.perf_counter(), time.process_time()
    for i in range(n):
        body = text(f"naive-{name}-{tag}", i)
        if x is not None:
            media_ids = None
            if i % 5 == 0:
                r = x.session.post("https://api.x.com/2/media/upload", auth=auth,
                                   files={"media": ("a.png", image, "image/png")},
                                   data={"media_category": "tweet_image"})
                r.raise_for_status()
                mid = r.json()["data"]["id"]
                x.session.post("https://api.x.com/2/media/metadata", auth=auth, json={
                    "id": mid, "metadata": {"alt_text": {"text": ALT}}}).raise_for_status()
                media_ids = [mid]
            x.create_tweet(text=body, media_ids=media_ids, user_auth=True)
        if bsky is not None:
            if i % 5 == 0:
                bsky.send_image(body, image=image, image_alt=ALT)
            else:
                bsky.send_post(body)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return result(name, wall, cpu, n * (2 if name == "both" else 1))


def result(name: str, wall: float, cpu: float, pubs: int) -> dict[str, float]:
    return {"wall": wall, "cpu": cpu, "pubs": pubs, "x_server": METER.x_server,
            "rtt": METER.x_rtt if name == "x" else METER.bsky_rtt if name == "bluesky" else 0.0,
            "requests": METER.x_requests if name == "x" else METER.bsky_requests}


def add(a: dict[str, float] | None, b: dict[str, float]) -> dict[str, float]:
    return dict(b) if a is None else {k: a[k] + b[k] for k in a}


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


def show(name: str, who: str, r: dict[str, float]) -> str:
    rate = r["pubs"] / r["wall"]
    if name == "both":
        return (f"both, {who}: {r['pubs']:.0f} publications in {r['wall']:.2f} s = {rate:.1f} "
                f"publications/s ({r['pubs'] / 2 / r['wall']:.1f} posts/s); client CPU "
                f"{r['cpu'] / r['pubs'] * 1000:.2f} ms per publication")
    local = (r["wall"] - r["rtt"]) / r["pubs"] * 1000
    inside = f", {r['x_server']:.2f} s inside the stand-in" if name == "x" else ""
    return (f"{name}, {who}: {r['pubs']:.0f} posts in {r['wall']:.2f} s = {rate:.1f} posts/s; "
            f"{r['requests']:.0f} requests, round trips {r['rtt']:.2f} s{inside}; "
            f"local overhead {local:.2f} ms, client CPU {r['cpu'] / r['pubs'] * 1000:.2f} ms per publication")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=150, help="posts per run (default 150)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, alternating who goes first (default 3)")
    a = ap.parse_args()
    n = a.n
    from uprbuzz.sandbox import pds as glue

    pds = None
    bsky_cfg = None
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        mods, cold = cold_start(tmp)
        heavy = sorted({"atproto", "tweepy", "PIL"} & mods)
        print(f"cold `uprbuzz publish`, nothing due (200 queued): {cold * 1000:.0f} ms; "
              f"heavy modules imported: {heavy or 'none'}")
        xproc, xurl, acct = start_x(tmp)
        try:
            print(f"X stand-in: its own process (pid {xproc.pid}, {xurl}); this process is pid {os.getpid()}")
            if glue.is_installed():
                import secrets

                from uprbuzz.config import BlueskyConfig, Secret

                pds = glue.start_pds()
                h, pw = f"bench{secrets.token_hex(3)}.test", secrets.token_urlsafe(12)
                glue.create_account(pds.url, h, pw)
                bsky_cfg = BlueskyConfig(pds_url=pds.url, handle=h, password=Secret(pw))
                print(f"Bluesky: the real local PDS (Node, pid {pds.pid}, {pds.url})")
            else:
                print(f"NOTE: Bluesky lanes SKIPPED, X only ({glue.NOT_INSTALLED})")
            env = x_env(xurl, acct)
            image = (project(tmp / "img", 0, "img") / "media/a.png").read_bytes()
            lanes = ["x"] + (["bluesky", "both"] if bsky_cfg else [])
            print(f"{n} posts per run (1 in 5 with an image + alt text), {a.rounds} round(s) per lane, "
                  f"totals over the rounds; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
            print("naive bot: tweepy/atproto called directly in a loop, no checks, store or idempotency; "
                  "on 'both' it posts to X then Bluesky, one after the other")
            for name in lanes:
                # warm-up: first-use imports (tweepy, atproto, twitter-text) are a per-process
                # cost, not a per-publication one
                run_uprbuzz(name, 3, env, bsky_cfg, tmp, "warm")
                run_naive(name, 3, env, bsky_cfg, image, "warm")
                tot: dict[str, dict[str, float] | None] = {"uprbuzz": None, "naive bot": None}
                ratios = []
                for rnd in range(a.rounds):
                    order = ["uprbuzz", "naive bot"][:: 1 if rnd % 2 == 0 else -1]
                    this = {}
                    for who in order:
                        this[who] = (run_uprbuzz(name, n, env, bsky_cfg, tmp, f"r{rnd}") if who == "uprbuzz"
                                     else run_naive(name, n, env, bsky_cfg, image, f"r{rnd}"))
                        tot[who] = add(tot[who], this[who])
                    ratios.append(this["naive bot"]["wall"] / this["uprbuzz"]["wall"])
                u, b = tot["uprbuzz"], tot["naive bot"]
                assert u is not None and b is not None
                print(show(name, "uprbuzz", u))
                print(show(name, "naive bot", b))
                ratio = (u["pubs"] / u["wall"]) / (b["pubs"] / b["wall"])
                line = (f"{name}: uprbuzz / naive bot throughput = {ratio:.2f}x (per round: "
                        f"{', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f}x); "
                        f"client CPU {u['cpu'] / b['cpu']:.2f}x the naive bot's")
                if name != "both":
                    lu = (u["wall"] - u["rtt"]) / u["pubs"] * 1000
                    lb = (b["wall"] - b["rtt"]) / b["pubs"] * 1000
                    line += f"; local overhead {lu:.2f} vs {lb:.2f} ms per publication ({lu - lb:+.2f} ms)"
                print(line)
            if not bsky_cfg:
                print("bluesky: SKIPPED (local PDS not installed: tools/local-pds/install.sh)")
        finally:
            if pds is not None:
                pds.stop()
            xproc.terminate()
            xproc.wait(10)


if __name__ == "__main__":
    main()
