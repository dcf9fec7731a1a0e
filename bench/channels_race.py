"""Whole-process race on the channels issue: `uprbuzz publish` vs a naive bot, and where
uprbuzz's time goes.

RACE. One X stand-in, one Mastodon stand-in (each its own process, as ``uprbuzz sandbox start``
runs them) and the real local Bluesky PDS (Node) serve every run. Each run is a whole process,
timed from spawn to exit:

- uprbuzz: ``.venv/bin/uprbuzz -C PROJECT publish`` on a fresh project (new folder, new ledger,
  no stored session) holding N (45) due, approved text posts routed to the channels ``x``
  (X) and ``bsky`` (Bluesky), then, second scenario, ``toot`` (Mastodon) too.
- the bot: ``bench/naive_bot.py`` (tweepy, atproto, Mastodon.py; logs in once per platform,
  posts the same N texts one after the other, no ledger).

Every run has its own fresh accounts (a new PDS account, an X and a Mastodon account of their
own) and its own texts, so X's duplicate rule and repository growth play no part; rounds
alternate who goes first. Reported: wall times, uprbuzz/bot wall ratio per scenario (target
<= 0.5), per-lane throughput (uprbuzz: posts / (last sent_at - first claimed_at) of the
channel, from the ledger; the bot: posts / time it spent in that platform's calls), and the
start-up cost (spawn -> first claim in the ledger for uprbuzz, spawn -> first request for the
bot).

BREAKDOWN (skipped with --no-profile). Where a uprbuzz run's wall time goes:
- imports, per top-level package, from ``-X importtime`` on one more run;
- phases and per-lane time, from one run with timers wrapped around uprbuzz's own functions
  (config, store, reconcile, loading posts, due rule, checks, client build/login, claim,
  platform call, ledger write, ledger mark), per thread;
- a cProfile of one more run, one profile per thread (the lanes are threads), top functions
  written to bench/out/channels_profile.txt;
- round trips measured directly: com.atproto.repo.applyWrites with 1, 10 and 45 creates on the
  PDS (is batching a win?), one X create_tweet through tweepy and the time inside the stand-in,
  one Mastodon status, one ledger claim + record (SQLite, in-process).

Results: a table on stdout and JSON in bench/out/channels_race.json; beside it (all gitignored)
channels_profile.txt (top functions per thread), channels_prof/*.prof (one pstats file per
thread, e.g. ``pstats.Stats(f).print_callers("stat")``) and channels_importtime.txt.

Run: .venv/bin/python bench/channels_race.py [--posts 45] [--rounds 3] [--no-profile]
[--lanes threads]
(about 2-3 minutes on 2 idle cores, 7 under a load of 8; --rounds 1 --no-profile for a quick
look; needs the local PDS: tools/local-pds/install.sh)

First results (commit 237ffad, 2 cores under a load of 5-8 from other work, so every figure is
inflated and noisy): uprbuzz/bot wall 1.06 (X+Bluesky) and 1.05 (with Mastodon), target 0.5;
uprbuzz used 1.1-1.4x the bot's CPU. Where uprbuzz's wall went: the atproto import inside the
Bluesky lane (2.9 s CPU alone, 7.5 s in the run, then 1.4 s more at interpreter exit), one
applyWrites per post (74 ms for 1 create vs 13 ms per record in a batch of 45), process
teardown after main() (1-3 s), the twitter-text import before the first post reaches any
lane (1.3-1.7 s), and lanes slowed by the GIL while another thread runs Python (an X
create_tweet takes 20 ms alone, 59 ms beside a busy thread) plus per-post ledger bookkeeping
(the ledger mark rewritten after every post: 31 ms per post in the X lane).

Now (commit 8f13572, 5 rounds each, back to back, 2 cores at a load of 0.3-1.1): uprbuzz/bot
0.33 (X+Bluesky, 1.53 s vs 4.66 s) and 0.39 (with Mastodon, 2.03 s vs 5.42 s); the same code
with its channel workers as threads (--lanes threads) 0.40 and 0.46. Bluesky goes over XRPC with
httpx (no atproto at run time), a Bluesky channel's ready posts go in one applyWrites, and each
channel's worker is a process forked from the run (publish/lane_workers.py). What is left on
the critical path: the twitter-text import in the run's checks (0.3-0.4 s) and Mastodon.py's
per-status parsing in its lane (about 11 ms a status).

The breakdown's timers and profiles come from every process: each worker writes its own when
its serve() ends, and they are merged here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
# bench/ must not shadow stdlib modules when this file is run as a script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT / "src"))

PY = sys.executable
UPRBUZZ = [str(Path(PY).parent / "uprbuzz")] if (Path(PY).parent / "uprbuzz").is_file() \
    else [PY, "-m", "uprbuzz"]
SCENARIOS = {"x+bsky": ("x", "bsky"), "x+bsky+toot": ("x", "bsky", "toot")}
PLATFORM = {"x": "x", "bsky": "bluesky", "toot": "mastodon"}
HIGH = 1_000_000_000


def text(tag: str, i: int) -> str:
    return f"{tag} {i:02d}: the United States received 347 recommendations at its review #UPR36"


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds a process used so far (from /proc)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed_run(argv: list[str], env: dict[str, str], servers: Servers) -> tuple[Any, dict[str, float]]:
    """Run ``argv`` to completion: (CompletedProcess, {wall, spawn, cpu, server CPU each})."""
    before = {k: proc_cpu(pid) for k, pid in servers.pids().items()}
    c0, t0, p0 = children_cpu(), time.time(), time.perf_counter()
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - p0
    m = {"wall": wall, "spawn": t0, "cpu": children_cpu() - c0}
    for k, pid in servers.pids().items():
        m[f"cpu_{k}"] = proc_cpu(pid) - before[k]
    return r, m


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


# --- servers ------------------------------------------------------------------------------

class Servers:
    """The X and Mastodon stand-ins (own processes) and the local PDS, with account pools."""

    def __init__(self, tmp: Path, accounts: int) -> None:
        from uprbuzz.sandbox import pds as glue
        from uprbuzz.sandbox.mastodon_server import dump_accounts as dump_m
        from uprbuzz.sandbox.mastodon_store import make_account as make_m
        from uprbuzz.sandbox.xapi import dump_accounts as dump_x
        from uprbuzz.sandbox.xapi import make_account as make_x
        from uprbuzz.sandbox.xapi_store import DEFAULT_LIMITS as X_LIMITS

        if not glue.is_installed():
            raise SystemExit(f"SKIP: {glue.NOT_INSTALLED}")
        self.glue = glue
        self.procs: list[subprocess.Popen] = []
        self.pds: Any = None
        self.x_accounts = [make_x(f"race_{i}") for i in range(accounts)]
        self.m_accounts = [make_m(f"race_{i}") for i in range(accounts)]
        dump_x(self.x_accounts, tmp / "x-accounts.json")
        dump_m(self.m_accounts, tmp / "m-accounts.json")
        x_limits = json.dumps({k: [HIGH, 900] for k in X_LIMITS})
        self.x_url = self._spawn(["uprbuzz.sandbox.xapi", "--accounts", str(tmp / "x-accounts.json"),
                                  "--processing-seconds", "0", "--limits", x_limits], tmp / "x.log")
        m_limits = json.dumps({"API requests": [HIGH, 300]})
        self.m_url = self._spawn(["uprbuzz.sandbox.mastodon_server", "--accounts",
                                  str(tmp / "m-accounts.json"), "--processing-seconds", "0",
                                  "--limits", m_limits], tmp / "m.log")
        t = time.perf_counter()
        self.pds = glue.start_pds()
        self.pds_start = time.perf_counter() - t
        self._next = 0

    def _spawn(self, args: list[str], log: Path) -> str:
        proc = subprocess.Popen([PY, "-m", *args, "--port", "0"], stdout=subprocess.PIPE,
                                stderr=open(log, "wb"), text=True, env=clean_env())  # noqa: SIM115
        self.procs.append(proc)
        line = proc.stdout.readline()  # type: ignore[union-attr]
        m = re.search(r"http://\S+", line)
        if not m:
            raise SystemExit(f"{args[0]} did not start: {line!r} (see {log})")
        return m.group(0)

    def pids(self) -> dict[str, int]:
        return {"x_server": self.procs[0].pid, "mastodon_server": self.procs[1].pid,
                "pds": self.pds.pid}

    def accounts(self) -> dict[str, dict[str, str]]:
        """A fresh account on each platform (X and Mastodon from the pools, a new PDS account)."""
        i, self._next = self._next, self._next + 1
        xa, ma = self.x_accounts[i], self.m_accounts[i]
        handle, pw = f"r{secrets.token_hex(4)}.test", secrets.token_urlsafe(12)
        self.glue.create_account(self.pds.url, handle, pw)
        return {"x": {"url": self.x_url, "consumer_key": xa.consumer_key,
                      "consumer_secret": xa.consumer_secret, "access_token": xa.access_token,
                      "access_secret": xa.access_secret},
                "bluesky": {"pds": self.pds.url, "handle": handle, "password": pw},
                "mastodon": {"url": self.m_url, "token": ma.access_token}}

    def stop(self) -> None:
        if self.pds is not None:
            self.pds.stop()
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


# --- one uprbuzz run, one bot run -----------------------------------------------------------

def make_project(root: Path, texts: list[str], channels: tuple[str, ...]) -> Path:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    toml = ('[project]\nname = "race"\ntimezone = "UTC"\nlate_limit = "30m"\n'
            '[budget]\nx = 100000\nbluesky = 100000\nmastodon = 100000\n')
    for ch in channels:
        toml += f'[channels.{ch}]\nplatform = "{PLATFORM[ch]}"\n'
    (root / "posts" / "race").mkdir(parents=True)
    (root / "uprbuzz.toml").write_text(toml, encoding="utf-8")
    for i, t in enumerate(texts):
        (root / "posts" / "race" / f"{i:03d}.md").write_text(
            f"---\nat: {at}\nstatus: approved\n---\n{t}\n", encoding="utf-8")
    return root


LANES: dict[str, str] = {}  # --lanes threads: UPRBUZZ_LANES for every uprbuzz run


def uprbuzz_env(acct: dict[str, dict[str, str]], channels: tuple[str, ...]) -> dict[str, str]:
    env = clean_env() | LANES
    x, b, m = acct["x"], acct["bluesky"], acct["mastodon"]
    if "x" in channels:
        env.update(UPRBUZZ_X_API_URL=x["url"], UPRBUZZ_X_CONSUMER_KEY=x["consumer_key"],
                   UPRBUZZ_X_CONSUMER_SECRET=x["consumer_secret"],
                   UPRBUZZ_X_ACCESS_TOKEN=x["access_token"], UPRBUZZ_X_ACCESS_SECRET=x["access_secret"])
    if "bsky" in channels:
        env.update(UPRBUZZ_BSKY_PDS=b["pds"], UPRBUZZ_BSKY_HANDLE=b["handle"],
                   UPRBUZZ_BSKY_PASSWORD=b["password"])
    if "toot" in channels:
        env.update(UPRBUZZ_TOOT_API_URL=m["url"], UPRBUZZ_TOOT_ACCESS_TOKEN=m["token"])
    return env


def _ts(s: str | None) -> float | None:
    return datetime.fromisoformat(s).timestamp() if s else None


def ledger_lanes(root: Path) -> dict[str, dict[str, Any]]:
    """Per channel, from the ledger: sent count, first claim, last send (epoch seconds)."""
    db = sqlite3.connect(root / ".uprbuzz" / "state.sqlite")
    try:
        rows = db.execute("SELECT channel, state, claimed_at, sent_at FROM publications").fetchall()
    finally:
        db.close()
    out: dict[str, dict[str, Any]] = {}
    for ch, state, claimed, sent in rows:
        d = out.setdefault(ch, {"sent": 0, "other": 0, "claims": [], "sends": []})
        d["sent" if state == "sent" else "other"] += 1
        if claimed:
            d["claims"].append(_ts(claimed))
        if sent:
            d["sends"].append(_ts(sent))
    for d in out.values():
        d["first_claim"], d["last_sent"] = min(d.pop("claims")), max(d["sends"])
        d["sends"].sort()
        d["first_sent"] = d["sends"][0]
    return out


def run_uprbuzz(tmp: Path, servers: Servers, scenario: str, n: int, tag: str,
                prefix: list[str] | None = None, cmd: list[str] | None = None
                ) -> dict[str, Any]:
    channels = SCENARIOS[scenario]
    acct = servers.accounts()
    texts = [text(tag, i) for i in range(n)]
    root = make_project(tmp / tag, texts, channels)
    env = uprbuzz_env(acct, channels)
    argv = (prefix or []) + (cmd or UPRBUZZ) + ["-C", str(root), "publish"]
    r, m = timed_run(argv, env, servers)
    t0, wall = m["spawn"], m["wall"]
    if r.returncode != 0:
        raise SystemExit(f"uprbuzz publish failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    lanes = ledger_lanes(root)
    for ch in channels:
        got = lanes.get(ch, {}).get("sent", 0)
        if got != n:
            raise SystemExit(f"uprbuzz: channel {ch} has {got} sent of {n}:\n{r.stdout[-2000:]}")
    first = min(d["first_claim"] for d in lanes.values())
    last = max(d["last_sent"] for d in lanes.values())
    return {"who": "uprbuzz", "scenario": scenario, **m,
            "startup": first - t0, "tail": t0 + wall - last, "root": str(root), "stderr": r.stderr,
            "lanes": {ch: {"posts": d["sent"], "first_claim": d["first_claim"] - t0,
                           "last_sent": d["last_sent"] - t0,
                           "rate": d["sent"] / max(d["last_sent"] - d["first_claim"], 1e-9),
                           # after the first send: the lane's own pace, its set-up excluded
                           "steady": (d["sent"] - 1) / max(d["last_sent"] - d["first_sent"], 1e-9)}
                      for ch, d in lanes.items()}}


def run_bot(tmp: Path, servers: Servers, scenario: str, n: int, tag: str) -> dict[str, Any]:
    channels = SCENARIOS[scenario]
    acct = servers.accounts()
    job = {"texts": [text(tag, i) for i in range(n)]}
    for ch in channels:
        job[PLATFORM[ch]] = acct[PLATFORM[ch]]
    path = tmp / f"{tag}.json"
    path.write_text(json.dumps(job), encoding="utf-8")
    r, m = timed_run([PY, str(BENCH / "naive_bot.py"), str(path)], clean_env(), servers)
    t0, wall = m["spawn"], m["wall"]
    if r.returncode != 0:
        raise SystemExit(f"naive bot failed ({r.returncode}):\n{r.stderr[-3000:]}")
    d = json.loads(r.stdout.strip().splitlines()[-1])
    for plat, got in d["posts"].items():
        if got != n:
            raise SystemExit(f"naive bot: {plat} posted {got} of {n}")
    back = {v: k for k, v in PLATFORM.items()}
    return {"who": "bot", "scenario": scenario, **m,
            "startup": d["first_send"] - t0, "imports": d["imported"] - d["start"],
            "interpreter": d["start"] - t0, "logins": d["logged_in"] - d["imported"],
            "tail": t0 + wall - d["end"],
            "lanes": {back[p]: {"posts": d["posts"][p], "spent": s, "rate": d["posts"][p] / s,
                                "steady": d["posts"][p] / s}
                      for p, s in d["spent"].items()}}


# --- the race -------------------------------------------------------------------------------

def race(tmp: Path, servers: Servers, n: int, rounds: int) -> dict[str, Any]:
    # warm-up (untimed): .pyc files, the page cache, the servers' first requests
    run_uprbuzz(tmp, servers, "x+bsky+toot", 3, "warm-u")
    run_bot(tmp, servers, "x+bsky+toot", 3, "warm-b")
    results: dict[str, Any] = {}
    for scenario in SCENARIOS:
        runs: list[dict[str, Any]] = []
        for rnd in range(rounds):
            order = ("uprbuzz", "bot") if rnd % 2 == 0 else ("bot", "uprbuzz")
            this = {}
            for who in order:
                tag = f"{who}-{scenario.replace('+', '')}-r{rnd}"
                this[who] = (run_uprbuzz if who == "uprbuzz" else run_bot)(tmp, servers, scenario, n, tag)
                this[who].pop("stderr", None)
            runs.append({"round": rnd, "first": order[0], **this,
                         "ratio": this["uprbuzz"]["wall"] / this["bot"]["wall"]})
            print(f"  {scenario} round {rnd + 1} ({order[0]} first): uprbuzz {this['uprbuzz']['wall']:.2f} s, "
                  f"bot {this['bot']['wall']:.2f} s, ratio {runs[-1]['ratio']:.2f}", flush=True)
        results[scenario] = summarise(runs)
    return results


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(who: str, f: Any) -> float:
        return statistics.median(f(r[who]) for r in runs)

    lanes: dict[str, dict[str, float]] = {}
    for who in ("uprbuzz", "bot"):
        for ch in runs[0][who]["lanes"]:
            for k in ("rate", "steady"):
                lanes.setdefault(ch, {})[f"{who}_{k}"] = med(who, lambda r, ch=ch, k=k: r["lanes"][ch][k])
    return {"runs": runs,
            "uprbuzz_wall": med("uprbuzz", lambda r: r["wall"]), "bot_wall": med("bot", lambda r: r["wall"]),
            "ratio_median": statistics.median(r["ratio"] for r in runs),
            "ratio_total": sum(r["uprbuzz"]["wall"] for r in runs) / sum(r["bot"]["wall"] for r in runs),
            "uprbuzz_startup": med("uprbuzz", lambda r: r["startup"]),
            "cpu": {who: {k: med(who, lambda r, k=k: r[k]) for k in
                          ("cpu", "cpu_x_server", "cpu_mastodon_server", "cpu_pds")}
                    for who in ("uprbuzz", "bot")},
            "bot_startup": med("bot", lambda r: r["startup"]),
            "uprbuzz_tail": med("uprbuzz", lambda r: r["tail"]),
            "bot_tail": med("bot", lambda r: r["tail"]),
            "bot_imports": med("bot", lambda r: r["imports"]),
            "bot_logins": med("bot", lambda r: r["logins"]),
            "lane_rate": lanes}


def show_race(res: dict[str, Any], n: int) -> None:
    print(f"\nRACE: whole processes, spawn to exit, {n} text posts per channel; medians over the rounds")
    print(f"{'scenario':<13}{'uprbuzz s':>10}{'bot s':>8}{'ratio':>7}{'(total)':>9}{'target':>8}"
          f"{'u start':>9}{'bot start':>10}")
    for sc, r in res.items():
        ok = "MET" if r["ratio_median"] <= 0.5 else "missed"
        print(f"{sc:<13}{r['uprbuzz_wall']:>10.2f}{r['bot_wall']:>8.2f}{r['ratio_median']:>7.2f}"
              f"{r['ratio_total']:>9.2f}{'<=0.5 ' + ok:>14}{r['uprbuzz_startup']:>7.2f} s"
              f"{r['bot_startup']:>8.2f} s")
    print(f"{'':<13}CPU seconds per run (user+sys): the contender's process / X stand-in / "
          "Mastodon stand-in / PDS")
    for sc, r in res.items():
        for who in ("uprbuzz", "bot"):
            c = r["cpu"][who]
            print(f"{'':<13}{sc} {who:<8}{c['cpu']:6.2f} / {c['cpu_x_server']:.2f} / "
                  f"{c['cpu_mastodon_server']:.2f} / {c['cpu_pds']:.2f}")
    print("  u start = spawn -> first claim in the ledger (imports, config, ledger, posts, checks, "
          "first client build); bot start = spawn -> first post request (imports + logins)")
    print("\nPER-LANE THROUGHPUT, posts/s (medians). uprbuzz: posts / (last sent_at - first claimed_at) "
          "of the channel, from the ledger;\n  steady: (posts - 1) / (last sent_at - first sent_at), the "
          "lane's pace once its client is up. bot: posts / seconds spent in that platform's calls")
    print(f"{'scenario':<13}{'lane':<7}{'uprbuzz':>9}{'steady':>9}{'bot':>9}")
    for sc, r in res.items():
        for ch, v in r["lane_rate"].items():
            print(f"{sc:<13}{ch:<7}{v['uprbuzz_rate']:>9.1f}{v['uprbuzz_steady']:>9.1f}{v['bot_rate']:>9.1f}")
    for sc, r in res.items():
        print(f"{sc}: bot imports {r['bot_imports']:.2f} s, bot logins {r['bot_logins']:.2f} s; "
              f"last send -> process gone: uprbuzz {r['uprbuzz_tail']:.2f} s, bot {r['bot_tail']:.2f} s")


# --- breakdown: imports, timers, cProfile ---------------------------------------------------

def import_breakdown(stderr: str) -> dict[str, float]:
    """Seconds of import time per top-level package, from ``-X importtime`` (self times)."""
    per: dict[str, float] = {}
    for ln in stderr.splitlines():
        if not ln.startswith("import time:"):
            continue
        fields = ln[len("import time:"):].split("|")
        try:
            self_us = int(fields[0])
        except ValueError:  # the header line
            continue
        top = fields[2].strip().split(".")[0]
        per[top] = per.get(top, 0.0) + self_us / 1e6
    return dict(sorted(per.items(), key=lambda kv: -kv[1]))


# Run inside the uprbuzz process (``--inside timers|cprofile OUT -- uprbuzz args``): wraps
# uprbuzz's own functions with timers, or runs one cProfile per thread, then runs the CLI.
def inside(mode: str, out: str, argv: list[str]) -> None:
    import threading

    t_spawn = float(os.environ.get("RACE_SPAWN", "0")) or time.time()
    events: list[tuple[str, str, float, float]] = []  # (thread, label, start, end) epoch
    lock = threading.Lock()
    profiles: list[tuple[str, Any]] = []

    if mode == "timers":
        import functools
        import importlib

        def wrap(modname: str, qual: str, label: str | None = None) -> None:
            mod = importlib.import_module(modname)
            owner, _, attr = qual.rpartition(".")
            holder = getattr(mod, owner) if owner else mod
            fn = getattr(holder, attr)
            name = label or qual

            @functools.wraps(fn)
            def timed(*a: Any, **kw: Any) -> Any:
                t = time.time()
                try:
                    return fn(*a, **kw)
                finally:
                    with lock:
                        events.append((threading.current_thread().name, name, t, time.time()))
            setattr(holder, attr, timed)

        wrap("uprbuzz.cli.publish_cmds", "project_config", "config")
        wrap("uprbuzz.store", "Store.open", "store open+migrate")
        wrap("uprbuzz.publish.publisher", "Publisher.reconcile", "reconcile")
        wrap("uprbuzz.sources.gather", "load_all", "load posts")
        wrap("uprbuzz.publish.run_due", "_lanes_to_do", "due rule")
        wrap("uprbuzz.publish.run_due", "_prepare", "prepare+checks")
        wrap("uprbuzz.publish.publisher", "Publisher.publish_post", "lane post")
        wrap("uprbuzz.publish.publisher", "Publisher.platform", "client build")
        wrap("uprbuzz.publish.publisher", "Publisher._budget_reason", "budget")
        wrap("uprbuzz.publish.publisher", "Publisher.mark_ledger", "ledger mark")
        wrap("uprbuzz.store.publications", "Publications.claim", "ledger claim")
        wrap("uprbuzz.store.publications", "Publications.mark_sent", "ledger record")
        wrap("uprbuzz.store.publications", "Publications.lane", "ledger read")
        wrap("uprbuzz.platforms.x", "XPlatform.publish", "send")
        wrap("uprbuzz.platforms.bluesky", "BlueskyPlatform.publish", "send")
        wrap("uprbuzz.platforms.bluesky", "BlueskyPlatform._password_login", "login")
        wrap("uprbuzz.platforms.mastodon", "MastodonPlatform.publish", "send")
        # nested inside the labels above (first use only): SDK imports, logins, instance limits
        wrap("uprbuzz.platforms.text_measure", "_tt", "twitter-text import")
        wrap("uprbuzz.platforms.bluesky", "BlueskyPlatform._new_client", "XRPC client")
        wrap("uprbuzz.platforms.x", "XPlatform.verify", "get_me")
        wrap("uprbuzz.platforms.mastodon", "MastodonPlatform._read_limits", "instance limits")
        # the run_due module bound _prepare/_lanes_to_do by name: its callers see the wrappers
    else:
        import cProfile

        orig_run = threading.Thread.run

        def run(self: threading.Thread) -> None:
            p = cProfile.Profile()
            with lock:
                profiles.append((self.name, p))
            p.enable()
            try:
                orig_run(self)
            finally:
                p.disable()

        threading.Thread.run = run  # type: ignore[method-assign]
        main_prof = cProfile.Profile()
        profiles.append(("MainThread", main_prof))
    # The lanes are worker processes forked from the run (publish/lane_workers.py): each
    # writes its own timers or profile when its serve() ends (it leaves with os._exit).
    import uprbuzz.publish.lane_workers as lw

    main_pid, orig_serve = os.getpid(), lw.serve

    def serve(pub: Any, channel: str, *a: Any, **kw: Any) -> None:
        forked = os.getpid() != main_pid
        if not forked:
            return orig_serve(pub, channel, *a, **kw)
        name = threading.current_thread().name = f"lane-{channel}"
        prof = None
        if mode != "timers":
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        try:
            return orig_serve(pub, channel, *a, **kw)
        finally:
            if prof is not None:
                prof.disable()
                os.makedirs(out, exist_ok=True)
                prof.dump_stats(os.path.join(out, f"50-{name}.prof"))
            else:
                with lock:
                    mine = [e for e in events if e[0] == name]
                Path(f"{out}.{channel}").write_text(json.dumps(mine), encoding="utf-8")

    lw.serve = serve
    t_main = time.time()
    sys.argv = ["uprbuzz", *argv]
    code = 0
    if mode != "timers":
        main_prof.enable()
    try:
        # The click entry point, not uprbuzz.entry's (it leaves with os._exit after an SDK
        # import, and the timers and profiles below must still be written).
        from uprbuzz.cli import main as cli_main

        cli_main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        if mode != "timers":
            main_prof.disable()
        t_end = time.time()
        if mode == "timers":
            Path(out).write_text(json.dumps({"spawn": t_spawn, "main": t_main, "end": t_end,
                                             "events": events}), encoding="utf-8")
        else:
            import pstats

            os.makedirs(out, exist_ok=True)
            for i, (name, p) in enumerate(profiles):
                with contextlib.suppress(TypeError):  # a thread that never ran any Python
                    pstats.Stats(p).dump_stats(os.path.join(out, f"{i:02d}-{name}.prof"))
    sys.exit(code)


def timers_breakdown(d: dict[str, Any], wall: float) -> dict[str, Any]:
    t0 = d["spawn"]
    ev = d["events"]
    main = [e for e in ev if e[0] == "MainThread"]
    lanes = sorted({e[0] for e in ev if e[0].startswith("lane-")})

    def tot(rows: list, label: str) -> tuple[float, int]:
        xs = [e[3] - e[2] for e in rows if e[1] == label]
        return sum(xs), len(xs)

    first_claim = min((e[2] for e in ev if e[1] == "ledger claim"), default=t0)
    phases = {"interpreter + imports before main()": d["main"] - t0}
    for label in ("config", "store open+migrate", "reconcile", "load posts", "due rule",
                  "prepare+checks", "twitter-text import", "ledger mark"):
        s, k = tot(main, label)
        phases[f"{label} (main thread, {k} calls)"] = s
    out: dict[str, Any] = {"wall": wall, "spawn_to_first_claim": first_claim - t0,
                           "main_to_end": d["end"] - d["main"], "exit_after_main": t0 + wall - d["end"],
                           "main_thread": phases, "lanes": {}}
    for ln in lanes:
        rows = [e for e in ev if e[0] == ln]
        start = min(e[2] for e in rows)
        end = max(e[3] for e in rows)
        lane: dict[str, Any] = {"active": end - start, "start": start - t0, "end": end - t0}
        for label in ("lane post", "client build", "budget", "ledger read", "ledger claim",
                      "send", "atproto import+client", "login", "get_me", "instance limits",
                      "ledger record", "ledger mark"):
            s, k = tot(rows, label)
            lane[label] = {"seconds": s, "calls": k}
        sends = sorted((e[2], e[3] - e[2]) for e in rows if e[1] == "send")
        lane["send_first"] = sends[0][1] if sends else 0.0
        lane["send_median"] = statistics.median(s for _, s in sends) if sends else 0.0
        out["lanes"][ln[len("lane-"):]] = lane
    return out


def show_breakdown(b: dict[str, Any], imports: dict[str, float], import_total: float) -> None:
    print(f"\nBREAKDOWN of one `uprbuzz publish` (x+bsky+toot, timers around uprbuzz's functions; "
          f"wall {b['wall']:.2f} s, spawn -> first claim {b['spawn_to_first_claim']:.2f} s)")
    for k, v in b["main_thread"].items():
        print(f"  {k:<52}{v:>7.3f} s")
    print(f"  {'process exit after main() returned':<52}{b['exit_after_main']:>7.3f} s")
    print("  per lane (thread): active = first to last timed call; ms are totals (calls); the first "
          "send holds the SDK import and login (atproto import+client, login, get_me, instance limits "
          "are inside send); twitter-text import is inside prepare+checks")
    for ch, ln in b["lanes"].items():
        parts = ", ".join(f"{k} {v['seconds'] * 1000:.0f} ms ({v['calls']})" for k, v in ln.items()
                          if isinstance(v, dict) and v["calls"])
        print(f"  {ch:<5} {ln['start']:.2f} -> {ln['end']:.2f} s (active {ln['active']:.2f} s): {parts}; "
              f"first send {ln['send_first'] * 1000:.0f} ms, median send {ln['send_median'] * 1000:.1f} ms")
    print(f"  imports (-X importtime, self time summed per top-level package; total {import_total:.2f} s "
          "under importtime):")
    top = list(imports.items())[:12]
    print("   " + ", ".join(f"{k} {v:.2f}" for k, v in top))


def profile_summary(prof_dir: Path, out_txt: Path) -> list[str]:
    """Top functions per thread (cumulative), full listing to ``out_txt``; a few lines back."""
    import io
    import pstats

    lines: list[str] = []
    buf = io.StringIO()
    for f in sorted(prof_dir.glob("*.prof")):
        st = pstats.Stats(str(f), stream=buf)
        buf.write(f"\n===== {f.stem} =====\n")
        st.sort_stats("cumulative").print_stats(30)
        st.sort_stats("tottime").print_stats(15)
        total = max((v[3] for v in st.stats.values()), default=0.0)  # type: ignore[attr-defined]
        top = sorted(((v[2], k) for k, v in st.stats.items()), reverse=True)[:4]  # type: ignore[attr-defined]
        lines.append(f"  {f.stem.split('-', 1)[1]:<14} {total:.2f} s profiled; most own time: " + ", ".join(
            f"{k[2]} ({Path(k[0]).name}:{k[1]}) {t * 1000:.0f} ms" for t, k in top))
    out_txt.write_text(buf.getvalue(), encoding="utf-8")
    return lines


# --- round trips measured directly ----------------------------------------------------------

def round_trips(servers: Servers, tmp: Path) -> dict[str, Any]:
    import httpx

    res: dict[str, Any] = {}
    acct = servers.accounts()
    b = acct["bluesky"]
    with httpx.Client(base_url=b["pds"], timeout=30) as c:
        s = c.post("/xrpc/com.atproto.server.createSession",
                   json={"identifier": b["handle"], "password": b["password"]}).json()
        c.headers["Authorization"] = f"Bearer {s['accessJwt']}"
        did = s["did"]
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")

        def batch(k: int, tag: str) -> float:
            writes = [{"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post",
                       "value": {"$type": "app.bsky.feed.post", "text": text(tag, i), "createdAt": now,
                                 "langs": ["en"]}} for i in range(k)]
            t = time.perf_counter()
            r = c.post("/xrpc/com.atproto.repo.applyWrites", json={"repo": did, "validate": True,
                                                                    "writes": writes})
            el = time.perf_counter() - t
            r.raise_for_status()
            return el

        batch(1, "warm")
        sizes, reps = (1, 10, 45), {1: 15, 10: 5, 45: 3}
        got: dict[int, list[float]] = {k: [] for k in sizes}
        for rep in range(max(reps.values())):
            for k in sizes:
                if rep < reps[k]:
                    got[k].append(batch(k, f"aw{k}-{rep}"))
        res["pds_applyWrites"] = {k: {"request_ms": statistics.median(v) * 1000,
                                      "per_record_ms": statistics.median(v) * 1000 / k, "reps": len(v)}
                                  for k, v in got.items()}
        t = time.perf_counter()
        for _ in range(10):
            c.get("/xrpc/_health")
        res["pds_health_ms"] = (time.perf_counter() - t) / 10 * 1000
        t = time.perf_counter()
        for i in range(10):
            c.post("/xrpc/com.atproto.repo.createRecord", json={
                "repo": did, "collection": "app.bsky.feed.post",
                "record": {"$type": "app.bsky.feed.post", "text": text("cr", i), "createdAt": now}}
            ).raise_for_status()
        res["pds_createRecord_ms"] = (time.perf_counter() - t) / 10 * 1000

    # X: tweepy create_tweet round trip vs time inside the stand-in (Server-Timing)
    import tweepy

    x = acct["x"]
    client = tweepy.Client(consumer_key=x["consumer_key"], consumer_secret=x["consumer_secret"],
                           access_token=x["access_token"], access_token_secret=x["access_secret"])
    sys.path.insert(0, str(BENCH))
    from naive_bot import ToStandIn  # noqa: E402

    sys.path.remove(str(BENCH))
    ad = ToStandIn(x["url"])
    client.session.mount("https://api.twitter.com/", ad)
    client.session.mount("https://api.x.com/", ad)
    inside_s: list[float] = []
    client.session.hooks["response"].append(lambda r, *a, **k: inside_s.append(float(
        (re.search(r"dur=([0-9.]+)", r.headers.get("Server-Timing", "")) or [0, 0])[1]) / 1000))
    client.create_tweet(text="warm", user_auth=True)
    walls = []
    inside_s.clear()
    for i in range(20):
        t = time.perf_counter()
        client.create_tweet(text=text("rt", i), user_auth=True)
        walls.append(time.perf_counter() - t)
    res["x_create_tweet_ms"] = statistics.median(walls) * 1000
    res["x_inside_standin_ms"] = statistics.median(inside_s) * 1000 if inside_s else None
    walls = []
    with busy_thread():
        for i in range(20):
            t = time.perf_counter()
            client.create_tweet(text=text("rt-busy", i), user_auth=True)
            walls.append(time.perf_counter() - t)
    res["x_create_tweet_busy_ms"] = statistics.median(walls) * 1000
    res["switch_interval_ms"] = sys.getswitchinterval() * 1000
    with httpx.Client() as hc:
        hc.get(x["url"] + "/_admin/health")
        t = time.perf_counter()
        for _ in range(20):
            hc.get(x["url"] + "/_admin/health")
        res["x_plain_get_ms"] = (time.perf_counter() - t) / 20 * 1000

    # Mastodon: one status through Mastodon.py
    from mastodon import Mastodon

    m = Mastodon(access_token=acct["mastodon"]["token"], api_base_url=acct["mastodon"]["url"])
    m.status_post("warm")
    walls = []
    for i in range(20):
        t = time.perf_counter()
        m.status_post(text("rt", i))
        walls.append(time.perf_counter() - t)
    res["mastodon_status_ms"] = statistics.median(walls) * 1000

    # the ledger: one claim + one record, as a lane does per part (SQLite WAL, in-process)
    from uprbuzz.platforms.base import Remote
    from uprbuzz.store import Store

    store = Store.open(tmp / "ledger-bench" / "state.sqlite")
    pubs = store.publications
    owner, lease = "bench:1:0:00", timedelta(minutes=5)

    def ledger_ms(tag: str, k: int) -> float:
        walls = []
        for i in range(k):
            t = time.perf_counter()
            now = datetime.now(UTC)
            pubs.claim(f"{tag}{i}", "x", [(0, "t", None)], "h", owner, now, lease)
            pubs.mark_sent(f"{tag}{i}", "x", 0, Remote("x", str(i), "u"), now)
            walls.append(time.perf_counter() - t)
        return statistics.median(walls) * 1000

    def stat_ms(k: int) -> float:
        t = time.perf_counter()
        for _ in range(k):
            os.path.isdir(tmp)
        return (time.perf_counter() - t) / k * 1000

    res["ledger_claim_record_ms"] = ledger_ms("a", 200)
    res["stat_ms"] = stat_ms(200)
    with busy_thread():
        res["ledger_claim_record_busy_ms"] = ledger_ms("b", 40)
        res["stat_busy_ms"] = stat_ms(40)
    store.close()
    return res


@contextlib.contextmanager
def busy_thread() -> Any:
    """Another thread of this process running Python without pause, as the Bluesky lane does
    while it imports atproto or the main thread while it runs the checks: a call that lets go
    of the GIL for a while (a round trip) must then wait for it, up to the switch interval."""
    import threading

    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(2000))

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()


def show_round_trips(rt: dict[str, Any], n: int) -> None:
    print("\nROUND TRIPS measured directly (medians)")
    aw = rt["pds_applyWrites"]
    for k, v in aw.items():
        print(f"  PDS applyWrites with {k:>2} create(s): {v['request_ms']:7.1f} ms per request, "
              f"{v['per_record_ms']:6.2f} ms per record ({v['reps']} reps)")
    one, big = aw[1]["per_record_ms"], aw[max(aw)]["per_record_ms"]
    print(f"  -> {n} posts one by one ~ {one * n / 1000:.2f} s, in batches of {max(aw)} ~ "
          f"{big * n / 1000:.2f} s ({one / big:.1f}x fewer seconds per record)")
    print(f"  PDS createRecord {rt['pds_createRecord_ms']:.1f} ms, /xrpc/_health {rt['pds_health_ms']:.1f} ms")
    print(f"  X create_tweet via tweepy {rt['x_create_tweet_ms']:.1f} ms, of which inside the "
          f"stand-in {rt['x_inside_standin_ms'] or 0:.1f} ms; plain GET round trip {rt['x_plain_get_ms']:.1f} ms; "
          f"{rt['x_create_tweet_busy_ms']:.1f} ms while another thread of the process runs Python "
          f"(GIL switch interval {rt['switch_interval_ms']:.0f} ms)")
    print(f"  Mastodon status via Mastodon.py {rt['mastodon_status_ms']:.1f} ms")
    print(f"  ledger claim + record of one part (SQLite WAL, in-process) {rt['ledger_claim_record_ms']:.2f} ms; "
          f"one os.stat {rt['stat_ms']:.3f} ms")
    print(f"  the same while another thread runs Python: claim + record "
          f"{rt['ledger_claim_record_busy_ms']:.2f} ms, os.stat {rt['stat_busy_ms']:.3f} ms")


IMPORTS = {
    "(bare interpreter)": "pass",
    "uprbuzz CLI + publish loop": "import uprbuzz.cli, uprbuzz.publish.publisher, uprbuzz.sources.gather",
    "twitter-text (X checks)": "from uprbuzz.platforms.text_measure import _tt; _tt()",
    "tweepy": "import tweepy",
    "Mastodon.py": "import mastodon",
    "atproto": "from atproto import Client",
    "libipld (local CIDs)": "import libipld",
}


def import_costs(reps: int = 2) -> dict[str, dict[str, float]]:
    """Each import alone in a fresh interpreter: wall, CPU, and the exit after it (best of
    ``reps``; the bare interpreter's figures are not subtracted)."""
    out: dict[str, dict[str, float]] = {}
    for label, stmt in IMPORTS.items():
        best: dict[str, float] | None = None
        for _ in range(reps):
            code = f"import time, sys\nt = time.time()\n{stmt}\nsys.stdout.write(repr((t, time.time())))"
            c0, p0, w0 = children_cpu(), time.perf_counter(), time.time()
            r = subprocess.run([PY, "-c", code], env=clean_env(), capture_output=True, text=True)
            gone = time.time()
            wall = time.perf_counter() - p0
            if r.returncode != 0:
                break
            a, b = eval(r.stdout)  # noqa: S307 - our own two floats
            m = {"process": wall, "cpu": children_cpu() - c0, "import": b - a, "exit": gone - b,
                 "interpreter": a - w0}
            best = m if best is None or m["process"] < best["process"] else best
        if best is not None:
            out[label] = best
    return out


def show_imports(costs: dict[str, dict[str, float]]) -> None:
    print("\nIMPORT COSTS, each alone in a fresh interpreter (best of 2): the import itself, the "
          "CPU of the whole process, and its exit (interpreter teardown) after it")
    for label, m in costs.items():
        print(f"  {label:<28} import {m['import']:5.2f} s   process CPU {m['cpu']:5.2f} s   "
              f"exit {m['exit']:5.2f} s")


def breakdown(tmp: Path, servers: Servers, n: int) -> dict[str, Any]:
    me = [PY, str(Path(__file__).resolve())]
    out: dict[str, Any] = {}
    # 1. imports: one run under -X importtime
    r = run_uprbuzz(tmp, servers, "x+bsky+toot", n, "prof-imports", cmd=[PY, "-X", "importtime", "-m", "uprbuzz"])
    imports = import_breakdown(r["stderr"])
    (OUT / "channels_importtime.txt").write_text(r["stderr"], encoding="utf-8")
    out["imports"] = imports
    out["imports_total"] = sum(imports.values())
    # 2. timers
    tfile = tmp / "timers.json"
    os.environ["RACE_SPAWN"] = str(time.time())
    r = run_uprbuzz(tmp, servers, "x+bsky+toot", n, "prof-timers",
                    cmd=me + ["--inside", "timers", str(tfile), "--"])
    d = json.loads(tfile.read_text())
    for lane in tmp.glob(f"{tfile.name}.*"):  # each worker process's own timers
        d["events"] += json.loads(lane.read_text())
    d["spawn"] = r["spawn"]
    out["timers"] = timers_breakdown(d, r["wall"])
    # 3. cProfile, one profile per thread
    pdir = tmp / "prof"
    r = run_uprbuzz(tmp, servers, "x+bsky+toot", n, "prof-cprofile",
                    cmd=me + ["--inside", "cprofile", str(pdir), "--"])
    out["cprofile_wall"] = r["wall"]
    out["cprofile_lines"] = profile_summary(pdir, OUT / "channels_profile.txt")
    keep = OUT / "channels_prof"  # for pstats: callers of a hot function, etc.
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(pdir, keep)
    # 4. round trips; imports alone
    out["round_trips"] = round_trips(servers, tmp)
    out["import_costs"] = import_costs()
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        sep = sys.argv.index("--")
        inside(sys.argv[2], sys.argv[3], sys.argv[sep + 1:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=45)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-profile", action="store_true", help="the race only, no breakdown")
    ap.add_argument("--lanes", choices=("processes", "threads"), default="processes",
                    help="uprbuzz's channel workers (UPRBUZZ_LANES; default: processes)")
    a = ap.parse_args()
    LANES["UPRBUZZ_LANES"] = a.lanes
    OUT.mkdir(exist_ok=True)
    t_all = time.perf_counter()
    # uprbuzz's bytecode, written once, as `pip install` writes it for an installed package (the
    # bot's libraries have theirs): an editable install under PYTHONDONTWRITEBYTECODE=1 would
    # otherwise compile ~60 modules from source in every run
    import compileall

    compileall.compile_dir(str(ROOT / "src"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="uprbuzz-race-") as d:
        tmp = Path(d)
        accounts = 2 + len(SCENARIOS) * a.rounds * 2 + (4 if not a.no_profile else 0)
        servers = Servers(tmp, accounts)
        try:
            print(f"servers: X stand-in {servers.x_url}, Mastodon stand-in {servers.m_url}, PDS "
                  f"{servers.pds.url} (Node, started in {servers.pds_start:.1f} s); "
                  f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
            result: dict[str, Any] = {"posts": a.posts, "rounds": a.rounds, "cores": os.cpu_count(),
                                      "load_before": os.getloadavg()[0]}
            result["race"] = race(tmp, servers, a.posts, a.rounds)
            show_race(result["race"], a.posts)
            if not a.no_profile:
                print("\n(breakdown runs...)", flush=True)
                b = breakdown(tmp, servers, a.posts)
                result["breakdown"] = b
                show_breakdown(b["timers"], b["imports"], b["imports_total"])
                print(f"\nCPROFILE (one profile per thread; run wall {b['cprofile_wall']:.2f} s under "
                      f"the profiler; full listing: bench/out/channels_profile.txt)")
                print("\n".join(b["cprofile_lines"]))
                show_round_trips(b["round_trips"], a.posts)
                show_imports(b["import_costs"])
            result["load_after"] = os.getloadavg()[0]
            result["seconds"] = time.perf_counter() - t_all
        finally:
            servers.stop()
    (OUT / "channels_race.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(f"\nJSON: bench/out/channels_race.json; whole benchmark {result['seconds']:.0f} s, "
          f"load {result['load_before']:.1f} -> {result['load_after']:.1f}")


if __name__ == "__main__":
    main()
