"""tools/ci/state-branch.sh (used by .github/workflows/campaign.yml) against a local bare repo:
the ledger survives between runs, a run that could not save blocks the next one, pushes are
compare-and-swap, and no login session reaches the branch."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.publish import REPO

SCRIPT = REPO / "tools" / "ci" / "state-branch.sh"
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(tmp_path, "clone", "-q", "origin.git", "work")
    work = tmp_path / "work"
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
        "-m", "init")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    return work


def step(work: Path, cmd: str, run: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RUN_URL=run, PYTHON=sys.executable)
    return subprocess.run(["bash", str(SCRIPT), cmd], cwd=work, env=env, capture_output=True,
                          text=True)


def write_state(work: Path, value: str) -> None:
    from uprbuzz.store import Store

    with Store.open(work / ".uprbuzz" / "state.sqlite") as s:
        s.sessions.save("bluesky", "me.test", '{"accessJwt": "SECRET-TOKEN"}')
        s.db.execute("INSERT INTO kv (key, value) VALUES ('ledger', ?) ON CONFLICT (key) "
                     "DO UPDATE SET value = excluded.value", (value,))


def read_kv(work: Path) -> tuple[str, int]:
    con = sqlite3.connect(work / ".uprbuzz" / "state.sqlite")
    try:
        return (con.execute("SELECT value FROM kv WHERE key='ledger'").fetchone()[0],
                con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])
    finally:
        con.close()


def test_state_round_trip_marker_and_compare_and_swap(clone: Path, tmp_path: Path) -> None:
    assert step(clone, "restore", "run1").returncode == 0  # no branch yet: empty
    assert step(clone, "mark", "run1").returncode == 0
    write_state(clone, "after run 1")
    assert step(clone, "save", "run1").returncode == 0
    blob = subprocess.run(["git", "show", "uprbuzz-state:state.sqlite"], check=True,
                          cwd=tmp_path / "origin.git", capture_output=True).stdout
    assert blob.startswith(b"SQLite format 3") and b"SECRET-TOKEN" not in blob  # sessions never reach the branch

    shutil.rmtree(clone / ".uprbuzz")  # the next run starts from a fresh checkout
    assert step(clone, "restore", "run2").returncode == 0
    assert read_kv(clone) == ("after run 1", 0)
    assert step(clone, "mark", "run2").returncode == 0
    write_state(clone, "after run 2")
    # run 2 dies before saving: run 3 must refuse to tick from the older ledger
    blocked = step(clone, "restore", "run3")
    assert blocked.returncode == 1 and "did not save its state (run2)" in blocked.stderr
    stale = (clone / ".uprbuzz" / "state-branch.lease").read_text()
    assert step(clone, "save", "run2").returncode == 0  # run 2's state after all
    (clone / ".uprbuzz" / "state-branch.lease").write_text(stale)
    lost = step(clone, "save", "a writer with an old view")
    assert lost.returncode == 1 and "could not push" in lost.stderr
    shutil.rmtree(clone / ".uprbuzz")
    assert step(clone, "restore", "run4").returncode == 0
    assert read_kv(clone) == ("after run 2", 0)
