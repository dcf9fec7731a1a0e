"""Problems a user can fix end in one clean line naming where, never a traceback: a bad
uprbuzz.toml (every bad value at its own line), a missing dependency, a corrupt, read-only or
locked state store. Afterwards, nothing is sent twice (counted on the X stand-in)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.fixtures.publish import make_project, run_uprbuzz

X_ONLY = "[platforms.bluesky]\nenabled = false\n"
POSTS = {
    "a.md": "---\nstatus: approved\n---\nFirst public statement\n---\nand its second part\n",
    "b.md": "---\nstatus: approved\n---\nA second post\n",
}


def _one_clean_line(r, *needles: str) -> str:
    err = r.stderr.strip()
    assert "Traceback" not in r.stdout + r.stderr
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err
    return err


def test_bad_config_values_each_at_their_line(tmp_path):
    root = make_project(tmp_path / "p", POSTS)
    (root / "uprbuzz.toml").write_text(
        '[project]\nname = "e2e"\nlate_limit = "soon"\ntimezone = "Europe/Genva"\n'
        '[platforms.x]\ntimeout = "fast"\n[platforms.bluesky]\nimage_budget = "1MB"\n')
    r = run_uprbuzz(["check", "--json"], root, {})
    assert r.returncode == 1, r.stderr
    got = {(d["line"], d["code"]) for d in json.loads(r.stdout) if d["path"] == "uprbuzz.toml"}
    assert got == {(3, "config"), (4, "config"), (6, "config"), (8, "config")}
    messages = " | ".join(d["message"] for d in json.loads(r.stdout))
    for words in ("late_limit", "'soon'", "Europe/Genva", "timeout", "image_budget", "'1MB'"):
        assert words in messages

    for cmd in (["tick"], ["plan"], ["status"], ["publish"]):
        r = run_uprbuzz(cmd, root, {})
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        _one_clean_line(r, "uprbuzz.toml:3:", "and 3 more problems")


def test_toml_syntax_error_is_located(tmp_path):
    root = make_project(tmp_path / "p", POSTS)
    (root / "uprbuzz.toml").write_text('[project]\nname = "e2e"\nlate_limit = 30m\n')
    r = run_uprbuzz(["tick"], root, {})
    assert r.returncode == 2
    _one_clean_line(r, "uprbuzz.toml:3:")
    r = run_uprbuzz(["check"], root, {})
    assert r.returncode == 1 and "uprbuzz.toml:3:" in r.stdout


def test_missing_dependency_fails_closed(tmp_path):
    """With `regex` unimportable, check names it and never reports '0 errors', even with a warm
    cache that already holds a clean verdict."""
    root = make_project(tmp_path / "p", POSTS)
    assert run_uprbuzz(["check"], root, {}).returncode == 0  # warm the parse cache
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text("import sys\nsys.modules['regex'] = None\n")
    r = _run_with_path(root, ["check"], block)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "0 errors" not in r.stdout + r.stderr
    _one_clean_line(r, "regex", "pip install regex")


def _run_with_path(root: Path, args: list[str], first: Path):
    import subprocess

    from tests.fixtures.publish import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    env["PYTHONPATH"] = f"{first}{os.pathsep}{REPO / 'src'}"
    return subprocess.run([sys.executable, "-m", "uprbuzz", "-C", str(root), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.e2e
def test_corrupt_store_refused_then_nothing_twice(tmp_path, xapi):
    root = make_project(tmp_path / "p", POSTS, toml=X_ONLY)
    state = root / ".uprbuzz" / "state.sqlite"
    assert run_uprbuzz(["publish", "a"], root, xapi.env).returncode == 0
    backup = tmp_path / "backup.sqlite"
    with sqlite3.connect(state) as c:  # a consistent copy, as a user's backup would be
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(state, backup)
    state.write_bytes(b"this is not a database, it was overwritten by mistake" * 100)
    for f in state.parent.glob("state.sqlite-*"):
        f.unlink()
    for cmd in (["publish"], ["tick"], ["status"]):
        r = run_uprbuzz(cmd, root, xapi.env)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        _one_clean_line(r, str(state), "not a readable SQLite database")
    shutil.copy(backup, state)
    assert run_uprbuzz(["publish", "a", "b"], root, xapi.env).returncode == 0
    texts = Counter(t["text"] for t in xapi.server.store.tweets)
    assert texts == Counter({"First public statement": 1, "and its second part": 1,
                             "A second post": 1})


@pytest.mark.e2e
def test_locked_store_one_line_then_nothing_twice(tmp_path, xapi):
    root = make_project(tmp_path / "p", POSTS, toml=X_ONLY)
    assert run_uprbuzz(["publish", "a"], root, xapi.env).returncode == 0
    holder = sqlite3.connect(root / ".uprbuzz" / "state.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        r = run_uprbuzz(["publish", "a", "b"], root, xapi.env, extra_env={"UPRBUZZ_LOCK_TIMEOUT": "0.3"})
        assert r.returncode == 2, r.stdout + r.stderr
        _one_clean_line(r, "state.sqlite", "locked by another uprbuzz process")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run_uprbuzz(["publish", "a", "b"], root, xapi.env).returncode == 0
    assert Counter(t["text"] for t in xapi.server.store.tweets) == Counter(
        {"First public statement": 1, "and its second part": 1, "A second post": 1})


@pytest.mark.e2e
def test_read_only_store_one_line_then_nothing_twice(tmp_path, xapi):
    """Root ignores file modes: as root the command runs in its own mount namespace with the
    state folder bind-mounted read-only (as on a read-only volume)."""
    root = make_project(tmp_path / "p", POSTS, toml=X_ONLY)
    assert run_uprbuzz(["publish", "a"], root, xapi.env).returncode == 0
    folder = root / ".uprbuzz"
    if os.geteuid() == 0:
        if not shutil.which("unshare"):
            _cannot("unshare (util-linux) is needed to make a read-only mount as root")
        inner = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} {folder}"
                 ' && exec "$@"')
        wrap = ["unshare", "-m", "sh", "-c", inner, "sh"]
    else:
        wrap = []
        for f in folder.iterdir():
            f.chmod(0o444)
        folder.chmod(0o555)
    try:
        r = _run_wrapped(root, ["publish", "a", "b"], xapi.env, wrap)
        if wrap and "mount" in r.stderr and "uprbuzz" not in r.stderr:
            _cannot(f"cannot make a read-only mount here: {r.stderr.strip()}")
        assert r.returncode == 2, r.stdout + r.stderr
        _one_clean_line(r, "state.sqlite", "read-only")
    finally:
        folder.chmod(0o755)
        for f in folder.iterdir():
            f.chmod(0o644)
    assert run_uprbuzz(["publish", "a", "b"], root, xapi.env).returncode == 0
    assert Counter(t["text"] for t in xapi.server.store.tweets) == Counter(
        {"First public statement": 1, "and its second part": 1, "A second post": 1})


def _cannot(why: str) -> None:
    if os.environ.get("UPRBUZZ_REQUIRE_SERVERS") == "1":
        pytest.fail(why)
    pytest.skip(why)


def _run_wrapped(root: Path, args: list[str], env: dict[str, str], wrap: list[str]):
    import subprocess

    from tests.fixtures.publish import REPO

    full = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    full.update(env)
    full["PYTHONPATH"] = str(REPO / "src")
    return subprocess.run([*wrap, sys.executable, "-m", "uprbuzz", "-C", str(root), *args],
                          capture_output=True, text=True, env=full, timeout=120)
