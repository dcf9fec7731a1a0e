"""The channel workers as forked processes (publish/lane_workers.ProcessWorkers): how errors,
stops and deaths cross the process boundary.

The host here stands in for the Publisher's part a worker uses (its sends are lines appended
to a file, its ledger a real SQLite file the workers reopen): the failures under test (a
ledger error in one worker, a worker that cannot open its ledger, a worker killed) cannot be
provoked on demand through real platforms. The real path, `uprbuzz publish` against the
sandbox's servers, is tests/e2e/test_lane_processes.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from uprbuzz.errors import StoreError
from uprbuzz.publish import lane_workers
from uprbuzz.publish.lane import STOPPING
from uprbuzz.publish.lane_workers import LanesSetting, ProcessWorkers
from uprbuzz.publish.report import PlatformOutcome
from uprbuzz.store import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


class Host:
    def __init__(self, tmp: Path, *, slow: float = 0.0, boom: tuple[str, str] | None = None,
                 boom_with: BaseException | None = None, cannot_open: bool = False) -> None:
        self.path = tmp / "state.sqlite"
        self.store = Store.open(self.path)
        self.sent = tmp / "sent.log"
        self.sent.touch()
        self.slow, self.boom, self.boom_with, self.cannot_open = slow, boom, boom_with, cannot_open
        self._stop = threading.Event()
        self.reopened_in: list[int] = []

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def may_fork(self) -> bool:
        return True

    def forked(self) -> None:
        if self.cannot_open:
            raise StoreError("too many clients already", str(self.path))
        self.store = self.store.reopened()

    def request_stop(self) -> None:
        self._stop.set()

    def writes_many(self, channel: str) -> bool:
        return False

    def warm(self, channel: str) -> None:
        pass

    def publish_batch(self, channel: str, items: Any) -> list[PlatformOutcome]:
        raise AssertionError("not a batching channel")

    def publish_post(self, post: Any, reply_to: Any = None, platforms: Any = None, *,
                     content_hash: str | None = None, prepared: bool = False
                     ) -> dict[str, PlatformOutcome]:
        channel = platforms[0]
        if self.boom == (channel, post):
            raise self.boom_with or StoreError("the state store is locked", str(self.path))
        time.sleep(self.slow)
        with open(self.sent, "a") as f:  # O_APPEND: whole lines from every process
            f.write(f"{channel} {post} {os.getpid()}\n")
        return {channel: PlatformOutcome(channel, "sent", new=True)}

    def sends(self) -> list[tuple[str, str, int]]:
        return [(c, p, int(pid)) for c, p, pid in
                (ln.split() for ln in self.sent.read_text().splitlines())]


class Run:
    """ProcessWorkers over ``channels`` with ``n`` posts each; what it reported and raised."""

    def __init__(self, host: Host, channels: list[str], n: int) -> None:
        self.outcomes: list[tuple[str, PlatformOutcome]] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self.workers = ProcessWorkers(host, channels, self.emit, self.fail)
        self.host, self.channels = host, channels
        for i in range(n):
            for c in channels:
                self.workers.put(c, (f"p{i}", (f"p{i}", "hash")))  # type: ignore[arg-type]

    def emit(self, pairs: list[tuple[str, PlatformOutcome]]) -> None:
        with self._lock:
            self.outcomes += pairs

    def fail(self, e: BaseException, stop: bool) -> None:
        self.errors.append(e)
        if stop:
            self.host.request_stop()

    def states(self, channel: str) -> dict[str, str]:
        return {p: o.state for p, o in self.outcomes if o.platform == channel and p}


def test_each_channel_is_a_process_of_its_own(tmp_path: Path) -> None:
    host = Host(tmp_path)
    run = Run(host, ["a", "b", "c"], 5)
    run.workers.finish()
    sends = host.sends()
    assert sorted((c, p) for c, p, _ in sends) == sorted((c, f"p{i}") for c in "abc"
                                                        for i in range(5))
    pids = {c: {pid for ch, _, pid in sends if ch == c} for c in "abc"}
    assert all(len(v) == 1 for v in pids.values()), pids
    assert len(set().union(*pids.values())) == 3 and os.getpid() not in set().union(*pids.values())
    assert run.errors == [] and all(o.state == "sent" for _, o in run.outcomes)
    assert len(run.outcomes) == 15


def test_a_ledger_error_in_one_worker_stops_every_worker_and_arrives_whole(tmp_path: Path) -> None:
    host = Host(tmp_path, slow=0.1, boom=("a", "p2"))
    run = Run(host, ["a", "b"], 10)
    run.workers.finish()
    assert len(run.errors) == 1 and isinstance(run.errors[0], StoreError)
    assert str(run.errors[0]) == f"{host.path}: the state store is locked"  # its file named
    sent = host.sends()
    assert [p for c, p, _ in sent if c == "a"] == ["p0", "p1"]  # nothing after the failure
    assert len([1 for c, _, _ in sent if c == "b"]) < 10  # the other worker stopped too
    assert len(run.outcomes) == 20  # every post reported once, the unsent ones as stopped
    stopped = [o for _, o in run.outcomes if o.state == "deferred"]
    assert stopped and all(o.message == STOPPING for o in stopped)
    assert host.stopping  # the run knows it was stopped


def test_a_bug_in_a_worker_arrives_with_the_workers_traceback(tmp_path: Path) -> None:
    host = Host(tmp_path, boom=("b", "p1"), boom_with=KeyError("missing"))
    run = Run(host, ["a", "b"], 3)
    run.workers.finish()
    assert len(run.errors) == 1 and isinstance(run.errors[0], KeyError)
    notes = "\n".join(getattr(run.errors[0], "__notes__", []))
    assert "in the worker of channel b" in notes and "publish_post" in notes, notes


def test_a_stop_in_the_run_reaches_the_workers_after_their_part_in_flight(tmp_path: Path) -> None:
    host = Host(tmp_path, slow=0.1)
    run = Run(host, ["a", "b"], 20)
    time.sleep(0.45)
    run.workers.finish(stop=True)
    sent = host.sends()
    per = {c: len([1 for ch, _, _ in sent if ch == c]) for c in "ab"}
    assert all(1 <= k < 12 for k in per.values()), per
    assert len(run.outcomes) == 40
    assert sorted(p for p, o in run.outcomes if o.state == "sent" and o.platform == "a") == \
        sorted(p for c, p, _ in sent if c == "a")


def test_a_worker_that_cannot_open_its_ledger_sends_nothing(tmp_path: Path) -> None:
    host = Host(tmp_path, cannot_open=True)
    run = Run(host, ["a", "b"], 4)
    run.workers.finish()
    assert host.sends() == []
    assert run.errors and all(isinstance(e, StoreError) for e in run.errors)
    assert "too many clients already" in str(run.errors[0])
    assert len(run.outcomes) == 8
    assert {o.state for _, o in run.outcomes} == {"deferred"}


def test_a_worker_killed_alone_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    host = Host(tmp_path, slow=0.1)
    run = Run(host, ["a", "b"], 10)
    deadline = time.monotonic() + 10
    while not any(c == "a" for c, _, _ in host.sends()) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(run.workers.children["a"].pid, signal.SIGKILL)
    run.workers.finish()
    assert run.errors == []  # reported, not raised: the run's report says it
    failed = [o for p, o in run.outcomes if p == "" and o.platform == "a"]
    assert len(failed) == 1 and failed[0].state == "failed"
    assert "the worker of channel a ended (signal 9)" in failed[0].message
    a = run.states("a")
    assert len(a) == 10 and list(a.values()).count("unknown") == 1
    assert set(a.values()) <= {"sent", "unknown", "deferred"}
    assert run.states("b") == {f"p{i}": "sent" for i in range(10)}


def test_a_failed_fork_ends_the_workers_already_started(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real_fork, forked = os.fork, []

    def fork() -> int:
        if forked:
            raise OSError(11, "Resource temporarily unavailable")
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(lane_workers.os, "fork", fork)
    host = Host(tmp_path)
    with pytest.raises(OSError):
        ProcessWorkers(host, ["a", "b"], lambda _p: None, lambda _e, _s: None)
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):  # reaped already: no worker left behind
        os.waitpid(forked[0], os.WNOHANG)


def test_an_unknown_lanes_setting_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.setenv("UPRBUZZ_LANES", "thread")
    with pytest.raises(LanesSetting, match="UPRBUZZ_LANES='thread' is not a choice"):
        lane_workers.start(Host(tmp_path), ["a", "b"], lambda _p: None, lambda _e, _s: None)
