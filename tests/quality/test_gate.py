"""The quality gate catches what it claims to: a test plants a lint error, a type error and a
broken import contract, each in a temporary copy of the project, and scripts/check must fail
on each (and pass on the untouched copy)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("gate") / "uprbuzz"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache")
    for rel in ("src", "tools/ci", "scripts"):
        shutil.copytree(REPO / rel, dest / rel, ignore=ignore)
    # lint the copy's src only: the gate's ruff step also reads tests/ and bench/
    for rel in ("tests", "bench"):
        (dest / rel).mkdir()
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def _gate(root: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(root / "src"),  # the copy shadows the editable install
               UPRBUZZ_PYTHON=sys.executable)
    return subprocess.run(["bash", str(root / "scripts" / "check")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def _planted(copy: Path, rel: str, extra: str) -> Path:
    root = copy.parent / f"planted-{abs(hash(extra))}"
    shutil.copytree(copy, root)
    with (root / rel).open("a", encoding="utf-8") as f:
        f.write(extra)
    return root


def test_untouched_copy_passes(copy: Path) -> None:
    r = _gate(copy)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("rel, extra, step", [
    ("src/uprbuzz/clock.py", "\n\ndef _planted() -> None:\n    import json\n", "ruff"),
    ("src/uprbuzz/clock.py", "\n\ndef _planted() -> int:\n    return 'not a number'\n", "mypy"),
    ("src/uprbuzz/platforms/base.py",
     "\n\ndef _planted() -> object:\n    from uprbuzz.store import Store\n\n    return Store\n",
     "import-linter"),
])
def test_planted_problem_fails_the_gate(copy: Path, rel: str, extra: str, step: str) -> None:
    r = _gate(_planted(copy, rel, extra))
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    last_step = [ln for ln in out.splitlines() if ln.startswith("==> ")][-1]
    assert step in last_step, out  # it failed at the step that owns the problem


def test_scripts_test_runs_the_gate_before_pytest() -> None:
    lines = (REPO / "scripts" / "test").read_text().splitlines()
    gate = next(i for i, ln in enumerate(lines) if ln.startswith("scripts/check"))
    pytest_line = next(i for i, ln in enumerate(lines) if "pytest" in ln and "exec" in ln)
    assert gate < pytest_line and "set -euo pipefail" in lines
