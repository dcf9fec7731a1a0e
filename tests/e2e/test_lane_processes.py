"""A run's channel lanes as processes (publish/lane_workers.py), on the six sandbox channels.

`uprbuzz publish` forks one worker per channel. What the lanes as threads guaranteed must still
hold, checked on the servers and in the ledger, with the process table read from /proc:
- one worker process per channel, named after it, and none with UPRBUZZ_LANES=threads;
- a SIGKILLed run takes its workers with it: nothing more reaches any server;
- Ctrl-C (SIGINT to the run alone) completes the parts in flight: no claim is left open;
- a worker killed on its own is reported (its channel failed, its post in flight unknown), the
  run exits 1, and the other channels finish;
- and after all that, each part is on each channel exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.channels_helpers import (
    CHANNELS,
    WRITES,
    SixChannels,
    exactly_once_problems,
    ledger_rows,
    ledger_states,
    queue_project,
    six_channels,
)
from tests.fixtures.publish import popen_uprbuzz, run_uprbuzz

pytestmark = [pytest.mark.e2e]


def children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid``: {pid: name}, from /proc."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
        fields = rest.split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out[int(d.name)] = name
    return out


def workers(pid: int, *channels: str) -> dict[int, str]:
    """The run's worker processes once those of ``channels`` (default: all six) are there and
    every one has named itself, else {}."""
    kids = children(pid)
    want = {f"lane-{c}"[:15] for c in channels or CHANNELS}
    named = all(n.startswith("lane-") for n in kids.values()) and want <= set(kids.values())
    return kids if named else {}


def wait_for(cond, timeout: float = 60.0, what: str = ""):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def slow_writes(sc: SixChannels, seconds: float) -> None:
    delay = {"delay_rate": 1.0, "delay_seconds": seconds}
    sc.set_faults(**{p: {**delay, "paths": WRITES[p]} for p in ("x", "mastodon", "bluesky")})


def start(queue_root: Path, sc: SixChannels, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return popen_uprbuzz(["publish"], queue_root, sc.env, stdout=out,
                             stderr=subprocess.STDOUT,
                             extra_env={"PYTHONUNBUFFERED": "1", **extra},
                             preexec_fn=_interruptible)


def _interruptible() -> None:
    """SIGINT as a terminal gives it: a suite started in the background (``cmd &``, nohup)
    runs with SIGINT ignored, and an ignored signal stays ignored across exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_lanes_are_processes_that_die_stop_and_fail_as_threads_did(tmp_path: Path,
                                                                  needs_pds: None) -> None:
    queue = queue_project(tmp_path / "network", 24, "procs")
    logs = tmp_path / "logs"
    logs.mkdir()
    with six_channels(queue.root) as sc:
        slow_writes(sc, 0.25)

        # 1. a worker per channel, named after it; SIGKILL of the run takes them all
        p = start(queue.root, sc, logs / "1.log")
        try:
            lanes = wait_for(lambda: workers(p.pid), what="a worker process per channel")
            assert sorted(lanes.values()) == sorted(f"lane-{c}"[:15] for c in CHANNELS)
            wait_for(lambda: sc.writes_seen() >= 3, what="the first writes")
            os.kill(p.pid, signal.SIGKILL)
            p.wait(30)
            wait_for(lambda: not [c for c in lanes if _alive(c)], 10,
                     "the workers to die with the run")
            time.sleep(0.6)  # a write in flight on a server completes (its delay is 0.25 s)
            seen = sc.writes_seen()
            time.sleep(1.0)
            assert sc.writes_seen() == seen, "a worker went on writing after its run was killed"
        finally:
            if p.poll() is None:
                p.kill()

        # 2. Ctrl-C to the run alone: each worker completes its part in flight, then stops
        # (writes slower still: the run lasts 15 s or more, however late the signal comes)
        slow_writes(sc, 0.5)
        before, t0 = sc.writes_seen(), time.monotonic()
        p = start(queue.root, sc, logs / "2.log")
        try:
            wait_for(lambda: workers(p.pid, "x", "mastodon"), what="the workers")
            t_workers = time.monotonic() - t0
            wait_for(lambda: sc.writes_seen() >= before + 3, what="writes of the second run")
            t_sigint = time.monotonic() - t0
            os.kill(p.pid, signal.SIGINT)
            p.wait(60)
        finally:
            if p.poll() is None:
                p.kill()
        text = (logs / "2.log").read_text(errors="replace")
        assert p.returncode != 0, (f"workers after {t_workers:.1f} s, SIGINT after "
                                   f"{t_sigint:.1f} s, exit after {time.monotonic() - t0:.1f} s"
                                   f"\n{text[-2000:]}")
        states = ledger_states(queue.root, sc.env)
        assert not states["claimed"] and not states["unknown"], (states, text[-3000:])
        assert states["sent"] > 0

        # 3. a worker killed on its own: named in the report, the run fails, the rest finish
        slow_writes(sc, 0.25)
        p = start(queue.root, sc, logs / "3.log")
        try:
            # (a channel done already, e.g. Bluesky's one write for all, has no worker now)
            lanes = wait_for(lambda: workers(p.pid, "mastodon-es"), what="the workers")
            victim = next(pid for pid, name in lanes.items() if name == "lane-mastodon-es"[:15])
            before = sc.writes_seen()
            wait_for(lambda: sc.writes_seen() >= before + 3, what="writes of the third run")
            os.kill(victim, signal.SIGKILL)
            p.wait(120)
        finally:
            if p.poll() is None:
                p.kill()
        text = (logs / "3.log").read_text(errors="replace")
        assert p.returncode != 0, text[-2000:]
        assert "mastodon-es: failed (the worker of channel mastodon-es ended (signal 9)" in text, \
            text[-3000:]
        assert "Traceback" not in text, text[-3000:]
        others = Counter(r.state for r in ledger_rows(queue.root, sc.env)
                         if r.channel != "mastodon-es")
        assert others == {"sent": 5 * queue.n_parts}, others  # they went on to the end

        # 4. the lanes as threads (UPRBUZZ_LANES=threads): no worker process; all goes out
        sc.no_faults()
        slow_writes(sc, 0.05)
        p = start(queue.root, sc, logs / "4.log", UPRBUZZ_LANES="threads")
        spawned: set[int] = set()
        while p.poll() is None:
            spawned |= set(children(p.pid))
            time.sleep(0.02)
        text = (logs / "4.log").read_text(errors="replace")
        assert p.returncode == 0, text[-3000:]
        assert not spawned, f"UPRBUZZ_LANES=threads forked {len(spawned)} process(es)"

        sc.no_faults()
        again = run_uprbuzz(["publish"], queue.root, sc.env)
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
        assert "0 published" in again.stdout, again.stdout[-2000:]
        assert exactly_once_problems(sc.holdings(), queue) == []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
