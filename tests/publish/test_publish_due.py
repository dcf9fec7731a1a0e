"""What is due: approved, time reached, within late_limit (else missed once), named posts,
drafts, check errors, and the ledger's claim rules (owners, leases, final states)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.publish import make_project
from tests.publish.fakes import FakePlatform
from uprbuzz.clock import FixedClock
from uprbuzz.config import load_config
from uprbuzz.platforms.base import Remote
from uprbuzz.publish.publisher import Publisher
from uprbuzz.store import Store
from uprbuzz.store.publications import new_owner, owner_alive

NOW = datetime(2020, 11, 9, 14, 0, tzinfo=UTC)


def _post(at: str | None, status: str = "approved", text: str = "hi", extra: str = "") -> str:
    when = f"at: {at}\n" if at else ""
    return f"---\n{when}status: {status}\n{extra}---\n{text}\n"


@pytest.fixture
def proj(tmp_path, store_url):
    root = make_project(tmp_path / "p", {
        "due.md": _post("2020-11-09T13:55:00+00:00", text="due now"),
        "late.md": _post("2020-11-09T12:00:00+00:00", text="two hours late"),
        "future.md": _post("2020-11-09T15:00:00+00:00", text="in an hour"),
        "draft.md": _post("2020-11-09T13:50:00+00:00", status="draft", text="draft"),
        "nodate.md": _post(None, text="on demand"),
    })
    config = load_config(root, env={"UPRBUZZ_STATE": store_url})
    store = Store.open(config)
    clock = FixedClock(NOW)
    x, bs = FakePlatform("x", clock=clock), FakePlatform("bluesky", atomic=True, clock=clock)
    lines: list[str] = []
    yield config, store, clock, x, bs, lines
    store.close()


def pub(proj):
    config, store, clock, x, bs, lines = proj
    return Publisher(config, store, clock=clock, platforms={"x": x, "bluesky": bs},
                     log=lines.append)


def test_due_missed_and_future(proj):
    config, store, clock, x, bs, lines = proj
    report = pub(proj).publish_due()
    assert x.texts() == ["due now"] and bs.texts() == ["due now"]
    assert {(i.post_id, i.platform) for i in report.missed} == {("late", "x"), ("late", "bluesky")}
    assert "late_limit" in report.missed[0].message and report.ok
    assert report.summary() == "2 published, 0 deferred, 0 failed, 2 missed"
    again = pub(proj).publish_due()
    assert again.items == [] and len(x.posts) == 1  # missed is reported once, not resent
    clock.advance(timedelta(hours=1))
    assert [i.post_id for i in pub(proj).publish_due().published] == ["future", "future"]


def test_named_posts_whatever_their_time_but_never_drafts(proj):
    config, store, clock, x, bs, lines = proj
    report = pub(proj).publish_due(["late", "nodate", "draft", "nope"])
    assert sorted(x.texts()) == ["on demand", "two hours late"]
    failed = {i.post_id: i.message for i in report.failed}
    assert "is a draft" in failed["draft"] and "no such post" in failed["nope"]
    assert not report.ok


def test_dry_run_sends_and_records_nothing(proj):
    config, store, clock, x, bs, lines = proj
    report = pub(proj).publish_due(dry_run=True)
    assert {(i.post_id, i.state) for i in report.items} >= {("due", "dry-run")}
    assert x.calls == [] and store.publications.rows() == []


def test_check_errors_block_only_that_post(proj, tmp_path):
    config, store, clock, x, bs, lines = proj
    (config.root / "posts" / "bad.md").write_text(_post(
        "2020-11-09T13:58:00+00:00", text="with a missing picture",
        extra="media:\n  - path: media/missing.png\n    alt: gone\n"))
    report = pub(proj).publish_due()
    assert x.texts() == ["due now"]
    bad = [i for i in report.failed if i.post_id == "bad"]
    assert bad and "missing.png" in bad[0].message
    assert store.publications.lane("bad", "x")[0].state == "failed"


def test_claims_are_exclusive_and_final_states_stick(store_url):
    store = Store.open(store_url)
    pubs, lease = store.publications, timedelta(minutes=5)
    me, other = new_owner(), new_owner()
    assert pubs.claim("p", "x", [(0, "t", None)], "h", me, NOW, lease)
    assert pubs.claim("p", "x", [(0, "t", None)], "h", other, NOW, lease) is None
    pubs.mark_sent("p", "x", 0, Remote("x", "1", "u"), NOW)
    pubs.mark("p", "x", 0, "failed", NOW, error="late error")  # never overwrites sent
    assert pubs.lane("p", "x")[0].state == "sent"
    assert pubs.claim("p", "x", [(0, "t", None)], "h", me, NOW, lease) is None
    # atomic claims: all parts or none
    assert pubs.claim("q", "bluesky", [(0, "a", "k0")], "h", other, NOW, lease)
    assert pubs.claim("q", "bluesky", [(0, "a", "k9"), (1, "b", "k1")], "h", me, NOW, lease) is None
    assert pubs.lane("q", "bluesky").keys() == {0}
    # stale = owner process gone, or lease over
    assert pubs.stale(NOW, me) == []
    assert [r.post_id for r in pubs.stale(NOW + timedelta(minutes=6), me)] == ["q"]
    store.close()


def test_owner_alive_follows_the_process():
    assert owner_alive(new_owner())
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    import socket

    host = socket.gethostname()
    with open(f"/proc/{p.pid}/stat") as f:
        start = f.read().rsplit(")", 1)[1].split()[19]
    owner = f"{host}:{p.pid}:{start}:t"
    assert owner_alive(owner)
    assert not owner_alive(f"{host}:{p.pid}:{int(start) + 1}:t")  # pid reused by someone else
    p.kill()
    p.wait()
    assert not owner_alive(owner)
