"""Live console latency: submit -> accepted by both platforms, against the local servers.

The X stand-in runs as its own process (no shared GIL), the Bluesky PDS is the real local one
(skipped, with a note, when it is not installed). Posts go through the console core exactly as
the web app sends them (store first, then both platform lanes in parallel, each through the
publish loop). For each post:
  total     = submit -> the later platform's acceptance is recorded;
  platform  = time inside the platform client's publish call on that lane (SDK + HTTP + server);
  overhead  = the larger, over the two lanes, of (lane's acceptance - submit - its platform time):
              what uprbuzz adds locally (checks, store writes, queueing, claim/record, card render).
Usage: .venv/bin/python bench/live.py [TEXT_POSTS] [CARD_POSTS]
"""

from __future__ import annotations

import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "src"))

from uprbuzz.config import BlueskyConfig, Config, Secret, XConfig  # noqa: E402
from uprbuzz.live.console import LiveConsole  # noqa: E402
from uprbuzz.live.session_file import load_session  # noqa: E402
from uprbuzz.sandbox.xapi import dump_accounts, make_account  # noqa: E402
from uprbuzz.store import Store  # noqa: E402

SAMPLE = _HERE.parent / "schedules" / "us-upr-2020.toml"


class Timed:
    """A platform wrapper that records the time spent in ``publish``, keyed by the first text."""

    def __init__(self, inner: Any, spent: dict[tuple[str, str], float]) -> None:
        self.inner, self.spent = inner, spent
        self.name, self.limits = inner.name, inner.limits

    def publish(self, parts: Any, keys: Any, reply_to: Any = None) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner.publish(parts, keys, reply_to)
        finally:
            self.spent[(self.name, parts[0].text)] = time.perf_counter() - t0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class BenchConsole(LiveConsole):
    """Records when each lane's acceptance is recorded (the moment the page would show it)."""

    accepted: dict[tuple[int, str], float]

    def update_platform(self, n: int, platform: str, notify: bool = True, **info: Any) -> None:
        super().update_platform(n, platform, notify, **info)
        if info.get("state") == "sent":
            self.accepted[(n, platform)] = time.perf_counter()
            self.done.set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main(n_text: int = 100, n_card: int = 100) -> None:
    from uprbuzz.publish.publisher import Publisher

    tmp = Path(tempfile.mkdtemp(prefix="uprbuzz-bench-live-"))
    acct = make_account("bench")
    dump_accounts([acct], tmp / "accounts.json")
    xport = free_port()
    xproc = subprocess.Popen(
        [sys.executable, "-m", "uprbuzz.sandbox.xapi", "--port", str(xport), "--accounts",
         str(tmp / "accounts.json"), "--processing-seconds", "0",
         "--limits", '{"POST /2/tweets": [1000000, 900]}'],
        stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": str(_HERE.parent / "src")})
    pds = None
    try:
        xproc.stdout.readline()  # type: ignore[union-attr]
        xcfg = XConfig(api_url=f"http://127.0.0.1:{xport}", consumer_key=Secret(acct.consumer_key),
                       consumer_secret=Secret(acct.consumer_secret),
                       access_token=Secret(acct.access_token),
                       access_secret=Secret(acct.access_secret), timeout=10)
        from uprbuzz.sandbox import pds as glue

        if glue.is_installed():
            pds = glue.start_pds()
            handle, pw = f"bench{secrets.token_hex(3)}.test", secrets.token_urlsafe(12)
            glue.create_account(pds.url, handle, pw)
            bcfg = BlueskyConfig(pds_url=pds.url, handle=handle, password=Secret(pw), timeout=10)
        else:
            print(f"note: {glue.NOT_INSTALLED}; measuring X only")
            bcfg = BlueskyConfig(enabled=False)
        (tmp / "uprbuzz.toml").write_text("", encoding="utf-8")
        config = Config(root=tmp, x=xcfg, bluesky=bcfg, budget={"x": 100_000, "bluesky": 100_000})
        store = Store.open(config)
        spent: dict[tuple[str, str], float] = {}
        base = Publisher(config, store)
        plats = {p: Timed(base.platform(p), spent) for p in config.platforms}
        con = BenchConsole(config, store, load_session(SAMPLE), publisher_factory=lambda name:
                           Publisher(config, store, platforms=plats))
        con.accepted, con.done = {}, threading.Event()
        con.start()
        first = con.ensure_anchor()
        _wait(con, first.n)
        for kind, count in (("text", n_text), ("card", n_card)):
            if count == 0:
                continue
            totals, overheads, platform_times = [], [], []
            for i in range(count + 3):  # 3 warm-up posts (first render, first connection)
                tag = f"{time.time_ns()}"
                t0 = time.perf_counter()
                if kind == "text":
                    lp = con.submit(f"Live {i}: Slovakia asks about the death penalty #UPR36 {tag}")
                else:
                    lp = con.submit_card("Slovakia", f"26.{i + 1}",
                                         f"Abolish the death penalty, item {i} ({tag})")
                _wait(con, lp.n)
                if i < 3:
                    continue
                ends = {p: con.accepted[(lp.n, p)] for p in con.targets}
                totals.append(max(ends.values()) - t0)
                inside = {p: spent.get((p, lp.text), 0.0) for p in con.targets}
                overheads.append(max(ends[p] - t0 - inside[p] for p in con.targets))
                platform_times.append(max(inside.values()))
            ms = lambda v: v * 1000  # noqa: E731
            print(f"live {kind} posts to {'+'.join(con.targets)} (n={count}): submit->accepted "
                  f"median {ms(statistics.median(totals)):.1f} ms, p95 {ms(pct(totals, 95)):.1f} ms; "
                  f"in platform calls median {ms(statistics.median(platform_times)):.1f} ms; "
                  f"local overhead median {ms(statistics.median(overheads)):.1f} ms, "
                  f"p95 {ms(pct(overheads, 95)):.1f} ms "
                  f"(target <= {30 if kind == 'text' else 80} ms median)")
        con.stop()
        store.close()
    finally:
        xproc.terminate()
        xproc.wait(10)
        if pds is not None:
            pds.stop()


def _wait(con: BenchConsole, n: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not all((n, p) in con.accepted for p in con.targets):
        lp = con.store.post(con.key, n)
        if lp and lp.state == "failed":
            raise SystemExit(f"post {n} failed: {lp.platforms}")
        con.done.wait(0.5)
        con.done.clear()
        if time.monotonic() > end:
            raise SystemExit(f"post {n} not accepted in {timeout} s: {con.store.post(con.key, n)}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
