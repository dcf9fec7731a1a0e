"""``uprbuzz sandbox``: the X stand-in and a local Bluesky PDS as background processes.

State lives in ``<root>/.uprbuzz/sandbox.json`` (pids, ports, accounts; mode 600). The X
stand-in keeps its timeline in ``.uprbuzz/sandbox/x-state.json`` and its accounts in
``x-accounts.json`` (kept across restarts so exported credentials stay valid). The PDS starts
fresh each time (its PLC directory is in memory) and the account is created again.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from uprbuzz.errors import UprbuzzError

BSKY_HANDLE = "coalition.test"


class SandboxError(UprbuzzError, RuntimeError):
    pass


def paths(root: Path) -> dict[str, Path]:
    base = root / ".uprbuzz"
    return {"state": base / "sandbox.json", "dir": base / "sandbox",
            "x_state": base / "sandbox" / "x-state.json", "x_accounts": base / "sandbox" / "x-accounts.json",
            "x_log": base / "sandbox" / "x.log", "pds_log": base / "sandbox" / "pds.log"}


def load_state(root: Path) -> dict[str, Any]:
    p = paths(root)["state"]
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _save_state(root: Path, state: dict[str, Any]) -> None:
    p = paths(root)["state"]
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    tmp.chmod(0o600)
    os.replace(tmp, p)


def alive(pid: int | None) -> bool:
    """The process runs and is one of ours (guards against a recycled pid)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return b"uprbuzz.sandbox" in cmd and ") Z " not in stat


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", *args], stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=dict(os.environ))


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(f"the process exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SandboxError(f"{url} did not answer within {timeout:.0f} s")


def start_x(root: Path, port: int | None = None) -> dict[str, Any]:
    from uprbuzz.sandbox.xapi import dump_accounts, load_accounts, make_account

    p = paths(root)
    if p["x_accounts"].is_file():
        accounts = load_accounts(p["x_accounts"])
    else:
        accounts = [make_account("upr_coalition")]
        dump_accounts(accounts, p["x_accounts"])
    port = port or _free_port()
    proc = _spawn(["uprbuzz.sandbox.xapi", "--port", str(port), "--state", str(p["x_state"]),
                   "--accounts", str(p["x_accounts"])], p["x_log"])
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/_admin/health", proc, 15)
    except SandboxError as e:
        raise SandboxError(f"X stand-in did not start ({e}); see {p['x_log']}") from e
    a = accounts[0]
    return {"pid": proc.pid, "port": port, "url": url, "user_id": a.user_id, "username": a.username,
            "consumer_key": a.consumer_key, "consumer_secret": a.consumer_secret,
            "access_token": a.access_token, "access_secret": a.access_secret}


def start_bluesky(root: Path, timeout: float = 120.0) -> dict[str, Any]:
    from uprbuzz.sandbox import pds

    p = paths(root)
    p["pds_log"].parent.mkdir(parents=True, exist_ok=True)
    p["pds_log"].write_bytes(b"")
    proc = _spawn(["uprbuzz.sandbox.pds"], p["pds_log"])
    deadline, ready = time.monotonic() + timeout, None
    while ready is None:
        for line in p["pds_log"].read_text(errors="replace").splitlines():
            if line.startswith("READY "):
                ready = json.loads(line[6:])
        if ready is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGTERM)
                raise SandboxError(f"local PDS did not start; see {p['pds_log']}")
            time.sleep(0.2)
    password = secrets.token_urlsafe(18)
    acct = pds.create_account(ready["pdsUrl"], BSKY_HANDLE, password)
    return {"pid": proc.pid, "url": ready["pdsUrl"], "handle": acct["handle"], "did": acct["did"],
            "password": password}


def start(root: Path, *, x_port: int | None = None, bluesky: bool = True,
          fresh: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Start what is not running; returns (state, notes for the user).

    ``fresh``: stop what runs and forget the X timeline first, so both platforms start empty.
    """
    notes: list[str] = []
    if fresh:
        notes.extend(stop(root))
        paths(root)["x_state"].unlink(missing_ok=True)
        notes.append("fresh sandbox: earlier X timeline discarded")
    state = load_state(root)
    x = state.get("x")
    if x and alive(x.get("pid")):
        notes.append(f"X stand-in already running at {x['url']} (pid {x['pid']})")
    else:
        state["x"] = start_x(root, x_port)
        notes.append(f"X stand-in started at {state['x']['url']} (pid {state['x']['pid']})")
    b = state.get("bluesky")
    if not bluesky:
        pass
    elif b and alive(b.get("pid")):
        notes.append(f"local PDS already running at {b['url']} (pid {b['pid']})")
    else:
        from uprbuzz.sandbox import pds

        state.pop("bluesky", None)
        if not pds.is_installed():
            notes.append(pds.NOT_INSTALLED + "; then run `uprbuzz sandbox start` again. Bluesky not started.")
        else:
            state["bluesky"] = start_bluesky(root)
            notes.append(f"local PDS started at {state['bluesky']['url']} as {state['bluesky']['handle']}")
    state["started_at"] = state.get("started_at") or time.time()
    _save_state(root, state)
    return state, notes


def exports(state: dict[str, Any]) -> list[str]:
    env: dict[str, str] = {}
    if x := state.get("x"):
        env.update(UPRBUZZ_X_API_URL=x["url"], UPRBUZZ_X_CONSUMER_KEY=x["consumer_key"],
                   UPRBUZZ_X_CONSUMER_SECRET=x["consumer_secret"], UPRBUZZ_X_ACCESS_TOKEN=x["access_token"],
                   UPRBUZZ_X_ACCESS_SECRET=x["access_secret"])
    if b := state.get("bluesky"):
        env.update(UPRBUZZ_BLUESKY_PDS=b["url"], UPRBUZZ_BLUESKY_HANDLE=b["handle"],
                   UPRBUZZ_BLUESKY_PASSWORD=b["password"])
    return [f"export {k}={shlex.quote(v)}" for k, v in env.items()]


def status(root: Path) -> dict[str, Any]:
    state = load_state(root)
    out: dict[str, Any] = {}
    for name in ("x", "bluesky"):
        s = state.get(name)
        out[name] = None if not s else {"running": alive(s.get("pid")), "pid": s.get("pid"), "url": s.get("url"),
                                        "account": s.get("username") or s.get("handle")}
    return out


def _terminate(pid: int, timeout: float = 15.0) -> bool:
    if not alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap our child (tests start/stop in-process)
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def stop(root: Path) -> list[str]:
    state, notes = load_state(root), []
    for name, label in (("bluesky", "local PDS"), ("x", "X stand-in")):
        s = state.get(name)
        if s and _terminate(int(s["pid"])):
            notes.append(f"stopped {label} (pid {s['pid']})")
    if not notes:
        notes.append("nothing was running")
    paths(root)["state"].unlink(missing_ok=True)
    return notes


def timeline(root: Path) -> dict[str, Any]:
    """What each local platform holds: X from the stand-in (or its state file), Bluesky from
    listRecords on the PDS for the sandbox account."""
    import httpx

    state, p = load_state(root), paths(root)
    out: dict[str, Any] = {"x": None, "bluesky": None}
    x = state.get("x")
    data = None
    if x and alive(x.get("pid")):
        data = httpx.get(x["url"] + "/_admin/timeline", timeout=10).json()
    elif p["x_state"].is_file():
        data = json.loads(p["x_state"].read_text(encoding="utf-8"))
    if data is not None:
        out["x"] = {"url": x["url"] if x else None, "account": (x or {}).get("username"), "posts": [
            {"id": t["id"], "text": t["text"], "created_at": t["created_at"], "deleted": t["deleted"],
             "in_reply_to": t["in_reply_to_tweet_id"], "conversation_id": t["conversation_id"],
             "alt_texts": t.get("alt_texts", []),
             "url": t.get("url") or f"https://x.com/{(x or {}).get('username', 'i')}/status/{t['id']}"}
            for t in data.get("tweets", [])]}
    b = state.get("bluesky")
    if b and alive(b.get("pid")):
        records, cursor = [], None
        while True:
            params = {"repo": b["did"], "collection": "app.bsky.feed.post", "limit": 100,
                      **({"cursor": cursor} if cursor else {})}
            r = httpx.get(b["url"] + "/xrpc/com.atproto.repo.listRecords", params=params, timeout=10)
            r.raise_for_status()
            body = r.json()
            records += body.get("records", [])
            cursor = body.get("cursor")
            if not cursor or not body.get("records"):
                break
        out["bluesky"] = {"url": b["url"], "account": b["handle"], "did": b["did"], "posts": [
            {"uri": rec["uri"], "cid": rec["cid"], "text": rec["value"].get("text", ""),
             "created_at": rec["value"].get("createdAt"), "langs": rec["value"].get("langs"),
             "reply": rec["value"].get("reply"), "embed": (rec["value"].get("embed") or {}).get("$type")}
            for rec in sorted(records, key=lambda r: r["value"].get("createdAt", ""))]}
    return out
