"""Share-card figures: render + encode time per 1600x900 card, and all 347 recommendation cards.

    .venv/bin/python bench/cards.py [--n 80]

Targets (issue 5): median per card <= 40 ms; all 347 cards <= 10 s on the 2-core machine.
Wall-clock and CPU time are both printed: on a shared machine wall time includes waiting.
The 347 run uses the real data in ../shared when present, else 347 synthetic texts.
"""

from __future__ import annotations

import sys
from pathlib import Path

# A bench/<stdlib name>.py would shadow that module (multiprocessing needs queue): keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import csv  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
CSV = ROOT.parent / "shared" / "data" / "upr2020" / "us_upr2020_recommendations.csv"
BRAND = {"handle": "@uprwatch.bsky.social · #UPR36", "name": "UPR Watch"}
BUDGET = 1_000_000


def rows() -> list[dict[str, str]]:
    if CSV.exists():
        with CSV.open(encoding="utf-8", newline="") as f:
            return [{"state": r["recommending_states"], "text": r["text"],
                     "paragraph": r["paragraph"]} for r in csv.DictReader(f)]
    words = "ensure protect rights children women migrants detention police justice accountability"
    return [{"state": "Examplestan", "paragraph": f"26.{i + 1}",
             "text": " ".join(words.split()[(i + k) % 10] for k in range(8 + i % 40))}
            for i in range(347)]


def one(fields: dict[str, str], i: int) -> int:
    from uprbuzz.cards import render
    from uprbuzz.cards.encode import encode

    out = render("recommendation", {**fields, "timestamp": f"00:{i // 60 % 60:02d}:{i % 60:02d}"},
                 "1600x900", BRAND)
    enc = encode(out.image, out.kind, BUDGET)
    return len(enc.data)


def chunk(args: tuple[list[dict[str, str]], int]) -> tuple[int, float]:
    """Bytes written and CPU seconds this worker used (font loading included)."""
    data, start = args
    c = time.process_time()
    total = sum(one(f, start + i) for i, f in enumerate(data))
    return total, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=80, help="cards for the per-card median")
    n = ap.parse_args().n
    data = rows()
    real = CSV.exists()
    print(f"data: the {len(data)} real recommendations from {CSV}" if real else
          f"NOTE: {CSV} not found: using {len(data)} SYNTHETIC texts, not the real recommendations")
    t = time.perf_counter()
    one(data[0], 0)  # fonts and character maps load once per process
    print(f"first card (loads fonts): {(time.perf_counter() - t) * 1000:.0f} ms")
    walls, cpus, sizes = [], [], []
    for i in range(n):
        f = data[(i * 7) % len(data)]
        t, c = time.perf_counter(), time.process_time()
        sizes.append(one(f, i))
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    print(f"render+encode per 1600x900 card (n={n}): median {statistics.median(walls) * 1000:.1f} ms "
          f"wall, {statistics.median(cpus) * 1000:.1f} ms CPU; p90 "
          f"{sorted(walls)[int(n * 0.9)] * 1000:.1f} ms wall; median PNG "
          f"{statistics.median(sizes) / 1000:.0f} kB  (target <= 40 ms)")
    workers = min(2, os.cpu_count() or 1)
    parts = [(data[i::workers], i) for i in range(workers)]
    ctx = multiprocessing.get_context("fork")
    t = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        results = list(pool.map(chunk, parts))
    wall = time.perf_counter() - t
    total, cpu = sum(r[0] for r in results), [r[1] for r in results]
    print(f"all {len(data)} {'recommendation' if real else 'SYNTHETIC'} cards, {workers} processes: {wall:.2f} s wall "
          f"(incl. process start and font loading), {total / 1e6:.1f} MB PNG  (target <= 10 s)")
    print(f"  CPU per worker: {', '.join(f'{c:.2f} s' for c in cpu)} -> {max(cpu):.2f} s on "
          f"{workers} otherwise idle cores")
    with contextlib.suppress(OSError):
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
              f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
