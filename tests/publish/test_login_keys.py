"""Stored platform logins are keyed by server and account: a new server (a fresh sandbox, a
moved PDS) never reuses an old login."""

from __future__ import annotations

from tests.fixtures.publish import make_project
from uprbuzz.config import load_config
from uprbuzz.publish.publisher import Publisher
from uprbuzz.store import Store

ENV = {"UPRBUZZ_BLUESKY_PDS": "http://127.0.0.1:2583", "UPRBUZZ_BLUESKY_HANDLE": "me.test",
       "UPRBUZZ_BLUESKY_PASSWORD": "pw"}


def test_a_bluesky_login_is_kept_per_server(tmp_path):
    root = make_project(tmp_path / "p", {})
    config = load_config(root, env=ENV)
    with Store.open(config) as store:
        store.sessions.save("bluesky", "http://127.0.0.1:9999#me.test", "old server's session")
        plat = Publisher(config, store).platform("bluesky")
        assert plat._session_load() is None  # type: ignore[attr-defined]
        plat._session_save("this server's session")  # type: ignore[attr-defined]
        again = Publisher(config, store).platform("bluesky")
        assert again._session_load() == "this server's session"  # type: ignore[attr-defined]
