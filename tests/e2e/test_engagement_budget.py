"""X engagement reads are paid: each is counted in the day's X spending with the posts, reads
stop exactly at `[budget] x_daily_usd`, the rest wait for the next local day, and the reads
themselves can hold a post back. Real `uprbuzz tick` processes against the X stand-in over
HTTP, the clock moved with UPRBUZZ_NOW."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.publish import make_project, run_uprbuzz
from uprbuzz.config import load_config
from uprbuzz.platforms.x import XPlatform
from uprbuzz.store import Store

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # posts due at 08:59 UTC (the project's zone)


def project(root: Path, cap: float, n: int = 5) -> Path:
    at = (T0 - timedelta(minutes=1)).isoformat()
    posts = {f"x/{i}.md": f"---\nat: {at}\nstatus: approved\n---\nRecommendation number {i}\n"
             for i in range(n)}
    return make_project(root, posts, toml=f'x_daily_usd = {cap}\n[engagement]\nx = true\n'
                        '[channels.x]\nplatform = "x"\n')


def tick(root: Path, env: dict[str, str], at: datetime) -> str:
    out = run_uprbuzz(["tick"], root, env, extra_env={"UPRBUZZ_NOW": at.isoformat()})
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def reads_on_server(xapi: Any) -> int:
    return int(httpx.get(xapi.url + "/_admin/counts").json()["reads"])


def ledger(root: Path, env: dict[str, str]) -> tuple[list[Any], list[dict[str, Any]]]:
    with Store.open(load_config(root, env=env)) as store:
        return store.engagement.series(), store.publications.events()


def test_reads_stop_at_the_daily_cap_and_resume_the_next_day(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    # 5 posts cost 5 x $0.015 = $0.075: $0.078 leaves room for exactly 3 owned reads ($0.001)
    root = project(tmp_path / "p", cap=0.078)
    env = xapi.env
    assert "5 published" in tick(root, env, T0)
    with Store.open(load_config(root, env=env)) as store:
        first = sorted(store.publications.rows(channel="x"), key=lambda r: (r.sent_at, r.post_id))
    other = XPlatform(xapi.config_for(xapi.server.accounts[1])).client
    other.like(first[0].remote_id, user_auth=True)
    other.retweet(first[0].remote_id, user_auth=True)

    out = tick(root, env, T0 + timedelta(minutes=61))
    assert "engagement x: 3/5 snapshots, 3 paid reads ($0.003), 2 stopped by the X spending " \
           "limit" in out, out
    assert "engagement: 3 snapshots taken, 2 stopped by the X spending limit" in out, out
    assert reads_on_server(xapi) == 3
    series, events = ledger(root, env)
    assert [(s.post_id, s.stage) for s in series] == [(r.post_id, "1h") for r in first[:3]]
    assert (series[0].likes, series[0].reposts) == (1, 1)
    paid = [e for e in events if e["event"] == "x_read"]
    assert len(paid) == 3 and sum(float(e["detail"]) for e in paid) == pytest.approx(0.003)
    assert [e["detail"] for e in events if e["event"] == "engagement_budget"] == [
        "2 engagement reads left for tomorrow: X spending limit $0.078 for Wed 04 Mar 2026 "
        "reached"]

    # the rest of the day: nothing is read (the scheduler does not even wake for them)
    assert tick(root, env, T0 + timedelta(hours=2)).strip() == "uprbuzz tick: nothing due"
    assert tick(root, env, T0 + timedelta(hours=14, minutes=59)).strip() == \
        "uprbuzz tick: nothing due"
    assert reads_on_server(xapi) == 3

    # the next local day the cap is fresh: the 24h snapshots of all five (the two stopped ones
    # skip their 1h stage: a 1h reading a day late would be a 24h reading by another name)
    out = tick(root, env, T0 + timedelta(hours=24, minutes=10))
    assert "engagement: 5 snapshots taken" in out and "stopped" not in out, out
    assert reads_on_server(xapi) == 8
    series, events = ledger(root, env)
    stages = {}
    for s in series:
        stages.setdefault(s.post_id, []).append(s.stage)
    assert stages == {r.post_id: (["1h", "24h"] if i < 3 else ["24h"]) for i, r in enumerate(first)}
    assert not any(s.late for s in series)
    assert sum(float(e["detail"]) for e in events if e["event"] == "x_read") == \
        pytest.approx(0.008)


def test_reads_count_against_posting_too(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    # $0.090: the 5 posts ($0.075) and a sixth ($0.015) fit, unless reads spend some of it
    root = project(tmp_path / "p", cap=0.090)
    env = xapi.env
    assert "5 published" in tick(root, env, T0)
    out = tick(root, env, T0 + timedelta(minutes=61))
    assert "5/5 snapshots, 5 paid reads ($0.005)" in out, out
    at = (T0 + timedelta(hours=2)).isoformat()
    (root / "posts" / "x" / "late.md").write_text(
        f"---\nat: {at}\nstatus: approved\n---\nOne more recommendation\n", encoding="utf-8")
    out = tick(root, env, T0 + timedelta(hours=2, minutes=1))
    assert "0 published, 1 deferred" in out, out
    assert "X spending limit $0.09" in out and "$0.080 spent" in out, out
