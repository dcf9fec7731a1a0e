"""`uprbuzz ... | head -1`: a reader that closes the pipe early is not a bug. A real `uprbuzz`
process writes into a real pipe whose reader leaves after one line; it must leave quietly (no
traceback, no "this is a bug"), with 141 as a Unix tool killed by SIGPIPE reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.records.records_files import DOC, make_root, run, write_csv
from uprbuzz.cli import EXIT_PIPE_CLOSED

UPRBUZZ = Path(sys.executable).with_name("uprbuzz")
N = 600  # about 200 kB of `records list`: well past a pipe's 64 kB buffer


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("pipe")
    root = make_root(tmp)
    rows = [{"paragraph": f"26.{n}", "recommending_states": "Chile; Peru", "position": "noted",
             "ohchr_primary_theme": "Death penalty",
             "text": f"Recommendation {n}: " + "abolish the death penalty " * 12}
            for n in range(1, N + 1)]
    r = run(root, "import", str(write_csv(tmp / "recs.csv", rows)), "--doc", DOC)
    assert r.exit_code == 0, r.output
    return root


def uprbuzz(root: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "UPRBUZZ_ROOT": str(root)}
    return subprocess.Popen([str(UPRBUZZ), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def read_one_line_and_leave(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().strip()  # it was writing
    proc.stdout.close()  # as `head -1` does
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=60), stderr


def test_a_reader_closing_early_ends_quietly_with_141(root):
    # one line at a time: the write after the reader left fails with EPIPE
    code, stderr = read_one_line_and_leave(uprbuzz(root, "records", "list"))
    assert code == EXIT_PIPE_CLOSED == 141, stderr
    assert stderr == ""  # no traceback, no "this is a bug", not even the count


def test_one_large_write_cut_short_ends_quietly(root):
    # 435 kB in one write: when the reader leaves mid-write the kernel reports a short write,
    # which Python's buffered stdout may take without an error (then 0) or not (141)
    code, stderr = read_one_line_and_leave(uprbuzz(root, "records", "list", "--json"))
    assert code in (0, EXIT_PIPE_CLOSED), stderr
    assert stderr == ""


def test_a_reader_reading_everything_gets_everything(root):
    proc = uprbuzz(root, "records", "list")
    out, errs = proc.communicate(timeout=60)
    assert proc.returncode == 0, errs
    assert out.decode().count(f"{DOC} ¶26.") == N
    assert errs.decode().strip() == f"{N} recommendations"
