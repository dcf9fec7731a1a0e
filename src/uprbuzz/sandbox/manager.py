"""``uprbuzz sandbox``: the X and Mastodon stand-ins and a local Bluesky PDS as background
processes, with two accounts on each platform.

The accounts are the sandbox channels: ``x`` and ``x-es`` on X, ``bluesky`` and ``bluesky-es``
on the PDS, ``mastodon`` and ``mastodon-es`` on the Mastodon stand-in; ``exports`` prints each
channel's ``UPRBUZZ_<CHANNEL>_*`` variables (``x`` and ``bluesky`` are also the legacy
``[platforms.*]`` channels, so a project without ``[channels]`` uses the first two).

State lives in ``<root>/.uprbuzz/sandbox.json`` (pids, ports, accounts; mode 600). The stand-ins
keep their timelines in ``.uprbuzz/sandbox/{x,mastodon}-state.json`` and their accounts in
``{x,mastodon}-accounts.json`` (kept across restarts so exported credentials stay valid). The
PDS starts fresh each time (its PLC directory is in memory) and the accounts are created again.
Beside the PDS runs a small read service (sandbox/bsky_read.py: app.bsky.feed.getPosts counted
from the PDS's records, since it has no AppView), exported as each Bluesky channel's READ_URL.
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

BSKY_HANDLES = ("coalition.test", "coalition-es.test")  # channels bluesky, bluesky-es
X_USERS = ("upr_coalition", "upr_coalition_es")  # channels x, x-es
MASTODON_USERS = ("upr_coalition", "upr_coalition_es")  # channels mastodon, mastodon-es
BSKY_HANDLE = BSKY_HANDLES[0]


class SandboxError(UprbuzzError, RuntimeError):
    pass


def paths(root: Path) -> dict[str, Path]:
    base = root / ".uprbuzz"
    return {"state": base / "sandbox.json", "dir": base / "sandbox",
            "x_state": base / "sandbox" / "x-state.json", "x_accounts": base / "sandbox" / "x-accounts.json",
            "x_log": base / "sandbox" / "x.log", "pds_log": base / "sandbox" / "pds.log",
            "m_state": base / "sandbox" / "mastodon-state.json",
            "m_accounts": base / "sandbox" / "mastodon-accounts.json",
            "m_log": base / "sandbox" / "mastodon.log",
            "read_log": base / "sandbox" / "bsky-read.log"}


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
    accounts = load_accounts(p["x_accounts"]) if p["x_accounts"].is_file() else []
    if len(accounts) < len(X_USERS):  # a sandbox from before channels had one account
        accounts += [make_account(u) for u in X_USERS[len(accounts):]]
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
            "access_token": a.access_token, "access_secret": a.access_secret,
            "accounts": [{"user_id": b.user_id, "username": b.username,
                          "consumer_key": b.consumer_key, "consumer_secret": b.consumer_secret,
                          "access_token": b.access_token, "access_secret": b.access_secret}
                         for b in accounts[:len(X_USERS)]]}


def start_mastodon(root: Path, port: int | None = None) -> dict[str, Any]:
    from uprbuzz.sandbox.mastodon_server import dump_accounts, load_accounts
    from uprbuzz.sandbox.mastodon_store import make_account

    p = paths(root)
    accounts = load_accounts(p["m_accounts"]) if p["m_accounts"].is_file() else []
    if len(accounts) < len(MASTODON_USERS):
        accounts += [make_account(u) for u in MASTODON_USERS[len(accounts):]]
        dump_accounts(accounts, p["m_accounts"])
    port = port or _free_port()
    proc = _spawn(["uprbuzz.sandbox.mastodon_server", "--port", str(port), "--state", str(p["m_state"]),
                   "--accounts", str(p["m_accounts"])], p["m_log"])
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/_admin/health", proc, 15)
    except SandboxError as e:
        raise SandboxError(f"Mastodon stand-in did not start ({e}); see {p['m_log']}") from e
    return {"pid": proc.pid, "port": port, "url": url,
            "accounts": [{"id": a.id, "username": a.username, "access_token": a.access_token}
                         for a in accounts[:len(MASTODON_USERS)]]}


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
    made = []
    for handle in BSKY_HANDLES:
        password = secrets.token_urlsafe(18)
        acct = pds.create_account(ready["pdsUrl"], handle, password)
        made.append({"handle": acct["handle"], "did": acct["did"], "password": password})
    return {"pid": proc.pid, "url": ready["pdsUrl"], **made[0], "accounts": made}


def start_bluesky_read(root: Path, pds_url: str) -> dict[str, Any]:
    """The read service that answers app.bsky.feed.getPosts from the PDS's records
    (sandbox/bsky_read.py): the local PDS has no AppView to count likes and reposts."""
    p = paths(root)
    port = _free_port()
    proc = _spawn(["uprbuzz.sandbox.bsky_read", "--port", str(port), "--pds", pds_url],
                  p["read_log"])
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/_admin/health", proc, 15)
    except SandboxError as e:
        raise SandboxError(f"Bluesky read service did not start ({e}); see {p['read_log']}") from e
    return {"pid": proc.pid, "port": port, "url": url, "pds": pds_url}


def start(root: Path, *, x_port: int | None = None, bluesky: bool = True,
          fresh: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Start what is not running; returns (state, notes for the user).

    ``fresh``: stop what runs and forget the X timeline first, so both platforms start empty.
    """
    notes: list[str] = []
    if fresh:
        notes.extend(stop(root))
        paths(root)["x_state"].unlink(missing_ok=True)
        paths(root)["m_state"].unlink(missing_ok=True)
        notes.append("fresh sandbox: earlier X and Mastodon timelines discarded")
    state = load_state(root)
    x = state.get("x")
    if x and alive(x.get("pid")):
        notes.append(f"X stand-in already running at {x['url']} (pid {x['pid']})")
    else:
        state["x"] = start_x(root, x_port)
        notes.append(f"X stand-in started at {state['x']['url']} (pid {state['x']['pid']})")
    m = state.get("mastodon")
    if m and alive(m.get("pid")):
        notes.append(f"Mastodon stand-in already running at {m['url']} (pid {m['pid']})")
    else:
        state["mastodon"] = start_mastodon(root)
        notes.append(f"Mastodon stand-in started at {state['mastodon']['url']} "
                     f"(pid {state['mastodon']['pid']})")
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
    b, r = state.get("bluesky"), state.get("bluesky_read")
    if b and r and alive(r.get("pid")) and r.get("pds") == b["url"]:
        notes.append(f"Bluesky read service already running at {r['url']} (pid {r['pid']})")
    elif b:
        if r:
            _terminate(int(r["pid"]))  # it read an earlier PDS
        state["bluesky_read"] = start_bluesky_read(root, b["url"])
        notes.append(f"Bluesky read service (getPosts: likes, reposts, replies, quotes) started "
                     f"at {state['bluesky_read']['url']}")
    state["started_at"] = state.get("started_at") or time.time()
    _save_state(root, state)
    return state, notes


CHANNELS = {"x": ("x", "x-es"), "bluesky": ("bluesky", "bluesky-es"),
            "mastodon": ("mastodon", "mastodon-es")}


def channel_env(state: dict[str, Any]) -> dict[str, str]:
    """Every sandbox channel's ``UPRBUZZ_<CHANNEL>_*`` variables (see CHANNELS)."""
    from uprbuzz.config import env_prefix

    env: dict[str, str] = {}
    if x := state.get("x"):
        for name, a in zip(CHANNELS["x"], x.get("accounts") or [x], strict=False):
            pre = env_prefix(name)
            env.update({pre + "API_URL": x["url"], pre + "CONSUMER_KEY": a["consumer_key"],
                        pre + "CONSUMER_SECRET": a["consumer_secret"],
                        pre + "ACCESS_TOKEN": a["access_token"],
                        pre + "ACCESS_SECRET": a["access_secret"]})
    if b := state.get("bluesky"):
        for name, a in zip(CHANNELS["bluesky"], b.get("accounts") or [b], strict=False):
            pre = env_prefix(name)
            env.update({pre + "PDS": b["url"], pre + "HANDLE": a["handle"],
                        pre + "PASSWORD": a["password"]})
            if r := state.get("bluesky_read"):  # engagement: getPosts, counted from the PDS
                env[pre + "READ_URL"] = r["url"]
    if m := state.get("mastodon"):
        for name, a in zip(CHANNELS["mastodon"], m.get("accounts") or [], strict=False):
            pre = env_prefix(name)
            env.update({pre + "API_URL": m["url"], pre + "ACCESS_TOKEN": a["access_token"]})
    return env


def exports(state: dict[str, Any]) -> list[str]:
    return [f"export {k}={shlex.quote(v)}" for k, v in channel_env(state).items()]


def status(root: Path) -> dict[str, Any]:
    state = load_state(root)
    out: dict[str, Any] = {}
    for name in ("x", "bluesky", "mastodon"):
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
    for name, label in (("bluesky_read", "Bluesky read service"), ("bluesky", "local PDS"),
                        ("x", "X stand-in"), ("mastodon", "Mastodon stand-in")):
        s = state.get(name)
        if s and _terminate(int(s["pid"])):
            notes.append(f"stopped {label} (pid {s['pid']})")
    if not notes:
        notes.append("nothing was running")
    paths(root)["state"].unlink(missing_ok=True)
    return notes


def timeline(root: Path) -> dict[str, Any]:
    """What each local platform holds, per platform (every account's posts, each tagged with
    its account) and per sandbox channel (``channels``): X and Mastodon from the stand-ins (or
    their state files), Bluesky from listRecords on the PDS for each sandbox account."""
    import httpx

    state, p = load_state(root), paths(root)
    out: dict[str, Any] = {"x": None, "bluesky": None, "mastodon": None, "channels": {}}

    def channel(platform: str, i: int, account: str, posts: list[dict[str, Any]]) -> None:
        names = CHANNELS[platform]
        if i < len(names):
            out["channels"][names[i]] = {"platform": platform, "account": account,
                                         "posts": [q for q in posts if q["account"] == account]}

    x = state.get("x")
    data = None
    if x and alive(x.get("pid")):
        data = httpx.get(x["url"] + "/_admin/timeline", timeout=10).json()
    elif p["x_state"].is_file():
        data = json.loads(p["x_state"].read_text(encoding="utf-8"))
    if data is not None:
        users = {a["user_id"]: a["username"] for a in (x or {}).get("accounts") or []}
        posts = [{"id": t["id"], "text": t["text"], "created_at": t["created_at"],
                  "deleted": t["deleted"], "in_reply_to": t["in_reply_to_tweet_id"],
                  "conversation_id": t["conversation_id"], "alt_texts": t.get("alt_texts", []),
                  "account": users.get(t.get("author_id", ""), (x or {}).get("username")),
                  "url": t.get("url") or f"https://x.com/i/status/{t['id']}"}
                 for t in data.get("tweets", [])]
        out["x"] = {"url": x["url"] if x else None, "account": (x or {}).get("username"),
                    "accounts": list(users.values()), "posts": posts}
        for i, name in enumerate(users.values()):
            channel("x", i, name, posts)
    m = state.get("mastodon")
    if m and alive(m.get("pid")):
        data = httpx.get(m["url"] + "/_admin/timeline", timeout=10).json()
        users = {a["id"]: a["username"] for a in m.get("accounts") or []}
        posts = [{"id": st.get("id"), "text": st.get("text", st.get("source", "")),
                  "content": st.get("content"), "account": users.get(str(st.get("account_id")),
                                                                      st.get("account_id")),
                  "in_reply_to": st.get("in_reply_to_id"), "language": st.get("language"),
                  "spoiler_text": st.get("spoiler_text", ""), "visibility": st.get("visibility"),
                  "deleted": st.get("deleted", False),
                  "alt_texts": [md.get("description") for md in data.get("media", [])
                                if md.get("status_id") == st.get("id")]}
                 for st in data.get("statuses", [])]
        out["mastodon"] = {"url": m["url"], "accounts": list(users.values()), "posts": posts}
        for i, name in enumerate(users.values()):
            channel("mastodon", i, name, posts)
    b = state.get("bluesky")
    if b and alive(b.get("pid")):
        posts = []
        for acct in b.get("accounts") or [b]:
            records, cursor = [], None
            while True:
                params = {"repo": acct["did"], "collection": "app.bsky.feed.post", "limit": 100,
                          **({"cursor": cursor} if cursor else {})}
                r = httpx.get(b["url"] + "/xrpc/com.atproto.repo.listRecords", params=params,
                              timeout=10)
                r.raise_for_status()
                body = r.json()
                records += body.get("records", [])
                cursor = body.get("cursor")
                if not cursor or not body.get("records"):
                    break
            posts += [{"uri": rec["uri"], "cid": rec["cid"], "text": rec["value"].get("text", ""),
                       "created_at": rec["value"].get("createdAt"),
                       "langs": rec["value"].get("langs"), "reply": rec["value"].get("reply"),
                       "embed": (rec["value"].get("embed") or {}).get("$type"),
                       "account": acct["handle"]}
                      for rec in sorted(records, key=lambda r: r["value"].get("createdAt", ""))]
        handles = [a["handle"] for a in b.get("accounts") or [b]]
        out["bluesky"] = {"url": b["url"], "account": b["handle"], "did": b["did"],
                          "accounts": handles, "posts": posts}
        for i, h in enumerate(handles):
            channel("bluesky", i, h, posts)
    return out
