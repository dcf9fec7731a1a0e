"""Benchmark: `uprbuzz check` over 10,000 generated post files (cold, then warm from the parse
cache) and `uprbuzz plan` over 1,000 files, each as a real subprocess (whole-process wall time).

Targets (issue 2): warm check of 10,000 files <= 1 s; plan over 1,000 files <= 300 ms.
Usage: .venv/bin/python bench/post_queue.py [--files 10000] [--plan-files 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2020-11-02T09:00:00-05:00"
WORDS = ["review", "human", "rights", "United", "States", "Geneva", "recommendation", "States", "delegation", "webcast", "civil", "society", "coalition", "report", "session", "speakers", "justice", "equality", "voting", "police", "migrants", "climate", "health", "housing"]
ZONES = ("America/New_York", "Europe/Zurich", "America/Chicago", "America/Los_Angeles")


def cli() -> list[str]:
    exe = Path(sys.executable).parent / "uprbuzz"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "uprbuzz"]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_project(root: Path, n: int, seed: int = 1) -> None:
    from PIL import Image

    rng = random.Random(seed)
    (root / "media").mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (640, 360), (30 * i, 90, 160)).save(root / "media" / f"img{i}.png")
    (root / "uprbuzz.toml").write_text(
        '[project]\nname = "bench"\ntimezone = "America/New_York"\nlang = "en"\n'
        'state = ".uprbuzz/state.sqlite"\n')
    start = datetime(2020, 11, 3, 8, 0)
    for i in range(n):
        folder = root / "posts" / f"batch{i // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        at = start + timedelta(minutes=37 * i)
        if at.hour == 2:  # keep clear of the spring-forward gap (check would rightly refuse it)
            at += timedelta(hours=1)
        fm = [f"at: {at:%Y-%m-%d %H:%M}", f"status: {'approved' if i % 5 else 'draft'}",
              f"tags: [UPR36, t{i % 7}]"]
        if i % 4 == 1:
            fm.append(f"tz: {rng.choice(ZONES)}")
        if i % 10 == 3:
            fm += ["media:", f"  - path: media/img{i % 4}.png", "    alt: A coloured panel"]
        if i % 9 == 4:
            fm += ["x:", f'  text: "{sentence(rng, 8)}"']
        if i % 13 == 5:
            fm.append("link: https://example.org/upr/" + str(i))
        parts = [sentence(rng, rng.randint(8, 22)) + " #UPR36"
                 for _ in range(3 if i % 6 == 2 else 1)]
        (folder / f"post{i:05d}.md").write_text("---\n" + "\n".join(fm) + "\n---\n"
                                                + "\n---\n".join(parts) + "\n")


CPU: dict[str, list[float]] = {}


def run(args: list[str], root: Path, label: str = "") -> tuple[float, int]:
    env = {**os.environ, "UPRBUZZ_NOW": NOW}
    env.pop("UPRBUZZ_ROOT", None)
    # as installed: byte code cached (pip compiles on install); a dev shell may forbid writing it
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cli() + args, cwd=root, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:  # CPU time of the process: what the wall time would be on an idle machine
        CPU.setdefault(label, []).append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    if p.returncode not in (0, 1):
        raise SystemExit(f"{args} failed:\n{p.stdout}\n{p.stderr}")
    return dt, p.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--plan-files", type=int, default=1_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="uprbuzz-bench-"))
    try:
        big, small = tmp / "big", tmp / "small"
        make_project(big, a.files)
        make_project(small, a.plan_files, seed=2)
        cold, rc = run(["check"], big)
        assert rc == 0, "generated project should check clean"
        warm = [run(["check"], big, "warm")[0] for _ in range(a.runs)]
        one = big / "posts" / "batch00" / "post00000.md"
        one.write_text(one.read_text().replace("#UPR36", "#UPR36 edited"))
        edit1 = run(["check"], big)[0]
        plan_cold = run(["plan", "--from", "2020-11-03", "--days", "14"], small)[0]
        run(["check"], small)
        plan_warm = [run(["plan", "--from", "2020-11-03", "--days", "14"], small, "plan")[0]
                     for _ in range(a.runs)]
        plan_all = [run(["plan", "--from", "2020-11-03", "--days", "3660"], small)[0]
                    for _ in range(a.runs)]
        base = [run(["--version"], small)[0] for _ in range(a.runs)]
        med = statistics.median
        print(f"queue bench ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, {a.runs} runs, "
              "median wall time of the whole process; CPU = its user+sys time)")
        print(f"  check {a.files} files, cold (parse + all checks): {cold:7.2f} s")
        print(f"  check {a.files} files, warm (parse cache):        {med(warm):7.3f} s   "
              f"(min {min(warm):.3f}, CPU {med(CPU['warm']):.3f}; target <= 1 s)")
        print(f"  check {a.files} files, one file edited:           {edit1:7.3f} s")
        print(f"  plan {a.plan_files} files, cold cache, 14 days:      {plan_cold:7.3f} s")
        print(f"  plan {a.plan_files} files, warm, 14 days:            {med(plan_warm):7.3f} s   "
              f"(min {min(plan_warm):.3f}, CPU {med(CPU['plan']):.3f}; target <= 0.3 s)")
        print(f"  plan {a.plan_files} files, warm, all {a.plan_files} listed:    {med(plan_all):7.3f} s")
        print(f"  `uprbuzz --version` (interpreter start-up):     {med(base):7.3f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
