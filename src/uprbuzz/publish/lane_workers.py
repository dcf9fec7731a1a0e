"""Where each channel's worker runs during a run over the due posts: a process of its own, or
a thread.

A lane's work is mostly Python: the SDK's request and answer handling (Mastodon.py turns every
answer into typed objects), the ledger's claim and record, the budget. As threads, the lanes
share one interpreter lock, so three lanes go at the pace of one core, and a lane waiting on
the network waits again for the lock each time its answer arrives. As processes forked from
the run, each lane has an interpreter of its own on a core of its own, and starts with
everything the run has imported, read and checked so far (nothing is imported twice).

Processes are used when the Publisher asks for them (``uprbuzz publish`` and ``tick`` do), on
Linux, with more than one core and more than one channel, when the run is its process's only
thread (forking beside other threads is unsafe), the clients are uprbuzz's own (tests hand in
clients that live in this process) and the ledger is not in memory. Threads are used
otherwise: the daemon, the library, other systems. ``UPRBUZZ_LANES=threads`` forces threads.

A process lane behaves as its thread would:
- it opens a ledger connection of its own and builds its own clients (``Publisher.forked``);
  what it sends and records goes through the same ledger, so exactly-once is the ledger's, as
  between machines;
- it dies with the run (``PR_SET_PDEATHSIG``): a killed run sends nothing more;
- one stop request, shared by the run's processes (a byte of shared memory): Ctrl-C, a failure
  in any lane, or the run's own request stops every lane after its part in flight;
- if it dies without reporting a post (killed, out of memory), the run reports the channel
  failed and that post unknown (the next run settles its claim, as after a crash), and the
  other channels go on.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import mmap
import os
import pickle
import queue
import signal
import sys
import threading
import traceback
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
# fail(error, stop): the run raises ``error`` at its end; stop=True also stops it now
Fail = Callable[[BaseException, bool], None]

_log = logging.getLogger("uprbuzz.publish.lane_workers")
ENV = "UPRBUZZ_LANES"
WATCH = 0.05  # seconds: how soon a stop reaches every process of the run
_CRASHED = 70  # a worker's exit status after a bug in itself (EX_SOFTWARE)


class WorkerHost(Protocol):
    """What a channel's worker needs from the Publisher."""

    store: Store

    @property
    def stopping(self) -> bool: ...

    @property
    def may_fork(self) -> bool: ...

    def forked(self) -> None: ...

    def request_stop(self) -> None: ...

    def writes_many(self, channel: str) -> bool: ...

    def warm(self, channel: str) -> None: ...

    def publish_batch(self, channel: str, items: Sequence[tuple[Post, str]]
                      ) -> list[PlatformOutcome]: ...

    def publish_post(self, post: Post, reply_to: dict[str, tuple[Remote, Remote]] | None = None,
                     platforms: Sequence[str] | None = None, *, content_hash: str | None = None,
                     prepared: bool = False) -> dict[str, PlatformOutcome]: ...


# --- the worker loop (a thread's or a process's) ------------------------------------------------

def serve(pub: WorkerHost, channel: str, items: queue.Queue[Item | None], emit: Emit,
          fail: Fail) -> None:
    """One channel's worker: send its items in order until ``None``; report each outcome.

    A channel whose platform writes many posts at once takes every item ready by now. Once the
    run is stopping, items are reported stopped, never recorded: the next run finds them due."""
    batched = False
    try:
        batched = pub.writes_many(channel)
        pub.warm(channel)  # log in while the first posts are still being checked
    except BaseException as e:  # noqa: BLE001 - e.g. the ledger failed loading a session
        fail(e, True)
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
        if pub.stopping:
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


def _drain(channel: str, items: queue.Queue[Item | None], emit: Emit) -> None:
    """Report every item stopped (a worker that could not start)."""
    while (it := items.get()) is not None:
        emit([(it[0], stopped_outcome(channel))])


# --- choosing --------------------------------------------------------------------------------

class Workers(Protocol):
    def put(self, channel: str, item: Item) -> None: ...

    def finish(self, *, stop: bool = False) -> None: ...


class LanesSetting(UprbuzzError):
    code = "config"


def start(pub: WorkerHost, channels: list[str], emit: Emit, fail: Fail) -> Workers:
    """A worker per channel, as processes when they can be (see the module docstring)."""
    if _can_fork(pub, channels):
        try:
            return ProcessWorkers(pub, channels, emit, fail)
        except OSError as e:  # no fork to be had (process limit, memory): threads will do
            _log.warning("channel workers run as threads: cannot fork (%s)", e)
    return ThreadWorkers(pub, channels, emit, fail)


def _can_fork(pub: WorkerHost, channels: list[str]) -> bool:
    setting = os.environ.get(ENV, "").strip().lower()
    if setting not in ("", "processes", "threads"):
        raise LanesSetting(f"{ENV}={os.environ[ENV]!r} is not a choice: set it to 'threads' "
                           "(or 'processes', the default where it works), or unset it")
    if setting == "threads" or not pub.may_fork or len(channels) < 2:
        return False
    return (sys.platform == "linux" and threading.active_count() == 1
            and len(os.sched_getaffinity(0)) > 1)


# --- threads ---------------------------------------------------------------------------------

def _thread(name: str, fn: Callable[..., None], *args: object) -> threading.Event:
    """Run ``fn`` on a daemon thread; the event is set when it has returned."""
    done = threading.Event()

    def run() -> None:
        try:
            fn(*args)
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    return done


def _wait(done: list[threading.Event]) -> None:
    """Wait for each event. (Not Thread.join: on Python 3.11 a join that Ctrl-C interrupts
    marks the thread finished, and the next join returns at once.)"""
    for ev in done:
        ev.wait()


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


# --- processes -------------------------------------------------------------------------------

class StopFlag:
    """The run's stop request, shared by its processes: a byte of anonymous shared memory
    (set from a signal handler, which must take no lock)."""

    def __init__(self) -> None:
        self._byte = mmap.mmap(-1, 1)

    def set(self) -> None:
        self._byte[0] = 1

    def is_set(self) -> bool:
        return self._byte[0] == 1


def _watch(pub: WorkerHost, flag: StopFlag, done: threading.Event) -> None:
    """Keep this process's stop request and the run's shared one the same, both ways (a
    request_stop here reaches the others; theirs wakes a rate-limit wait here)."""
    while not done.wait(WATCH):
        if pub.stopping:
            flag.set()
        elif flag.is_set():
            pub.request_stop()


class _Child:
    def __init__(self, channel: str, pid: int, to_child: BinaryIO, from_child: int) -> None:
        self.channel, self.pid = channel, pid
        self.to_child, self.from_child = to_child, from_child
        self.lock = threading.Lock()  # the main thread's items, its collector's bookkeeping
        self.pending: deque[str] = deque()  # post ids handed over, not reported yet
        self.closed = False
        self.died: str | None = None  # why it ended, once it has: it takes no more items

    def send(self, msg: object) -> None:
        data = pickle.dumps(msg, pickle.HIGHEST_PROTOCOL)  # whole, before any byte is written
        with self.lock:
            if self.closed:
                return
            try:
                self.to_child.write(data)
                self.to_child.flush()
            except OSError:  # it is gone: its collector reports what it had
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
        self.flag = StopFlag()
        self._report = threading.Lock()
        _flush_stdio()  # else each child would write the parent's buffered output again
        parent = os.getpid()
        gc.freeze()  # the heap as it is stays shared: the children's collections skip it
        try:
            for channel in channels:
                self._fork(channel, parent)
        except BaseException:  # no fork (OSError), or Ctrl-C meanwhile: end those started
            self._abandon()
            raise
        finally:
            gc.unfreeze()
        self._watching = threading.Event()
        _thread("lanes-stop", _watch, pub, self.flag, self._watching)
        self.collected = [_thread(f"lane-{c.channel}-results", self._collect, c)
                          for c in self.children.values()]

    def _fork(self, channel: str, parent: int) -> None:
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        try:
            pid = os.fork()
        except BaseException:
            for fd in (down_r, down_w, up_r, up_w):
                os.close(fd)
            raise
        if pid == 0:  # the child: never returns
            os.close(down_w)
            os.close(up_r)
            for other in self.children.values():  # else their end of input never comes
                for fd in (other.to_child.fileno(), other.from_child):
                    with contextlib.suppress(OSError):
                        os.close(fd)
            _child_main(self.pub, channel, down_r, up_w, parent, self.flag)
        os.close(down_r)
        os.close(up_w)
        self.children[channel] = _Child(channel, pid, os.fdopen(down_w, "wb"), up_r)

    def _abandon(self) -> None:
        """Undo a start that could not fork every worker: the ones forked end (no input)."""
        self.flag.set()
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
                self.emit([(item[0], PlatformOutcome(channel, "deferred", message=died))])

    def finish(self, *, stop: bool = False) -> None:
        if stop:
            self.pub.request_stop()
            self.flag.set()
        for c in self.children.values():
            c.close()  # the end of its items
        _wait(self.collected)
        self._watching.set()
        if self.flag.is_set():  # a worker's stop request (its failure, its Ctrl-C) is the run's
            self.pub.request_stop()

    def _collect(self, child: _Child) -> None:
        """Read one child's reports until it ends; then account for what it never reported."""
        try:
            with os.fdopen(child.from_child, "rb") as up:
                while True:
                    try:
                        kind, value = pickle.load(up)
                    except Exception:  # noqa: BLE001 - its end (EOF), or a message cut short
                        break
                    with self._report:
                        if kind == "outcomes":
                            with child.lock:
                                for _ in value:
                                    if child.pending:
                                        child.pending.popleft()
                            self.emit(value)
                        elif kind == "error":
                            self.fail(value, False)  # it has set the shared stop itself
        finally:
            _, status = os.waitpid(child.pid, 0)
            self._ended(child, status)

    def _ended(self, child: _Child, status: int) -> None:
        why = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.waitstatus_to_exitcode(status)}")
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        err = (f"the worker of channel {child.channel} ended ({why}) before it reported every "
               "post; the next run settles what it had claimed")
        with child.lock:
            lost, child.pending = list(child.pending), deque()
            child.died = err
        child.close()
        if not lost and ok:
            return
        pairs = [("", PlatformOutcome(child.channel, "failed", message=err))]
        if lost:  # the first may have been in flight: whether it landed, the next run checks
            pairs.append((lost[0], PlatformOutcome(child.channel, "unknown", message=err)))
            pairs += [(p, PlatformOutcome(child.channel, "deferred", message=err))
                      for p in lost[1:]]
        with self._report:
            self.emit(pairs)


def _child_main(pub: WorkerHost, channel: str, down: int, up: int, parent: int,
                flag: StopFlag) -> None:
    """A channel's worker process: serve its items from the pipe, report up the other one."""
    code = _CRASHED
    try:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # as the run treats it
            signal.signal(signal.SIGINT, lambda *_: flag.set())  # Ctrl-C: the run's stop
        _as_lane(channel, parent)
        out = os.fdopen(up, "wb")
        out_lock = threading.Lock()
        items: queue.Queue[Item | None] = queue.Queue()

        def report(kind: str, value: object) -> None:
            data = pickle.dumps((kind, value), pickle.HIGHEST_PROTOCOL)
            with out_lock:
                out.write(data)
                out.flush()

        def read() -> None:
            try:
                with os.fdopen(down, "rb") as inp:
                    while True:
                        items.put(pickle.load(inp))
            except BaseException:  # noqa: BLE001, S110 - the end of its items (EOF) or a cut
                pass
            finally:
                items.put(None)

        def emit(pairs: list[tuple[str, PlatformOutcome]]) -> None:
            report("outcomes", pairs)

        def fail(e: BaseException, stop: bool) -> None:
            if stop:  # at once here (its next post must not go), and soon everywhere
                pub.request_stop()
                flag.set()
            report("error", _portable(e, channel))

        _thread("lane-input", read)
        watching = threading.Event()
        _thread("lane-stop", _watch, pub, flag, watching)
        try:
            pub.forked()
        except BaseException as e:  # noqa: BLE001 - no ledger of its own: send nothing
            fail(e, True)
            _drain(channel, items, emit)
        else:
            serve(pub, channel, items, emit, fail)
            pub.store.close()
        watching.set()
        code = 0
    except BaseException:  # noqa: BLE001 - a bug in the worker itself: shown, the run fails
        traceback.print_exc()
    finally:
        _flush_stdio()
        os._exit(code)  # no interpreter teardown, none of the parent's atexit hooks


def _portable(e: BaseException, channel: str) -> BaseException:
    """``e``, as it will arrive in the parent: a bug carries its traceback from the worker
    (a user's error is one line, as ever); anything pickling cannot carry becomes its text."""
    if not isinstance(e, UprbuzzError):
        e.add_note(f"in the worker of channel {channel}:\n"
                   + "".join(traceback.format_exception(e)).rstrip())
    try:
        return pickle.loads(pickle.dumps(e))
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(e).__name__}: {e}")


def _as_lane(channel: str, parent: int) -> None:
    """Have the kernel kill this process when the run dies (a SIGKILLed run sends nothing
    more, as when the lanes were its threads), and name it after its channel (``ps`` and
    ``top`` show ``lane-NAME``, cut to 15 bytes). Without the first, it must not run."""
    import ctypes

    pr_set_pdeathsig, pr_set_name = 1, 15
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGKILL) != 0 or os.getppid() != parent:
        os._exit(_CRASHED)  # no death signal, or the run is gone already
    libc.prctl(pr_set_name, f"lane-{channel}".encode()[:15])


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
