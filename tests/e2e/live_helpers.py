"""Shared by the live console's end-to-end tests: a project, a console process, read-backs."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, SHARED
from tests.fixtures.publish import popen_uprbuzz
from tests.waiting import wait_for  # noqa: F401  (re-exported to the tests here)

SAMPLE = ROOT / "schedules" / "us-upr-2020.toml"
REC_CSV = SHARED / "data" / "upr2020" / "us_upr2020_recommendations.csv"
INLINE_REC = ('recommendations = [{ paragraph = "26.46", states = ["Slovakia"], '
              'text = "Abolish the death penalty at the federal level" }]')


def make_live_project(root: Path) -> Path:
    """A project with the sample session as ``schedules/e2e.toml`` plus recommendations."""
    (root / "schedules").mkdir(parents=True, exist_ok=True)
    (root / "uprbuzz.toml").write_text('[project]\nname = "live-e2e"\ntimezone = "UTC"\n',
                                       encoding="utf-8")
    rec = f'recommendations = "{REC_CSV}"' if REC_CSV.is_file() else INLINE_REC
    text = SAMPLE.read_text(encoding="utf-8").replace(
        "# Optional: recommendations = ", rec + "\n# recommendations = ", 1)
    (root / "schedules" / "e2e.toml").write_text(text, encoding="utf-8")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ConsoleProc:
    proc: subprocess.Popen[str]
    url: str
    token: str
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, name: str, body: dict[str, Any], timeout: float = 10) -> httpx.Response:
        return httpx.post(f"{self.base}/api/{name}", content=json.dumps(body), timeout=timeout,
                          headers={"X-Uprbuzz-Token": self.token,
                                   "Content-Type": "application/json"})

    def state(self) -> dict[str, Any]:
        r = httpx.get(f"{self.base}/api/state", headers={"X-Uprbuzz-Token": self.token}, timeout=10)
        r.raise_for_status()
        return r.json()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_console(root: Path, env: dict[str, str], session: str = "e2e",
                  port: int | None = None, token: str | None = None,
                  args: Sequence[str] = ()) -> ConsoleProc:
    """``uprbuzz live SESSION --port PORT *args`` in a process, once it answers."""
    port = port or free_port()
    token = token or secrets.token_urlsafe(16)
    proc = popen_uprbuzz(["live", session, "--port", str(port), *args], root, env,
                         extra_env={"UPRBUZZ_LIVE_TOKEN": token, "PYTHONUNBUFFERED": "1"},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line and proc.poll() is not None:
            raise AssertionError(f"uprbuzz live exited with {proc.returncode}")
        if line.startswith("console: "):
            url = line.split(" ", 1)[1].strip()
            break
    assert url, "uprbuzz live printed no console URL"
    assert url == f"http://127.0.0.1:{port}/?token={token}"
    con = ConsoleProc(proc, url, token, port)
    while time.monotonic() < deadline:  # wait until it answers
        try:
            con.state()
            return con
        except httpx.HTTPError:
            time.sleep(0.05)
    con.stop(signal.SIGKILL)
    raise AssertionError("console did not answer")


def bsky_posts(pds_url: str, handle: str) -> list[dict[str, Any]]:
    from tests.fixtures.publish import pds_records

    return sorted(pds_records(pds_url, handle), key=lambda r: r["value"]["createdAt"])


def rss_kb(pid: int) -> int:
    """The resident set size of process ``pid`` in kB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


# Collects the page's Content-Security-Policy violations in window.__cspViolations (an init
# script: it runs before the console's own script).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sample);
});
"""


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (skips, or fails under
    UPRBUZZ_REQUIRE_SERVERS, when it is not installed)."""
    import pytest

    exe = chromium_path()
    if exe is None:
        if os.environ.get("UPRBUZZ_REQUIRE_SERVERS"):
            pytest.fail("Chromium is missing (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=chromium_args())
        try:
            yield b
        finally:
            b.close()


def chromium_args() -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(p):
            return p
    return None
