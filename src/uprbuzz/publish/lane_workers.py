"""Where each channel's worker runs during a run over the due posts: a process of its own, or
a thread.

A lane's work is mostly Python: the SDK's request and answer handling (Mastodon.py turns every
answer into typed objects), the ledger's claim and record, the budget. As threads, the lanes
share one interpreter lock, so three lanes go at the pace of one core, and a lane waiting on
the network waits again for the lock each time its answer arrives. As processes forked from
the run, each lane has an interpreter of its own on a core of its own, and starts with
everything the run has imported, read and checked so far (nothing is imported twice).

Processes are used on Linux when the run is the process's only thread (``uprbuzz publish``
and ``tick``) and the clients are uprbuzz's own. Threads are used otherwise: the daemon (its
scheduler runs threads, and forking beside them is unsafe), clients handed in by tests (they
live in this process), and everywhere else. ``UPRBUZZ_LANES=threads`` forces threads.

A process lane behaves as its thread would:
- it opens a ledger connection of its own (the parent's is left alone: closing it from the
  child would end the parent's PostgreSQL session);
- what it sends and records goes through the same ledger, so exactly-once is the ledger's,
  as between machines;
- it dies with the run (``PR_SET_PDEATHSIG``): a killed run sends nothing more, as before;
- Ctrl-C, or a failure in another lane, stops it after the part in flight (request_stop);
- if it ends without reporting a post, the run says so and fails; the post's claim, if any,
  is reconciled by the next run, as a crashed run's would be.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, BinaryIO, Protocol

from uprbuzz.errors import UprbuzzError
from uprbuzz.publish.lane import stopped_outcome
from uprbuzz.publish.report import PlatformOutcome

if TYPE_CHECKING:
    from uprbuzz.model import Post
    from uprbuzz.platforms.base import Remote
    from uprbuzz.store import Store

# (post id, (ready post, content hash)) handed to a channel's worker, in the channel's order
Item = tuple[str, tuple["Post", str]]
Emit = Callable[[list[tuple[str, PlatformOutcome]]], None]
# fail(error, stop): the run fails with ``error`` at its end; stop=True also stops it now
Fail = Callable[[BaseException, bool], None]

_log = logging.getLogger("uprbuzz.publish.lane_workers")
ENV = "UPRBUZZ_LANES"


class WorkerHost(Protocol):
    """What a channel's worker needs from the Publisher."""

    store: Store

    @property
    def stopping(self) -> bool: ...

    def forked(self) -> None: ...

    def request_stop(self) -> None: ...

    def writes_many(self, channel: str) -> bool: ...

    def warm(self, channel: str) -> None: ...

    def publish_batch(self, channel: str, items: Sequence[tuple[Post, str]]
                      ) -> list[PlatformOutcome]: ...

    def publish_post(self, post: Post, reply_to: dict[str, tuple[Remote, Remote]] | None = None,
                     platforms: Sequence[str] | None = None, *, content_hash: str | None = None,
                     prepared: bool = False) -> dict[str, PlatformOutcome]: ...


def serve(pub: WorkerHost, channel: str, items: queue.Queue[Item | None], emit: Emit,
          fail: Fail) -> None:
    """One channel's worker: send its items in order until ``None``; report each outcome.

    A channel whose platform writes many posts at once takes every item ready by now."""
    batched = pub.writes_many(channel)
    pub.warm(channel)  # log in while the first posts are still being checked
    done = False
    while not done:
        got = [items.get()]
        while batched and got[-1] is not None:
            try:
                got.append(items.get_nowait())
            except queue.Empty:
                break
        if got[-1] is None:
            done = True
            got.pop()
        ready = [it for it in got if it is not None]
        if not ready:
            continue
        if pub.stopping:  # reported, never recorded: the next run finds it due as before
            outcomes = [stopped_outcome(channel) for _ in ready]
        else:
            try:
                outcomes = _send(pub, channel, ready)
            except BaseException as e:  # noqa: BLE001 - the ledger failed (StoreError) or a
                # bug: the run stops (the other channels too) and raises it at the end
                fail(e, True)
                outcomes = [stopped_outcome(channel) for _ in ready]
        emit([(post_id, o) for (post_id, _), o in zip(ready, outcomes, strict=True)])


def _send(pub: WorkerHost, channel: str, ready: list[Item]) -> list[PlatformOutcome]:
    if len(ready) > 1:
        return pub.publish_batch(channel, [prep for _, prep in ready])
    post, chash = ready[0][1]
    return [pub.publish_post(post, platforms=[channel], content_hash=chash,
                             prepared=True)[channel]]


class Workers(Protocol):
    def put(self, channel: str, item: Item) -> None: ...

    def finish(self, *, stop: bool = False) -> None: ...


def start(pub: WorkerHost, channels: list[str], emit: Emit, fail: Fail, *,
          own_clients: bool) -> Workers:
    """A worker per channel, as processes when they can be (see the module docstring)."""
    if _can_fork(channels, own_clients):
        try:
            return ProcessWorkers(pub, channels, emit, fail)
        except OSError as e:  # no fork to be had (process limit, memory): threads will do
            _log.warning("channel workers as threads: cannot fork (%s)", e)
    return ThreadWorkers(pub, channels, emit, fail)


def _can_fork(channels: list[str], own_clients: bool) -> bool:
    return (len(channels) > 1 and own_clients and sys.platform == "linux"
            and os.environ.get(ENV, "").strip().lower() != "threads"
            and threading.active_count() == 1 and (os.cpu_count() or 1) > 1)


def _wait(done: list[threading.Event]) -> None:
    """Wait for every thread to have set its event. (Not Thread.join: on Python 3.11 a join
    that Ctrl-C interrupts marks the thread finished, and the next join returns at once.)"""
    for ev in done:
        ev.wait()


def _thread(name: str, fn: Callable[..., None], *args: object) -> threading.Event:
    done = threading.Event()

    def run() -> None:
        try:
            fn(*args)
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    return done


class ThreadWorkers:
    def __init__(self, pub: WorkerHost, channels: list[str], emit: Emit, fail: Fail) -> None:
        self.pub = pub
        self.queues: dict[str, queue.Queue[Item | None]] = {c: queue.Queue() for c in channels}
        self.done = [_thread(f"lane-{c}", serve, pub, c, self.queues[c], emit, fail)
                     for c in channels]

    def put(self, channel: str, item: Item) -> None:
        self.queues[channel].put(item)

    def finish(self, *, stop: bool = False) -> None:
        if stop:
            self.pub.request_stop()
        for q in self.queues.values():
            q.put(None)
        _wait(self.done)


class LaneDied(UprbuzzError):
    """A channel's worker process ended before reporting every post handed to it (killed, out
    of memory). Its channel's claims are settled by the next run, as a crashed run's are."""

    code = "lane-died"


class _Child:
    def __init__(self, channel: str, pid: int, to_child: BinaryIO, from_child: int) -> None:
        self.channel, self.pid = channel, pid
        self.to_child, self.from_child = to_child, from_child
        self.lock = threading.Lock()  # the main thread's items and a collector's stop
        self.pending: deque[str] = deque()  # post ids handed over, not reported yet
        self.closed = False
        self.reaped = False  # its pid may belong to another process from then on
        self.died: LaneDied | None = None  # set once it has ended without reporting them all

    def send(self, msg: object) -> None:
        with self.lock:
            if self.closed:
                return
            try:
                pickle.dump(msg, self.to_child, pickle.HIGHEST_PROTOCOL)
                self.to_child.flush()
            except (BrokenPipeError, OSError):  # it is gone: its collector reports it
                self.closed = True

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                with contextlib.suppress(OSError):
                    self.to_child.close()


class ProcessWorkers:
    def __init__(self, pub: WorkerHost, channels: list[str], emit: Emit, fail: Fail) -> None:
        self.pub, self.emit, self.fail = pub, emit, fail
        self.children: dict[str, _Child] = {}
        self._report = threading.Lock()
        for stream in (sys.stdout, sys.stderr):  # else the child writes the parent's buffer too
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        parent = os.getpid()
        for channel in channels:
            down_r, down_w = os.pipe()
            up_r, up_w = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                for fd in (down_r, down_w, up_r, up_w):
                    os.close(fd)
                self._abandon()
                raise
            if pid == 0:  # the child: never returns
                os.close(down_w)
                os.close(up_r)
                for other in self.children.values():  # else their EOF never comes
                    for fd in (other.to_child.fileno(), other.from_child):
                        with contextlib.suppress(OSError):
                            os.close(fd)
                _child_main(pub, channel, down_r, up_w, parent)
            os.close(down_r)
            os.close(up_w)
            self.children[channel] = _Child(channel, pid, os.fdopen(down_w, "wb"), up_r)
        self.collected = [_thread(f"lane-{c.channel}-results", self._collect, c)
                          for c in self.children.values()]

    def _abandon(self) -> None:
        """Undo a start that could not fork every worker: the ones forked end (EOF)."""
        for c in self.children.values():
            c.close()
            with contextlib.suppress(OSError):
                os.close(c.from_child)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(c.pid, 0)

    def put(self, channel: str, item: Item) -> None:
        child = self.children[channel]
        with child.lock:
            died = child.died
            if died is None:
                child.pending.append(item[0])
        if died is None:
            child.send(item)
        else:
            with self._report:
                self.emit([(item[0], PlatformOutcome(channel, "deferred", message=str(died)))])

    def stop_all(self) -> None:
        """Every worker sends nothing more after its part in flight (its SIGINT handler)."""
        self.pub.request_stop()
        for c in self.children.values():
            with c.lock:
                if not c.reaped:
                    with contextlib.suppress(OSError):
                        os.kill(c.pid, signal.SIGINT)

    def finish(self, *, stop: bool = False) -> None:
        if stop:
            self.stop_all()
        for c in self.children.values():
            c.close()  # end of its items
        _wait(self.collected)

    def _collect(self, child: _Child) -> None:
        """Read one child's reports until it ends; then account for what it never reported."""
        with os.fdopen(child.from_child, "rb") as up:
            while True:
                try:
                    kind, value = pickle.load(up)
                except (EOFError, OSError, pickle.UnpicklingError):
                    break
                if kind == "outcomes":
                    with child.lock:
                        for _ in value:
                            if child.pending:
                                child.pending.popleft()
                    with self._report:
                        self.emit(value)
                elif kind == "error":
                    with self._report:
                        self.fail(value, True)
                    self.stop_all()
        _, status = os.waitpid(child.pid, 0)
        with child.lock:
            child.reaped = True
        why = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.waitstatus_to_exitcode(status)}")
        err = LaneDied(f"the worker of channel {child.channel} ended ({why}) before it "
                       "reported every post; the next run settles them")
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        with child.lock:
            lost, child.pending = list(child.pending), deque()
            if lost or not ok:
                child.died = err
        child.close()
        if lost or not ok:  # the other channels go on: what it claimed is safe in the ledger
            with self._report:
                self.emit([(pid, PlatformOutcome(child.channel, "deferred", message=str(err)))
                           for pid in lost])
                self.fail(err, False)


def _child_main(pub: WorkerHost, channel: str, down: int, up: int, parent: int) -> None:
    """A channel's worker process: serve its items from the pipe, report up the other one."""
    code = 70
    try:
        signal.signal(signal.SIGINT, lambda *_: pub.request_stop())
        _as_lane(channel, parent)
        pub.forked()
        items: queue.Queue[Item | None] = queue.Queue()
        out = os.fdopen(up, "wb")
        out_lock = threading.Lock()

        def read() -> None:
            with os.fdopen(down, "rb") as inp:
                while True:
                    try:
                        msg = pickle.load(inp)
                    except (EOFError, OSError, pickle.UnpicklingError):
                        break
                    items.put(msg)
            items.put(None)

        def report(kind: str, value: object) -> None:
            with out_lock:
                pickle.dump((kind, value), out, pickle.HIGHEST_PROTOCOL)
                out.flush()

        threading.Thread(target=read, daemon=True, name="lane-input").start()
        serve(pub, channel, items, lambda pairs: report("outcomes", pairs),
              lambda e, _stop: report("error", _portable(e)))
        pub.store.close()
        code = 0
    except BaseException:  # noqa: BLE001 - a bug in the worker: shown, and the run fails
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        os._exit(code)  # no interpreter teardown, no atexit of the parent's



def _portable(e: BaseException) -> BaseException:
    """``e`` if it survives pickling (an error's message and location), else its text."""
    try:
        return pickle.loads(pickle.dumps(e))
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(e).__name__}: {e}")


def _as_lane(channel: str, parent: int) -> None:
    """Have the kernel kill this process when the run dies (a SIGKILLed run sends nothing
    more, as when the lanes were its threads), and name it after its channel (``ps``, ``top``
    show ``lane-x-es``)."""
    import ctypes

    pr_set_pdeathsig, pr_set_name = 1, 15
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        libc.prctl(pr_set_name, f"lane-{channel}".encode()[:15])
    if os.getppid() != parent:  # it died before the line above
        os._exit(70)
