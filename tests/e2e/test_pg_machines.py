"""One ledger for many machines: three copies of a project (as three machines) share one
PostgreSQL ledger and publish 200 posts (threads, images) to the six sandbox channels together:
one runs `uprbuzz run`, one a loop of `uprbuzz tick`, one `uprbuzz publish` again and again.
Random ones of them are SIGKILLed 30 times (and started again), and PostgreSQL itself is
restarted once mid-run as after a crash (``pg_ctl restart -m immediate``: every connection cut).
Then one `uprbuzz publish` runs to the end: every part must be on every channel exactly once,
counted on the servers, and every ledger row sent.

Kills come after a random number of new writes (1-30, across the six channels and the three
processes), so they land while lanes are sending; writes are slowed at random before the write or
after it with the answer held back, so kills also land after a write landed and before its
sender knew. The three copies run on one host, so a claim of a killed process is known dead at
once (its pid is gone) by any of them; across real machines that takes the claim's lease
(15 minutes), which this test does not wait for.

Every process's output is kept (in tmp_path, or in the folder ``PGM_LOGS`` names, to read after
a run); the summary line printed with ``-s`` gives the kills, exits, reconciliations and times.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from tests.e2e.channels_helpers import (
    WRITES,
    SixChannels,
    exactly_once_problems,
    ledger_states,
    queue_project,
    six_channels,
)
from tests.fixtures.postgres import PgCluster
from tests.fixtures.publish import popen_uprbuzz, run_uprbuzz

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POSTS, KILLS = 200, 30
MAX_WRITES_PER_KILL = 30  # 30 kills come after at most 900 of the queue's >= 1,000 writes
RESTART_AFTER_KILL = 15  # PostgreSQL restarts between the 15th and the 16th kill
ROLES = ("run", "tick", "publish")


@dataclass
class Machine:
    """One copy of the project and the uprbuzz process it is running now (if any)."""

    role: str
    root: Path
    logs: Path
    proc: subprocess.Popen[bytes] | None = None
    out: IO[bytes] | None = None
    starts: int = 0
    exits: list[tuple[int, str]] = field(default_factory=list)  # (returncode, log name)

    @property
    def log_name(self) -> str:
        return f"{self.role}-{self.starts:03d}.log"

    def start(self, env: dict[str, str]) -> None:
        self.starts += 1
        self.out = open(self.logs / self.log_name, "wb")  # noqa: SIM115 - closed in reap()
        self.proc = popen_uprbuzz([self.role], self.root, env, stdout=self.out,
                                  stderr=subprocess.STDOUT,
                                  extra_env={"PYTHONUNBUFFERED": "1"})  # survives a kill

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def reap(self) -> int | None:
        """Wait for the process once it has ended; its return code (None: none ran)."""
        if self.proc is None:
            return None
        rc = self.proc.wait()
        if self.out is not None:
            self.out.close()
        self.exits.append((rc, self.log_name))
        self.proc = self.out = None
        return rc

    def kill(self) -> None:
        if self.running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
        self.reap()


def copy_project(src: Path, dest: Path, pg_url: str) -> Path:
    """A copy of the project folder (a machine of its own) whose ledger is the database."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".uprbuzz"))
    toml = dest / "uprbuzz.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("[project]\n", f'[project]\nstate = "{pg_url}"\n', 1),
                    encoding="utf-8")
    return dest


def test_three_machines_share_one_postgresql_ledger_exactly_once(
        tmp_path: Path, needs_pds: None, pg_url: str, pg_server: PgCluster) -> None:
    t0 = time.monotonic()
    queue = queue_project(tmp_path / "queue", POSTS, "machines")
    roots = {role: copy_project(queue.root, tmp_path / f"machine-{role}", pg_url)
             for role in ROLES}
    logs = Path(os.environ["PGM_LOGS"]) if os.environ.get("PGM_LOGS") else tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    # the sandbox's servers are started from the first copy; every copy reaches them via env.
    # The test cluster runs with synchronous_commit off; a ledger's database must not (the
    # restart would forget acknowledged claims, and their parts would go out twice)
    with pg_server.durable(pg_url), six_channels(roots["run"]) as sc:
        t_start = time.monotonic() - t0
        slow = {"delay_rate": 0.1, "delay_after_write_rate": 0.1, "delay_seconds": 0.3,
                "seed": 2417}
        sc.set_faults(x={**slow, "paths": WRITES["x"]},
                      mastodon={**slow, "paths": WRITES["mastodon"]},
                      bluesky={**slow, "paths": WRITES["bluesky"]})
        machines = [Machine(role, roots[role], logs) for role in ROLES]
        rng = random.Random(2417)
        kills: Counter[str] = Counter()
        restarted_pg, pg_down, stuck, done_early = False, 0.0, 0, False
        try:
            for m in machines:
                m.start(sc.env)
            while sum(kills.values()) < KILLS:
                before, target = sc.writes_seen(), rng.randint(1, MAX_WRITES_PER_KILL)
                deadline = time.monotonic() + 30
                while sc.writes_seen() - before < target:
                    keep_going(machines, sc)
                    if time.monotonic() > deadline:
                        stuck += 1
                        break
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.0, 0.05))
                live = [m for m in machines if m.running()]
                if not live:
                    continue
                victim = rng.choice(live)
                victim.kill()
                kills[victim.role] += 1
                victim.start(sc.env)
                if sum(kills.values()) == RESTART_AFTER_KILL and not restarted_pg:
                    pg_down = pg_server.restart()
                    restarted_pg = True
                if ledger_done(sc, queue.n_parts, roots["publish"]):
                    done_early = True  # everything went out before the 30 kills
                    break
        finally:  # also when the test fails here: no publisher left behind
            for m in machines:
                m.kill()
        t_kills = time.monotonic() - t0 - t_start
        after_kills = ledger_states(roots["publish"], sc.env)
        sc.no_faults()
        final = run_uprbuzz(["publish"], roots["publish"], sc.env, timeout=300)
        (logs / "final.log").write_text(final.stdout + final.stderr)
        t_final = time.monotonic() - t0 - t_start - t_kills

        text = "\n".join(f.read_text(errors="replace") for f in sorted(logs.iterdir()))
        landed = text.count("reconciled, it had landed")
        not_landed = text.count("the interrupted attempt did not land")
        exits = {m.role: Counter(rc for rc, _ in m.exits) for m in machines}
        # a lane thread that died on a store error (the publish loop does not catch it yet)
        dead_lanes = text.count("Exception in thread lane-")
        failed_logs = [(m.role, rc, name) for m in machines for rc, name in m.exits
                       if rc not in (0, -signal.SIGKILL)]
        print(f"\n{POSTS} posts x 6 channels = {6 * queue.n_parts} parts, 3 machines; sandbox "
              f"start {t_start:.1f}s; {sum(kills.values())} kills {dict(kills)} in "
              f"{t_kills:.1f}s; PostgreSQL restarted in {pg_down:.1f}s; process exits "
              f"{ {r: dict(c) for r, c in exits.items()} }; starts "
              f"{ {m.role: m.starts for m in machines} }; ledger after the kills "
              f"{dict(after_kills)}; final run {t_final:.1f}s; reconciled: {landed} had "
              f"landed, {not_landed} had not; lane threads that died: {dead_lanes}")
        for role, rc, name in failed_logs[:12]:
            tail = (logs / name).read_text(errors="replace").strip().splitlines()[-3:]
            print(f"  {role} exited {rc} ({name}): {' | '.join(tail)}")

        assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
        assert not done_early, f"the queue was done after {sum(kills.values())} kills"
        assert restarted_pg and sum(kills.values()) == KILLS
        assert stuck == 0, f"{stuck} times no write for 30 s"

        held = sc.holdings()
        problems = exactly_once_problems(held, queue)
        assert not problems, "\n".join(problems[:30])
        assert {c: len(p) for c, p in held.items()} == {c: queue.n_parts for c in held}
        for root in roots.values():  # every machine sees the one ledger, all sent
            assert ledger_states(root, sc.env) == {"sent": 6 * queue.n_parts}

        # every machine published a share, and the kills landed inside sends
        posted = {m.role: sum((logs / f"{m.role}-{k:03d}.log").read_text(errors="replace")
                              .count(": posted ") for k in range(1, m.starts + 1))
                  for m in machines}
        assert all(posted.values()), posted
        assert len(set(kills)) == 3, dict(kills)
        assert landed > 0, "no kill caught a write that had landed before its answer"
        assert after_kills["sent"] > 6 * queue.n_parts // 10, dict(after_kills)
        print(f"posted per machine {posted}; total {time.monotonic() - t0:.1f}s")


def keep_going(machines: list[Machine], sc: SixChannels) -> None:
    """Start again whatever ended by itself (a tick or publish run that finished, or any
    process the PostgreSQL restart stopped)."""
    for m in machines:
        if m.proc is not None and not m.running():
            m.reap()
            m.start(sc.env)


def ledger_done(sc: SixChannels, n_parts: int, root: Path) -> bool:
    """Whether every row is sent already (checked cheaply on the servers first)."""
    c = sc.counts()
    if c["x"]["posts"] + c["mastodon"]["posts"] < 4 * n_parts:
        return False
    return ledger_states(root, sc.env) == {"sent": 6 * n_parts}
