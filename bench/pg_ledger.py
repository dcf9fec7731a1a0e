"""The shared ledger's cost: claim + record per publication on PostgreSQL vs SQLite, and three
machines publishing 600 parts vs one.

1. In-process, through ``store.publications`` as the publish loop calls it: for each part a
   ``claim()`` (one write transaction: read the lane, insert the claim and its event) then a
   ``mark_sent()`` (a second one), timed per publication; median and 90th percentile per
   backend. SQLite is the default file ledger (WAL); PostgreSQL a throwaway local cluster
   (tests/fixtures/postgres.py: fsync off, over TCP on 127.0.0.1, so the figure is the protocol
   and the advisory lock, not a disk).
2. Real processes: 600 single-part posts to the X stand-in (its own process, no rate limits,
   no processing delay) by one `uprbuzz publish`, then by three at once (three copies of the
   project, as three machines, on one fresh PostgreSQL database each time); wall time from the
   first start to the last exit, and a check on the stand-in that each post landed once.

Run: .venv/bin/python bench/pg_ledger.py [--parts N] [--posts P]   (defaults 400 and 600)
Writes bench/out/pg_ledger.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "pg_ledger.json"


def per_publication(where: str, n: int) -> dict[str, float]:
    """Median / p90 / mean milliseconds of claim + mark_sent for ``n`` parts in ``where``."""
    from uprbuzz.platforms.base import Remote
    from uprbuzz.store import Store
    from uprbuzz.store.publications import new_owner

    owner, lease = new_owner(), timedelta(minutes=15)
    times: list[float] = []
    with Store.open(where) as store:
        pubs = store.publications
        for i in range(20):  # warm up (connection, statement caches), not counted
            now = datetime.now(UTC)
            pubs.claim(f"warm/{i}", "x", [(1, f"warm {i}", None)], "h", owner, now, lease)
            pubs.mark_sent(f"warm/{i}", "x", 1, Remote("x", f"w{i}", "https://x.test/w"), now)
        for i in range(n):
            now = datetime.now(UTC)
            t = time.perf_counter()
            got = pubs.claim(f"b/{i:05d}", "x", [(1, f"bench post {i}", f"k{i}")], "h", owner,
                             now, lease)
            pubs.mark_sent(f"b/{i:05d}", "x", 1, Remote("x", str(10**6 + i), "https://x.test/s"),
                           now)
            times.append((time.perf_counter() - t) * 1000)
            assert got is not None
        rows = Counter(r.state for r in pubs.rows())
        assert rows == {"sent": n + 20}, rows
    times.sort()
    return {"parts": n, "median_ms": statistics.median(times),
            "p90_ms": times[int(0.9 * (len(times) - 1))], "mean_ms": statistics.fmean(times)}


def project(root: Path, n: int, tag: str, state: str) -> Path:
    from tests.fixtures.publish import make_project

    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    posts = {f"b/{i:04d}.md": f"---\nat: {at}\nstatus: approved\nplatforms: [x]\n---\n"
                              f"{tag} {i}: 347 recommendations to the United States #UPR36\n"
             for i in range(n)}
    make_project(root, posts)
    toml = root / "uprbuzz.toml"
    toml.write_text(toml.read_text().replace("[project]\n", f'[project]\nstate = "{state}"\n', 1))
    return root


def machines(n_proc: int, posts: int, cluster: Any, env: dict[str, str], x_url: str,
             tmp: Path) -> dict[str, Any]:
    """``posts`` parts to X by ``n_proc`` `uprbuzz publish` processes sharing one database."""
    import httpx

    from tests.fixtures.publish import popen_uprbuzz

    url = cluster.url(cluster.new_database("bench"))
    tag = f"m{n_proc}-{os.getpid()}"
    first = project(tmp / f"{tag}-0", posts, tag, url)
    roots = [first] + [Path(shutil.copytree(first, tmp / f"{tag}-{k}"))
                       for k in range(1, n_proc)]
    from uprbuzz.store import Store

    Store.open(url).close()  # the tables exist before the clock starts (as on a live ledger)
    logs = [open(tmp / f"{tag}-{k}.log", "wb") for k in range(n_proc)]  # noqa: SIM115
    t = time.perf_counter()
    procs = [popen_uprbuzz(["publish"], r, env, stdout=f, stderr=subprocess.STDOUT)
             for r, f in zip(roots, logs, strict=True)]
    rcs = [p.wait(timeout=900) for p in procs]
    wall = time.perf_counter() - t
    for f in logs:
        f.close()
    texts = Counter(tw["text"] for tw in httpx.get(f"{x_url}/_admin/timeline", timeout=60)
                    .json()["tweets"] if tw["text"].startswith(f"{tag} "))
    posted = [(tmp / f"{tag}-{k}.log").read_text(errors="replace").count(": posted ")
              for k in range(n_proc)]
    ok = all(rc == 0 for rc in rcs) and len(texts) == posts and set(texts.values()) == {1}
    if not ok:
        print(f"  !! {n_proc} processes: exit codes {rcs}, {len(texts)} distinct texts, "
              f"max {max(texts.values(), default=0)} copies", file=sys.stderr)
    return {"processes": n_proc, "posts": posts, "wall_s": wall, "posts_per_s": posts / wall,
            "posted_by_each": posted, "exactly_once": ok}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", type=int, default=400, help="parts timed in-process per backend")
    ap.add_argument("--posts", type=int, default=600, help="posts published by 1 and 3 processes")
    args = ap.parse_args()

    from bench.publish import start_x, x_env

    from tests.fixtures.postgres import start_cluster

    tmp = Path(tempfile.mkdtemp(prefix="uprbuzz-bench-pg-"))
    cluster = start_cluster()
    xproc = None
    try:
        print(f"claim + mark_sent per publication, {args.parts} parts, in-process ...")
        overhead = {
            "sqlite": per_publication(str(tmp / "state.sqlite"), args.parts),
            "postgresql": per_publication(cluster.url(cluster.new_database("inproc")),
                                          args.parts),
        }
        xproc, x_url, acct = start_x(tmp)
        env = x_env(x_url, acct)
        print(f"{args.posts} posts to the X stand-in by 1, then 3 `uprbuzz publish` ...")
        runs = [machines(k, args.posts, cluster, env, x_url, tmp) for k in (1, 3)]
    finally:
        if xproc is not None:
            xproc.kill()
            xproc.wait()
        cluster.stop()
        shutil.rmtree(cluster.base, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)

    print("\nclaim + record per publication (ms)   median     p90    mean")
    for name, r in overhead.items():
        print(f"  {name:<35} {r['median_ms']:7.2f} {r['p90_ms']:7.2f} {r['mean_ms']:7.2f}")
    print(f"  PostgreSQL / SQLite (median)        "
          f"{overhead['postgresql']['median_ms'] / overhead['sqlite']['median_ms']:6.1f}x")
    print(f"\n{args.posts} posts to X, one PostgreSQL ledger   wall s  posts/s  posted by each"
          "  exactly once")
    for r in runs:
        print(f"  {r['processes']} process{'es' if r['processes'] > 1 else '':<2}"
              f"{'':<29}{r['wall_s']:7.1f} {r['posts_per_s']:8.1f}  "
              f"{str(r['posted_by_each']):<15} {r['exactly_once']}")
    speedup = runs[0]["wall_s"] / runs[1]["wall_s"]
    print(f"  3 machines vs 1: {speedup:.2f}x (cores here: {os.cpu_count()})")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"when": datetime.now(UTC).isoformat(timespec="seconds"),
                               "cpus": os.cpu_count(), "claim_record": overhead,
                               "machines": runs, "speedup_3_vs_1": speedup}, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    if not all(r["exactly_once"] for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
