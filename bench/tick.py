"""`uprbuzz tick` cold start with 1,000 queued posts and nothing due, as a ratio to `python -c pass`
measured in the same run (target ≤ 5x); daemon idle RSS (target ≤ 150 MB).

Run: .venv/bin/python bench/tick.py
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def make_project(root: Path, n: int = 1000) -> None:
    (root / "uprbuzz.toml").write_text(
        '[project]\nname = "bench"\ntimezone = "America/New_York"\n', encoding="utf-8")
    posts = root / "posts"
    for i in range(n):
        d = posts / f"batch{i // 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"post{i:04d}.md").write_text(
            f"---\nat: 2030-{1 + i % 12:02d}-{1 + i % 28:02d} 09:{i % 60:02d}\nstatus: approved\n---\n"
            f"Post {i}: 347 recommendations to the United States at its third UPR. #UPR36\n",
            encoding="utf-8")


def timed(cmd: list[str], env: dict[str, str], cwd: Path, expect: str | None = None) -> float:
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.PIPE, text=True)
    took = time.perf_counter() - t
    if expect is not None and out.stdout.strip() != expect:
        raise SystemExit(f"unexpected output from {' '.join(cmd)}: {out.stdout!r}")
    return took


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp)
        make_project(proj)
        env = dict(os.environ)  # real clock: the posts are in 2030, so nothing is due
        env.pop("UPRBUZZ_NOW", None)
        for k in [k for k in env if k.startswith(("UPRBUZZ_X_", "UPRBUZZ_BLUESKY_"))]:
            env.pop(k)
        t = timed([str(BIN / "uprbuzz"), "tick"], env, proj)
        print(f"first tick (parses 1,000 posts, builds the due index): {t * 1000:.0f} ms")
        out = subprocess.run([str(BIN / "python"), "-X", "importtime", "-m", "uprbuzz", "tick"],
                             env=env, cwd=proj, capture_output=True, text=True, check=True)
        heavy = [m for m in ("atproto", "tweepy", "PIL", "yaml", "click")
                 if f" {m}\n" in out.stderr or f"| {m}\n" in out.stderr]
        print(f"modules imported by a tick with nothing due, of atproto/tweepy/PIL/yaml/click: "
              f"{heavy or 'none'}")
        ticks, passes = [], []
        for _ in range(21):  # interleaved, so both see the same machine load
            passes.append(timed([str(BIN / "python"), "-c", "pass"], env, proj))
            ticks.append(timed([str(BIN / "uprbuzz"), "tick"], env, proj,
                               expect="uprbuzz tick: nothing due"))
        mt, mp = statistics.median(ticks), statistics.median(passes)
        print(f"uprbuzz tick, nothing due, 1,000 posts: median {mt * 1000:.1f} ms "
              f"(min {min(ticks) * 1000:.1f})")
        print(f"python -c pass:                          median {mp * 1000:.1f} ms "
              f"(min {min(passes) * 1000:.1f})")
        print(f"ratio: {mt / mp:.2f}x (target <= 5x)")
        (proj / "posts" / "batch00" / "post0000.md").touch()  # an edit: full path, still idle
        t = timed([str(BIN / "uprbuzz"), "tick"], env, proj)
        print(f"tick after an edit (full path, parse cache warm, nothing due): {t * 1000:.0f} ms")

        proc = subprocess.Popen([str(BIN / "uprbuzz"), "run"], env=env, cwd=proj,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(6)
            rss_kb = 0
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb = int(line.split()[1])
            print(f"uprbuzz run idle RSS after 6 s: {rss_kb / 1024:.1f} MB (target <= 150 MB)")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
