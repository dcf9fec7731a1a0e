from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.live.fakes import FakePlatform
from tests.waiting import wait_for  # noqa: F401  (re-exported to the tests here)
from uprbuzz.config import Config
from uprbuzz.live.console import LiveConsole
from uprbuzz.live.session_file import load_session
from uprbuzz.store import Store

SAMPLE = ROOT / "schedules" / "us-upr-2020.toml"


@pytest.fixture
def live_env(tmp_path: Path):
    """A project with the sample session, a real SQLite store and two fake platforms."""
    config = Config(root=tmp_path)
    store = Store.open(config)
    fakes = {"x": FakePlatform("x"), "bluesky": FakePlatform("bluesky")}
    consoles: list[LiveConsole] = []

    def make(**kw: Any) -> LiveConsole:
        from uprbuzz.publish.publisher import Publisher

        session = kw.pop("session", None) or load_session(SAMPLE)
        con = LiveConsole(config, store, session, retry_cap=0.2,
                          publisher_factory=lambda name: Publisher(
                              config, store, platforms=fakes, sleep=lambda s: None,
                              backoff_base=0.01, max_attempts=2), **kw)
        consoles.append(con)
        return con

    yield config, store, fakes, make
    for c in consoles:
        c.stop()
    store.close()
