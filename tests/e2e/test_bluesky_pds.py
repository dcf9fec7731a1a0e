"""End to end with the real local PDS: the sandbox entry point as a process, and the Bluesky
platform wired to the SQLite state store across separate processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.waiting import wait_for
from uprbuzz.config import BlueskyConfig
from uprbuzz.sandbox import pds as glue

ROOT = Path(__file__).resolve().parents[2]
needs_pds = pytest.mark.skipif(not glue.is_installed(), reason=glue.NOT_INSTALLED)
pytestmark = pytest.mark.e2e


def _read_line(proc: subprocess.Popen, prefix: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix + " "):
            return json.loads(line[len(prefix) + 1:])
    raise AssertionError(f"no {prefix} line from the PDS process")


@needs_pds
def test_sandbox_entry_point_serves_on_loopback_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "uprbuzz.sandbox.pds", "--account", "alice.test:pw-alice-9"],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        ready = _read_line(proc, "READY")
        acct = _read_line(proc, "ACCOUNT")
        assert ready["listenHost"] == "127.0.0.1" and ready["pdsUrl"].startswith("http://localhost:")
        assert acct["handle"] == "alice.test" and acct["did"].startswith("did:plc:")
        port = int(ready["pdsUrl"].rsplit(":", 1)[1])
        assert httpx.get(f"http://127.0.0.1:{port}/xrpc/_health").json()["version"] == "0.5.35"
        with socket.socket() as s:  # not reachable on another interface of this host
            s.settimeout(1)
            other = socket.gethostbyname(socket.gethostname())
            if not other.startswith("127."):
                assert s.connect_ex((other, port)) != 0
        login = httpx.post(f"{ready['pdsUrl']}/xrpc/com.atproto.server.createSession",
                           json={"identifier": "alice.test", "password": "pw-alice-9"})
        assert login.status_code == 200 and login.json()["did"] == acct["did"]
        data_dir = Path(ready["dataDir"])
        assert data_dir.is_dir()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert time.monotonic() - t0 < 10
        launcher_pid = ready["launcherPid"]

        def launcher_gone() -> bool:
            try:
                return "zombie" in Path(f"/proc/{launcher_pid}/status").read_text().lower()
            except FileNotFoundError:
                return True

        wait_for(launcher_gone, 5, "the PDS launcher to exit")
        assert not data_dir.exists()  # temp data removed on exit
    finally:
        if proc.poll() is None:
            proc.kill()


PUBLISH_ONE = textwrap.dedent("""
    import sys
    from uprbuzz.config import load_config
    from uprbuzz.platforms import get_platform
    from uprbuzz.platforms.base import OutgoingPart
    from uprbuzz.store import Store

    config = load_config()
    store = Store.open(config)
    handle = config.bluesky.handle
    p = get_platform("bluesky", config,
                     session_load=lambda: store.sessions.load("bluesky", handle),
                     session_save=lambda s: store.sessions.save("bluesky", handle, s))
    [r] = p.publish([OutgoingPart(sys.argv[1], langs=("en",))], p.new_keys(1))
    print(r.uri)
""")


@needs_pds
def test_separate_processes_share_one_login_through_the_state_store(
        pds: Any, bsky_config: BlueskyConfig, tmp_path: Path) -> None:
    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "e2e"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "UPRBUZZ_ROOT": str(tmp_path),
           "UPRBUZZ_BLUESKY_PDS": pds.url, "UPRBUZZ_BLUESKY_HANDLE": bsky_config.handle or "",
           "UPRBUZZ_BLUESKY_PASSWORD": bsky_config.password.reveal()}  # type: ignore[union-attr]
    script = tmp_path / "publish_one.py"
    script.write_text(PUBLISH_ONE)
    before = pds.counters().get("com.atproto.server.createSession", 0)
    uris = []
    for i in range(4):
        out = subprocess.run([sys.executable, str(script), f"process {i}"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        uris.append(out.stdout.strip())
        assert bsky_config.password.reveal() not in out.stdout + out.stderr  # type: ignore[union-attr]
    assert pds.counters()["com.atproto.server.createSession"] == before + 1
    did = uris[0].split("/")[2]
    listed = httpx.get(f"{pds.url}/xrpc/com.atproto.repo.listRecords",
                       params={"repo": did, "collection": "app.bsky.feed.post"}).json()["records"]
    assert sorted(r["value"]["text"] for r in listed) == [f"process {i}" for i in range(4)]
    state = (tmp_path / ".uprbuzz" / "state.sqlite").read_bytes()
    assert bsky_config.password.reveal().encode() not in state  # type: ignore[union-attr]
