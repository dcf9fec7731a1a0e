""".github/workflows/campaign.yml, run as GitHub would run it: its own step list, `if:`
conditions and `${{ }}` values, read from the file (only the `uses:` actions are left out: the
checkout is the test's fresh clone, Python and uprbuzz are installed already).

- Without the UPRBUZZ_STATE secret the ledger travels on the state branch (the branch steps run;
  tests/test_state_branch.py holds the script itself to its promises).
- With it, the ledger is a PostgreSQL database: the branch steps are skipped, and two runs on two
  fresh checkouts (as two workflow runs are) publish each due post exactly once, counted on the X
  stand-in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.publish import REPO, make_project

WORKFLOW = REPO / ".github" / "workflows" / "campaign.yml"
BRANCH_STEPS = {
    "Restore the state store from the uprbuzz-state branch",
    "Mark the state as in use",
    "Save the state store to the uprbuzz-state branch",
    "Keep a copy of the state store (for recovery)",
}
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Run:
    """One run of the workflow's `tick` job: which steps ran, and how each ended."""

    def __init__(self, secrets: dict[str, str], workdir: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.secrets, self.workdir, self.base_env = secrets, workdir, env or {}
        self.outcomes: dict[str, str] = {}  # step id or name -> success | failure | skipped
        self.outputs: dict[str, str] = {}

    def value(self, expr: str, env: dict[str, str]) -> Any:
        """A GitHub expression, as far as the workflow uses them."""
        py = expr.replace("&&", " and ").replace("||", " or ")
        py = re.sub(r"\b(always|success|failure)\(\)", lambda m: f"_{m.group(1)}", py)
        names = {
            "_always": True,
            "_success": "failure" not in self.outcomes.values(),
            "_failure": "failure" in self.outcomes.values(),
        }

        def ref(m: re.Match[str]) -> str:
            scope, rest = m.group(1), m.group(2)
            if scope == "secrets":
                return repr(self.secrets.get(rest, ""))
            if scope == "env":
                return repr(env.get(rest, ""))
            if scope == "steps":
                step, _, attr = rest.partition(".")
                assert attr == "outcome", expr
                return repr(self.outcomes.get(step, ""))
            if scope == "github":
                return repr(f"github-{rest}")
            raise AssertionError(f"unknown context in {expr!r}")

        py = re.sub(r"\b(secrets|env|steps|github)\.([A-Za-z_][\w.]*)", ref, py)
        return eval(py, {"__builtins__": {}}, names)  # noqa: S307 - the repo's own workflow

    def text(self, s: str, env: dict[str, str]) -> str:
        return _EXPR.sub(lambda m: str(self.value(m.group(1), env)), str(s))

    def run(self, execute: bool = True) -> Run:
        job = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["tick"]
        env = dict(self.base_env)
        for k, v in job.get("env", {}).items():
            env[k] = self.text(v, env)
        for step in job["steps"]:
            name = step.get("id") or step.get("name") or step.get("uses")
            cond = step.get("if", "success()")
            if not self.value(cond, env):
                self.outcomes[name] = "skipped"
                continue
            if "uses" in step or "pip install" in step.get("run", "") or not execute:
                self.outcomes[name] = "success"  # an action, or the install: done already
                continue
            step_env = dict(env)
            for k, v in step.get("env", {}).items():
                step_env[k] = self.text(v, step_env)
            full = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
            full.update(step_env)
            full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full['PATH']}"
            full["PYTHONPATH"] = str(REPO / "src")
            p = subprocess.run(["bash", "-e", "-c", self.text(step["run"], step_env)],
                               cwd=self.workdir, env=full, capture_output=True, text=True,
                               timeout=120)
            self.outcomes[name] = "success" if p.returncode == 0 else "failure"
            self.outputs[name] = p.stdout + p.stderr
        return self

    def ran(self) -> set[str]:
        job = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["tick"]
        by_key = {(s.get("id") or s.get("name") or s.get("uses")): s.get("name", "")
                  for s in job["steps"]}
        return {by_key[k] for k, v in self.outcomes.items() if v != "skipped"}


def test_without_the_secret_the_ledger_travels_on_the_state_branch() -> None:
    run = Run(secrets={}).run(execute=False)
    assert run.ran() >= BRANCH_STEPS
    assert "uprbuzz tick" in run.ran()


def test_with_the_secret_the_branch_steps_are_skipped() -> None:
    run = Run(secrets={"UPRBUZZ_STATE": "postgresql://u@db.example.org/uprbuzz"}).run(
        execute=False)
    assert not BRANCH_STEPS & run.ran()
    assert "uprbuzz tick" in run.ran()


POST = """---
at: 2020-11-09T{hm}:00Z
status: approved
platforms: [x]
---
Workflow post {n}: the UPR of the United States, live on UN Web TV. #UPR36
"""


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_two_runs_on_fresh_checkouts_publish_once_through_postgresql(
        tmp_path: Path, pg_empty_url: str, xapi: Any) -> None:
    # The project as committed to its repository (no ledger in it).
    origin = make_project(tmp_path / "origin", {f"p{n}.md": POST.format(hm=hm, n=n)
                                                for n, hm in ((1, "02:00"), (2, "02:01"),
                                                              (3, "03:00"))})
    tools = origin / "tools" / "ci"
    tools.mkdir(parents=True)
    shutil.copy(REPO / "tools" / "ci" / "state-branch.sh", tools)
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "project"]):
        subprocess.run(["git", *args], cwd=origin, check=True, capture_output=True)

    # The repository's secrets, named as the workflow reads them.
    secrets = {"UPRBUZZ_STATE": pg_empty_url,
               **{k: v for k, v in xapi.env.items() if k != "UPRBUZZ_X_API_URL"}}
    # The stand-in's address and the test's clock are not secrets: the job's environment.
    env = {"UPRBUZZ_X_API_URL": xapi.url}

    def one_run(n: int, now: str) -> Run:
        work = tmp_path / f"run{n}"
        subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True)
        run = Run(secrets, work, {**env, "UPRBUZZ_NOW": now}).run()
        assert run.outcomes.get("tick") == "success", run.outputs
        assert not BRANCH_STEPS & run.ran()
        assert not (work / ".uprbuzz" / "state.sqlite").exists()  # the ledger is elsewhere
        return run

    one_run(1, "2020-11-09T02:05:00Z")  # posts 1 and 2 are due
    assert sorted(t["text"][:15] for t in xapi.server.store.tweets) == ["Workflow post 1",
                                                                        "Workflow post 2"]
    one_run(2, "2020-11-09T03:05:00Z")  # a fresh checkout: only post 3 is new
    texts = [t["text"][:15] for t in xapi.server.store.tweets]
    assert sorted(texts) == ["Workflow post 1", "Workflow post 2", "Workflow post 3"]
