"""`uprbuzz tick` as cron runs it: real processes, the X stand-in (and the local PDS for the
campaign), a clock pinned with UPRBUZZ_NOW."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures.publish import REPO, pds_records, pub_env, run_uprbuzz
from uprbuzz.clock import FixedClock
from uprbuzz.config import load_config
from uprbuzz.schedule import daemon as scheduler

UTC = UTC
NY = ZoneInfo("America/New_York")
SDKS = ("tweepy", "atproto", "PIL")


def project(root: Path, posts: dict[str, str], zone: str = "UTC", extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "uprbuzz.toml").write_text(
        f'[project]\nname = "tick"\ntimezone = "{zone}"\nlate_limit = "30m"\n\n'
        f'[platforms.bluesky]\nenabled = false\n{extra}', encoding="utf-8")
    for rel, text in posts.items():
        p = root / "posts" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def post(at: datetime, text: str, status: str = "approved") -> str:
    return f"---\nat: {at.isoformat()}\nstatus: {status}\n---\n{text}\n"


def now_env(t: datetime) -> dict[str, str]:
    return {"UPRBUZZ_NOW": t.isoformat()}


def modules_after_tick(root: Path, env: dict[str, str]) -> list[str]:
    """Top-level packages imported by one `uprbuzz tick` (the console entry point, in-process)."""
    code = ("import sys\nsys.argv = ['uprbuzz', '-C', sys.argv[1], 'tick']\n"
            "from uprbuzz.entry import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('MODULES', ' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n")
    full = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    full.update(env, PYTHONPATH=str(REPO / "src"))
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                         env=full, timeout=60)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("MODULES ")]
    assert line, out.stdout + out.stderr
    return line[0].split()[1:]


def test_tick_cli_summary_exit_status_and_same_minute_rerun(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    root = project(tmp_path / "p", {
        "due.md": post(t0 - timedelta(minutes=2), "Due two minutes ago"),
        "late.md": post(t0 - timedelta(hours=1), "Watch live now"),
        "soon.md": post(t0 + timedelta(hours=2), "Later today"),
    })
    first = run_uprbuzz(["tick"], root, xapi.env, extra_env=now_env(t0))
    assert first.returncode == 0, first.stderr
    assert "1 published, 0 deferred, 0 failed, 1 missed" in first.stdout
    assert "x: missed late: " in first.stdout
    again = run_uprbuzz(["tick"], root, xapi.env, extra_env=now_env(t0 + timedelta(seconds=40)))
    assert again.returncode == 0 and again.stdout.strip() == "uprbuzz tick: nothing due"
    assert [t["text"] for t in xapi.server.store.tweets] == ["Due two minutes ago"]
    # A failure (credentials incomplete) exits non-zero with the summary.
    bad = run_uprbuzz(["tick", "-q"], root, {k: v for k, v in xapi.env.items()
                                        if k != "UPRBUZZ_X_ACCESS_SECRET"},
                      extra_env=now_env(t0 + timedelta(hours=2, seconds=1)))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert bad.stdout.splitlines() == [  # quiet: only what needs a person, and the summary
        "x: failed soon (cannot use x: no credentials (set UPRBUZZ_X_CONSUMER_KEY, "
        "UPRBUZZ_X_CONSUMER_SECRET, UPRBUZZ_X_ACCESS_TOKEN, UPRBUZZ_X_ACCESS_SECRET))",
        "0 published, 0 deferred, 1 failed, 0 missed"]
    assert [t["text"] for t in xapi.server.store.tweets] == ["Due two minutes ago"]


def test_nothing_due_imports_no_platform_sdk(tmp_path: Path) -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    posts = {f"b{i // 50}/p{i:03d}.md": post(t0 + timedelta(days=1 + i), f"Post {i}")
             for i in range(200)}
    root = project(tmp_path / "p", posts)
    env = now_env(t0)
    first = modules_after_tick(root, env)  # full path (no index yet): no SDK either
    assert not set(SDKS) & set(first), first
    fast = modules_after_tick(root, env)
    assert not set(SDKS + ("yaml", "click", "apscheduler")) & set(fast), fast
    imp = subprocess.run([sys.executable, "-X", "importtime", "-m", "uprbuzz", "tick"], cwd=root,
                         capture_output=True, text=True, timeout=60,
                         env={**{k: v for k, v in os.environ.items()
                                 if not k.startswith("UPRBUZZ_")},
                              **env, "PYTHONPATH": str(REPO / "src")})
    assert imp.stdout.strip() == "uprbuzz tick: nothing due"
    imported = {ln.rsplit("|", 1)[1].strip().split(".")[0]
                for ln in imp.stderr.splitlines() if ln.startswith("import time:") and "|" in ln}
    assert "uprbuzz" in imported and not imported & {"tweepy", "atproto", "PIL", "yaml", "click"}
    (root / "posts" / "b0" / "p000.md").write_text(post(t0 + timedelta(days=1), "Edited"))
    edited = modules_after_tick(root, env)  # full path again, still nothing due
    assert "yaml" in edited and not set(SDKS) & set(edited), edited


def test_two_ticks_at_once_never_double_post(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    xapi.server.set_faults(delay_rate=1.0, delay_seconds=0.4, paths=["POST /2/tweets"])
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    root = project(tmp_path / "p", {f"p{i}.md": post(t0 - timedelta(minutes=1), f"Post {i}")
                                    for i in range(4)})
    full = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    full.update(xapi.env, UPRBUZZ_NOW=t0.isoformat(), PYTHONPATH=str(REPO / "src"))
    procs = [subprocess.Popen([sys.executable, "-m", "uprbuzz", "-C", str(root), "tick"],
                              env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    said = sorted(o[0].strip().splitlines()[-1] for o in outs)
    assert said == ["4 published, 0 deferred, 0 failed, 0 missed",
                    "uprbuzz tick: another uprbuzz tick is running; this one did nothing"]
    again = run_uprbuzz(["tick"], root, xapi.env, extra_env=now_env(t0 + timedelta(seconds=30)))
    assert again.returncode == 0
    assert Counter(t["text"] for t in xapi.server.store.tweets) == {f"Post {i}": 1 for i in range(4)}


CAMPAIGN = """
[campaign]
name = "countdown"
start = 2020-10-15
end = 2020-12-13
platforms = ["x", "bluesky"]
status = "approved"

[[rule]]
every = "daily 09:00"
text = "{date}: the UN reviews the US human rights record soon. 09:00 New York"
"""
DST_DAYS = ("2020-10-31", "2020-11-01", "2020-11-02")  # driven through real `uprbuzz tick`


@pytest.mark.e2e
def test_sixty_day_campaign_across_dst_ticks_each_occurrence_out_once(  # type: ignore[no-untyped-def]
        tmp_path: Path, xapi, bsky_config) -> None:
    root = project(tmp_path / "p", {}, zone="America/New_York")
    (root / "uprbuzz.toml").write_text(
        '[project]\nname = "dst"\ntimezone = "America/New_York"\nlate_limit = "30m"\n'
        '[engagement]\nenabled = false\n')  # publishing only (snapshots: test_engagement.py)
    (root / "schedules").mkdir()
    (root / "schedules" / "countdown.toml").write_text(CAMPAIGN)
    env = pub_env(xapi, bsky_config)
    config = load_config(root, env=env)

    plan = run_uprbuzz(["plan", "--from", "2020-10-15", "--days", "60", "--json"], root, env,
                       extra_env=now_env(datetime(2020, 10, 14, tzinfo=UTC)))
    assert plan.returncode == 0, plan.stderr
    import json

    items = json.loads(plan.stdout)["items"]
    assert len(items) == 60 and len({i["post_id"] for i in items}) == 60
    whens = [datetime.fromisoformat(i["when"]) for i in items]
    assert all(w.astimezone(NY).strftime("%H:%M") == "09:00" for w in whens)
    assert [w.utcoffset() for w in whens].count(timedelta(hours=-4)) == 17  # Oct 15-31: EDT
    utc_hours = Counter(w.astimezone(UTC).hour for w in whens)
    assert utc_hours == {13: 17, 14: 43}

    quiet = []
    for item, at in zip(items, whens, strict=False):
        fire = at + timedelta(seconds=2)
        if item["post_id"].split("/")[-1] in DST_DAYS:
            out = run_uprbuzz(["tick"], root, env, extra_env=now_env(fire))
            assert out.returncode == 0, out.stdout + out.stderr
            assert "2 published, 0 deferred, 0 failed, 0 missed" in out.stdout
            out = run_uprbuzz(["tick"], root, env, extra_env=now_env(fire + timedelta(hours=3)))
            assert out.stdout.strip() == "uprbuzz tick: nothing due"
            continue
        r = scheduler.tick(config, clock=FixedClock(fire), log=lambda _l: None)
        assert r.ran and r.ok and r.report is not None
        got = sorted((i.post_id, i.platform) for i in r.report.published)
        assert got == [(item["post_id"], "bluesky"), (item["post_id"], "x")]
        idle = scheduler.tick(config, clock=FixedClock(fire + timedelta(hours=3)),
                              log=lambda _l: None)
        quiet.append(idle.message)
    assert set(quiet) == {"nothing due"}  # the index answered between occurrences

    texts = [t["text"] for t in xapi.server.store.tweets]
    local_days = [w.astimezone(NY) for w in whens]
    assert Counter(texts) == Counter(f"{d.day} {d:%B %Y}: the UN reviews the US human "
                                     "rights record soon. 09:00 New York" for d in local_days)
    recs = pds_records(bsky_config.pds_url, str(bsky_config.handle))
    assert Counter(r["value"]["text"] for r in recs) == Counter(texts)
    from uprbuzz.store import Store

    with Store.open(config) as store:
        sent = [r for r in store.publications.rows() if r.state == "sent"]
    assert len(sent) == 120
    for r in sent:  # sent at 09:00:02 New York time on the occurrence's own day
        local = r.sent_at.astimezone(NY)  # type: ignore[union-attr]
        assert (local.strftime("%H:%M"), local.date().isoformat()) == ("09:00", r.post_id[-10:])
