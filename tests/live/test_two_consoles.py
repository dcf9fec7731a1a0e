"""Two consoles (two processes' worth: each its own store connection) on one session and one
ledger follow each other: PostgreSQL by LISTEN/NOTIFY, SQLite by polling the file's
data_version. Their pages are pushed within 1 s of the other console's change."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.live.fakes import FakePlatform
from tests.waiting import wait_for
from uprbuzz.config import Config
from uprbuzz.live.console import LiveConsole
from uprbuzz.live.session_file import load_session
from uprbuzz.store import Store

SAMPLE = ROOT / "schedules" / "us-upr-2020.toml"


def _console(root: Path, url: str, fakes: dict[str, FakePlatform]) -> tuple[LiveConsole, Store]:
    from uprbuzz.publish.publisher import Publisher

    config = Config(root=root)
    store = Store.open(url)
    con = LiveConsole(config, store, load_session(SAMPLE), retry_cap=0.2,
                      publisher_factory=lambda name: Publisher(
                          config, store, platforms=fakes, sleep=lambda s: None,
                          backoff_base=0.01, max_attempts=2))
    return con, store


def test_two_consoles_follow_each_other(tmp_path: Path, store_url: str) -> None:
    fakes = {"x": FakePlatform("x"), "bluesky": FakePlatform("bluesky")}
    a, sa = _console(tmp_path / "a", store_url, fakes)
    b, sb = _console(tmp_path / "b", store_url, fakes)
    pushed = threading.Event()
    try:
        a.start()
        b.start()
        b.subscribe(lambda v: pushed.set())
        time.sleep(0.7)  # the start's own writes settle
        pushed.clear()

        t0 = time.monotonic()
        a.sync("00:30:10")
        assert pushed.wait(1.0), "B's pages were not pushed A's sync"
        took = time.monotonic() - t0
        wait_for(lambda: b.offset() >= 30 * 60 + 10 - 1, timeout=1.0)
        assert b.who()["speaker"] == "Slovakia"

        a.mark("Slovenia")
        wait_for(lambda: b.who()["speaker"] == "Slovenia", timeout=1.0)

        pushed.clear()
        lp = a.submit("From A: Slovakia opens the dialogue. #UPR36")
        assert pushed.wait(1.0)
        assert any(p["n"] == lp.n for p in b.state()["posts"])

        # the same cue fired from both consoles at once: one post, sent once per channel
        got: list[object] = []
        fire = [threading.Thread(target=lambda c=c: got.append(c.fire_cue("watch-live")))
                for c in (a, b)]
        for t in fire:
            t.start()
        for t in fire:
            t.join()
        assert sum(x is not None for x in got) == 1
        wait_for(lambda: all(p["state"] == "sent" for p in b.state()["posts"]), timeout=10)
        for f in fakes.values():
            assert sum(str(p["text"]).startswith("Starting now: the UPR") for p in f.posts) == 1

        # a post both consoles hold (B picks up A's post while A is sending it, as after a
        # restart of B): one sender sends it, the ledger's claim keeps the other out
        calls = {k: f.calls for k, f in fakes.items()}
        for f in fakes.values():
            f.gate = threading.Event()
        lp = a.submit("Held by both consoles. #UPR36")
        wait_for(lambda: all(f.calls > calls[k] for k, f in fakes.items()), timeout=5)
        for ch in b.targets:
            b.workers[ch].enqueue(lp.n)
        time.sleep(1.0)
        for f in fakes.values():
            assert f.gate is not None
            f.gate.set()
        wait_for(lambda: all(p["state"] == "sent" for p in a.state()["posts"]), timeout=20)
        time.sleep(1.0)
        for f in fakes.values():
            assert sum(p["text"] == "Held by both consoles. #UPR36" for p in f.posts) == 1
        kind = "postgresql" if store_url.startswith("postgresql") else "sqlite"
        print(f"{kind}: A's sync pushed to B's pages after {took:.3f} s")
    finally:
        a.stop()
        b.stop()
        sa.close()
        sb.close()
