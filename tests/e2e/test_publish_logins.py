"""Bluesky sessions are reused across processes: 100 consecutive `uprbuzz publish` runs, each
sending one post to the real PDS, make exactly one password login (createSession)."""

from __future__ import annotations

import time

import pytest

from tests.fixtures.publish import make_project, pds_records, pub_env, run_uprbuzz

pytestmark = pytest.mark.e2e


@pytest.mark.slow
def test_hundred_processes_one_login(tmp_path, bsky_config, pds):
    n = 100
    posts = {f"s/{i:03d}.md": f"---\nstatus: approved\nplatforms: [bluesky]\n---\nSession reuse {i:03d}\n"
             for i in range(n)}
    root = make_project(tmp_path / "proj", posts, toml="[platforms.x]\nenabled = false\n")
    env = {k: v for k, v in pub_env(type("NoX", (), {"env": {}})(), bsky_config).items()}
    before = pds.counters().get("com.atproto.server.createSession", 0)
    t0 = time.monotonic()
    for i in range(n):
        r = run_uprbuzz(["publish", f"s/{i:03d}"], root, env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"posted s/{i:03d} part 1" in r.stdout
    elapsed = time.monotonic() - t0
    after = pds.counters().get("com.atproto.server.createSession", 0)
    assert after - before == 1, f"{after - before} password logins in {n} processes"
    texts = sorted(r["value"]["text"] for r in pds_records(pds.url, bsky_config.handle))
    assert texts == [f"Session reuse {i:03d}" for i in range(n)]
    # a run with nothing due builds no platform at all (and so cannot log in)
    idle = run_uprbuzz(["publish"], root, env)
    assert idle.returncode == 0 and "0 published" in idle.stdout
    assert pds.counters().get("com.atproto.server.createSession", 0) == after
    assert elapsed < 400
