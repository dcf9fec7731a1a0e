"""`uprbuzz sandbox start|status|timeline|stop` with real background processes."""

from __future__ import annotations

import json
import shlex

import pytest
from click.testing import CliRunner

from uprbuzz.cli import main
from uprbuzz.config import load_config
from uprbuzz.platforms.base import OutgoingPart
from uprbuzz.platforms.x import XPlatform
from uprbuzz.sandbox import manager, pds


def _env(output: str) -> dict[str, str]:
    env = {}
    for line in output.splitlines():
        if line.startswith("export "):
            k, _, v = line[7:].partition("=")
            env[k] = shlex.split(v)[0]
    return env


@pytest.fixture
def project(tmp_path):
    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "t"\n')
    yield tmp_path
    manager.stop(tmp_path)


def run(project, *args):
    r = CliRunner().invoke(main, ["-C", str(project), "sandbox", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def test_x_sandbox_lifecycle(project):
    out = run(project, "start", "--no-bluesky").stdout
    env = _env(out)
    x_vars = {"API_URL", "CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_SECRET"}
    # two accounts per platform: the channels x and x-es, mastodon and mastodon-es
    assert set(env) == ({f"UPRBUZZ_X_{v}" for v in x_vars} | {f"UPRBUZZ_X_ES_{v}" for v in x_vars}
                        | {f"UPRBUZZ_MASTODON{c}_{v}" for c in ("", "_ES")
                           for v in ("API_URL", "ACCESS_TOKEN")})
    assert env["UPRBUZZ_X_ACCESS_TOKEN"] != env["UPRBUZZ_X_ES_ACCESS_TOKEN"]
    pid = manager.load_state(project)["x"]["pid"]
    assert _env(run(project, "start", "--no-bluesky").stdout) == env  # idempotent
    assert manager.load_state(project)["x"]["pid"] == pid
    st = json.loads(run(project, "status", "--json").stdout)
    assert st["x"]["running"] and st["x"]["url"] == env["UPRBUZZ_X_API_URL"]

    config = load_config(project, env=env)
    x = XPlatform(config.x)
    root, reply = x.publish([OutgoingPart("rehearsal post"), OutgoingPart("and a reply")], [None, None])
    tl = json.loads(run(project, "timeline", "--json").stdout)
    posts = tl["x"]["posts"]
    assert [(p["id"], p["text"], p["in_reply_to"]) for p in posts] == [
        (root.id, "rehearsal post", None), (reply.id, "and a reply", root.id)]
    assert "rehearsal post" in run(project, "timeline").stdout

    assert tl["channels"]["x"]["posts"] and tl["channels"]["x-es"]["posts"] == []
    assert tl["mastodon"]["accounts"] == list(manager.MASTODON_USERS)

    stopped = run(project, "stop").stdout
    assert "stopped X stand-in" in stopped and "stopped Mastodon stand-in" in stopped
    assert not manager.alive(pid)
    assert json.loads(run(project, "status", "--json").stdout)["x"] is None
    # restart: same credentials, timeline kept
    env2 = _env(run(project, "start", "--no-bluesky").stdout)
    assert env2["UPRBUZZ_X_ACCESS_SECRET"] == env["UPRBUZZ_X_ACCESS_SECRET"]
    assert len(json.loads(run(project, "timeline", "--json").stdout)["x"]["posts"]) == 2
    # --fresh: stops the running stand-in and starts with an empty timeline, same credentials
    env3 = _env(run(project, "start", "--no-bluesky", "--fresh").stdout)
    assert env3["UPRBUZZ_X_ACCESS_SECRET"] == env["UPRBUZZ_X_ACCESS_SECRET"]
    assert json.loads(run(project, "timeline", "--json").stdout)["x"]["posts"] == []
    run(project, "stop")


def test_without_pds_says_how_to_install(project, monkeypatch):
    monkeypatch.setattr(pds, "is_installed", lambda: False)
    r = run(project, "start")
    assert "install.sh" in r.stderr and "UPRBUZZ_BLUESKY_PDS" not in r.stdout
    assert "UPRBUZZ_X_API_URL" in r.stdout


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.skipif(not pds.is_installed(), reason="local PDS not installed (tools/local-pds/install.sh)")
def test_with_pds(project):
    env = _env(run(project, "start").stdout)
    assert env["UPRBUZZ_BLUESKY_HANDLE"] == manager.BSKY_HANDLE and env["UPRBUZZ_BLUESKY_PDS"].startswith("http")
    import httpx

    s = httpx.post(env["UPRBUZZ_BLUESKY_PDS"] + "/xrpc/com.atproto.server.createSession",
                   json={"identifier": env["UPRBUZZ_BLUESKY_HANDLE"],
                         "password": env["UPRBUZZ_BLUESKY_PASSWORD"]}).json()
    rec = {"$type": "app.bsky.feed.post", "text": "sandbox hello", "createdAt": "2026-01-01T00:00:00Z"}
    r = httpx.post(env["UPRBUZZ_BLUESKY_PDS"] + "/xrpc/com.atproto.repo.createRecord",
                   headers={"Authorization": f"Bearer {s['accessJwt']}"},
                   json={"repo": s["did"], "collection": "app.bsky.feed.post", "record": rec})
    assert r.status_code == 200
    tl = json.loads(run(project, "timeline", "--json").stdout)
    assert [p["text"] for p in tl["bluesky"]["posts"]] == ["sandbox hello"]
    bpid = manager.load_state(project)["bluesky"]["pid"]
    run(project, "stop")
    assert not manager.alive(bpid)
