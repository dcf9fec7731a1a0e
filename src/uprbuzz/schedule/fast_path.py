"""The "nothing is due" fast path of ``uprbuzz tick``.

A cron tick runs every few minutes and almost always finds nothing to do. After every full run
the scheduler stores a *due index* (kv table, key ``due_index``): a fingerprint of the project's
source files (path, size, mtime of uprbuzz.toml, posts/, schedules/), a mark of the state store
(last ledger event, stored feed posts), the environment that changes what is due, and the
earliest moment something could become due or a feed poll is due. That moment comes from the
publish loop's own due rule (``uprbuzz.publish.due_rule``, via ``schedule.wake.next_wake``)
and from the engagement snapshots' (``publish.engagement.next_snapshot_at``: the earliest
snapshot due after a publication, read from the ledger),
which does not read the clock: "nothing due at t" here is "no lane due at t" there for any t,
the clock moved back included. The next tick stats the files, and when nothing changed and that
moment is still ahead, it is done without parsing a single post. Anything else (edited files,
another process publishing, deferring or queueing feed posts, a newer uprbuzz) falls through to
the full path, which is always correct: this index only ever skips work that provably isn't
there.

This module is imported by ``uprbuzz tick`` before anything else, so it uses only cheap
built-in modules (no typing, pathlib, json, datetime or the sqlite3 package): its cost is most
of the cost of a tick with nothing due.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # mypy treats this name as True; importing typing here would cost time
if TYPE_CHECKING:
    import sqlite3
    from _hashlib import HASH
    from datetime import datetime

    from uprbuzz.config import Config

INDEX_KEY = "due_index"
INDEX_VERSION = "5"  # 5: next_due includes the next engagement snapshot (4: publishing only)
CONFIG_NAME = "uprbuzz.toml"
ENV_KEYS = ("UPRBUZZ_TIMEZONE",)  # environment that changes due times (besides the files)


def _sha1() -> HASH:
    import _sha1  # CPython's own: hashlib would load OpenSSL (~3 ms) for the same digest

    return _sha1.sha1()


def _connect(path: str, readonly: bool) -> sqlite3.Connection:
    from _sqlite3 import connect  # the C module: the sqlite3 package adds datetime & co (~3 ms)
    if readonly:
        return connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    return connect(path, timeout=30.0)


# --- fingerprints ----------------------------------------------------------------------------

def fingerprint_paths(root: str, posts_dir: str, schedules_dir: str) -> str:
    """Hash of every source file's path, size and mtime (uprbuzz.toml, posts/, schedules/)."""
    out: list[str] = []
    try:
        st = os.stat(os.path.join(root, CONFIG_NAME))
        out.append(f"{CONFIG_NAME}\0{st.st_size}\0{st.st_mtime_ns}")
    except OSError:
        pass
    for rel in (posts_dir, schedules_dir):
        _walk(os.path.join(root, rel), rel, out)
    h = _sha1()
    h.update("\n".join(out).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def fingerprint(config: Config) -> str:
    return fingerprint_paths(str(config.root), config.posts_dir, config.schedules_dir)


def _walk(path: str, rel: str, out: list[str]) -> None:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for e in entries:
        name = f"{rel}/{e.name}"
        try:
            if e.is_dir(follow_symlinks=False):
                out.append(name + "/")
                _walk(e.path, name, out)
                continue
            st = e.stat()
        except OSError:
            continue
        out.append(f"{name}\0{st.st_size}\0{st.st_mtime_ns}")


def store_mark(conn: sqlite3.Connection) -> str:
    """Changes whenever the ledger, the stored (feed) posts or the records change, whoever
    changed them."""
    h = _sha1()
    row = conn.execute("SELECT MAX(id) FROM events").fetchone()
    h.update(f"events:{row[0]}\n".encode())
    for pid, data in conn.execute(
            "SELECT post_id, data FROM stored_posts ORDER BY post_id"):
        h.update(f"{pid}\0{data}\n".encode())
    # Campaign rules post from records: an import or a response changes what is due. Every
    # write to a record sets its updated_at (microseconds), and a removal changes the count.
    row = conn.execute("SELECT COUNT(*), MAX(updated_at) FROM records").fetchone()
    h.update(f"records:{row[0]}:{row[1]}\n".encode())
    return h.hexdigest()


def _version() -> str:
    from uprbuzz import __version__

    return f"{INDEX_VERSION}:{__version__}"


def _env(env: dict[str, str] | os._Environ[str]) -> str:
    return ";".join(f"{k}={env.get(k, '')}" for k in ENV_KEYS)


# --- writing (full path) ---------------------------------------------------------------------

def write_index(conn: sqlite3.Connection, fp: str, next_due: datetime | None,
                next_poll: datetime | None = None, mark: str | None = None) -> None:
    """Store the index. ``mark`` must be taken *before* the ledger was read for ``next_due``."""
    fields = {
        "version": _version(),
        "fingerprint": fp,
        "store": mark if mark is not None else store_mark(conn),
        "env": _env(os.environ),
        "next_due": "" if next_due is None else repr(next_due.timestamp()),
        "next_poll": "" if next_poll is None else repr(next_poll.timestamp()),
    }
    value = "".join(f"{k}={v}\n" for k, v in fields.items())
    conn.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (INDEX_KEY, value))


def read_index(conn: sqlite3.Connection) -> dict[str, str] | None:
    row = conn.execute("SELECT value FROM kv WHERE key = ?",
                       (INDEX_KEY,)).fetchone()
    if row is None:
        return None
    out = {}
    for line in str(row[0]).splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


# --- reading (fast path) ---------------------------------------------------------------------

def nothing_due_at(root: str, posts_dir: str, schedules_dir: str, state_path: str,
                   now: float) -> bool:
    """True only when the stored index proves that a full tick would do nothing at ``now``."""
    if not os.path.exists(state_path):
        return False
    try:
        conn = _connect(state_path, readonly=True)
        try:
            index = read_index(conn)
            if index is None or index.get("version") != _version():
                return False
            if index.get("env") != _env(os.environ):
                return False
            if index.get("store") != store_mark(conn):
                return False  # another process published, deferred or queued something
        finally:
            conn.close()
    except Exception:  # locked, corrupt, older schema: the full path decides
        return False
    for key in ("next_due", "next_poll"):
        when = index.get(key)
        if when and float(when) <= now:
            return False
    return index.get("fingerprint") == fingerprint_paths(root, posts_dir, schedules_dir)


def nothing_due(config: Config, now: datetime) -> bool:
    return nothing_due_at(str(config.root), config.posts_dir, config.schedules_dir,
                          str(config.state_path), now.timestamp())


def fast_nothing_due(project: str = "") -> bool:
    """``nothing_due`` for the console entry point: finds the project and its paths itself."""
    env = os.environ
    start = project or env.get("UPRBUZZ_ROOT") or os.getcwd()
    root = _find_root(os.path.abspath(start))
    if root is None:
        return False
    paths = _project_paths(root)
    if paths is None:
        return False
    posts, schedules, state = paths
    state = env.get("UPRBUZZ_STATE") or state
    state_path = os.path.realpath(os.path.join(root, state))
    return nothing_due_at(root, posts, schedules, state_path, _now())


def _find_root(here: str) -> str | None:
    while True:
        if os.path.isfile(os.path.join(here, CONFIG_NAME)):
            return os.path.realpath(here)
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _project_paths(root: str) -> tuple[str, str, str] | None:
    """(posts, schedules, state) as ``load_config`` reads them; TOML is parsed only when the
    file mentions one of those keys at all (the defaults apply otherwise)."""
    with open(os.path.join(root, CONFIG_NAME), "rb") as f:
        data = f.read()
    keys = (b"posts", b"schedules", b"state")
    if not any(k in line.split(b"=", 1)[0] for line in data.splitlines() if b"=" in line
               for k in keys):
        return "posts", "schedules", ".uprbuzz/state.sqlite"
    import tomllib

    proj = tomllib.loads(data.decode("utf-8")).get("project", {})
    return (proj.get("posts", "posts"), proj.get("schedules", "schedules"),
            proj.get("state", ".uprbuzz/state.sqlite"))


def _now() -> float:
    """``default_clock().now()`` as a POSIX timestamp (clock.py pulls in typing: ~8 ms)."""
    import time

    fixed = os.environ.get("UPRBUZZ_NOW")
    if not fixed:
        return time.time()
    from datetime import datetime

    start = datetime.fromisoformat(fixed)
    if start.tzinfo is None:
        raise ValueError("UPRBUZZ_NOW needs a UTC offset")  # the full path explains it
    return start.timestamp()  # the offset clock has barely moved since the process started
