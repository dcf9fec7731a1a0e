"""publish/engagement.py with in-memory platforms (tests.fixtures.publish.FakePlatform), on
SQLite and PostgreSQL: which channels are read, batches of each platform's size, a failing
channel never stops the others (and the scheduler waits for it), parts gone from the platform,
manual reads, and when the scheduler must wake (schedule.daemon.compute_wake)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.publish import FakePlatform, make_project
from uprbuzz.config import ConfigError, load_config
from uprbuzz.platforms.base import AuthFailed, Counts, OutgoingPart, Platform
from uprbuzz.publish.engagement import RETRY, next_snapshot_at, take_due
from uprbuzz.store import Store

SENT = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
CHANNELS = {"bsky": "bluesky", "toot": "mastodon", "main": "x", "quiet": "mastodon"}


def project(root: Path, store_url: str, extra: str = "") -> Any:
    toml = "".join(f'[channels.{n}]\nplatform = "{p}"\n'
                   + ('url = "https://m.example"\n' if p == "mastodon" else "")
                   + ("engagement = false\n" if n == "quiet" else "")
                   for n, p in CHANNELS.items())
    make_project(root, {}, toml=extra + toml)
    return load_config(root, env={"UPRBUZZ_STATE": store_url})


class Net:
    """A fake platform per channel, with posts sent and recorded in the ledger."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.fakes = {n: FakePlatform(p) for n, p in CHANNELS.items()}
        self.broken: set[str] = set()

    def platform(self, name: str) -> Platform:
        if name in self.broken:
            raise AuthFailed("401 Unauthorized", platform=name, status=401)
        return self.fakes[name]  # type: ignore[return-value]

    def send(self, channel: str, n: int, at: datetime = SENT, prefix: str = "p") -> list[str]:
        fake, ids = self.fakes[channel], []
        pubs = self.store.publications
        for i in range(n):
            pid = f"{prefix}{len(fake.posts):03d}"
            [remote] = fake.publish([OutgoingPart(f"{channel} {pid}")], fake.new_keys(1))
            assert pubs.claim(pid, channel, [(0, "t", None)], "h", "me", at, timedelta(minutes=5))
            pubs.mark_sent(pid, channel, 0, remote, at + i * timedelta(seconds=1))
            ids.append(remote.id)
        return ids


@pytest.fixture
def net(tmp_path: Path, store_url: str):  # type: ignore[no-untyped-def]
    config = project(tmp_path / "p", store_url)
    with Store.open(config) as store:
        yield config, store, Net(store)


def test_each_channel_in_batches_of_its_platform_and_x_only_when_opted_in(net) -> None:  # type: ignore[no-untyped-def]
    config, store, n = net
    ids = n.send("bsky", 30)
    n.send("toot", 2)
    n.send("main", 2)
    n.send("quiet", 2)
    n.fakes["bsky"].counts = {ids[0]: Counts(likes=3, reposts=2, replies=1, quotes=1)}
    assert next_snapshot_at(config, store) == SENT + H
    report = take_due(config, store, n.platform, SENT + 61 * timedelta(minutes=1))
    assert {c.channel: c.taken for c in report.channels} == {"bsky": 30, "toot": 2}
    assert n.fakes["bsky"].reads == 2  # getPosts: 25 + 5
    assert n.fakes["toot"].reads == 2  # Mastodon: one status a request
    assert getattr(n.fakes["main"], "reads", 0) == 0  # X is paid: not opted in
    assert getattr(n.fakes["quiet"], "reads", 0) == 0  # engagement = false
    [first] = store.engagement.latest("p000", "bsky")
    assert (first.stage, first.likes, first.reposts, first.replies, first.quotes) == (
        "1h", 3, 2, 1, 1)
    assert next_snapshot_at(config, store) == SENT + 24 * H


def test_a_failing_channel_never_stops_the_others(net) -> None:  # type: ignore[no-untyped-def]
    config, store, n = net
    n.send("bsky", 1)
    n.send("toot", 1)
    n.broken.add("bsky")
    now = SENT + 2 * H
    report = take_due(config, store, n.platform, now)
    res = {c.channel: c for c in report.channels}
    assert res["bsky"].error and res["bsky"].taken == 0 and not report.ok
    assert res["toot"].taken == 1 and not res["toot"].error
    assert "failed on bsky" in report.summary()
    # the scheduler waits RETRY for the failed channel (not a spin every 30 s)...
    assert next_snapshot_at(config, store) == now + RETRY
    n.broken.clear()
    # ...but a run that happens meanwhile tries it, and the hold is then over
    report = take_due(config, store, n.platform, now + timedelta(minutes=5))
    assert [(c.channel, c.taken, c.late) for c in report.channels] == [("bsky", 1, 1)]
    assert next_snapshot_at(config, store) == SENT + 24 * H


def test_parts_gone_from_the_platform_are_not_read_again(net) -> None:  # type: ignore[no-untyped-def]
    config, store, n = net
    ids = n.send("toot", 2)
    n.fakes["toot"].posts = [p for p in n.fakes["toot"].posts if p["id"] != ids[1]]
    report = take_due(config, store, n.platform, SENT + H + timedelta(minutes=1))
    assert [(c.taken, c.gone) for c in report.channels] == [(1, 1)]
    assert [e["post_id"] for e in store.publications.events()
            if e["event"] == "engagement_gone"] == ["p001"]
    reads = n.fakes["toot"].reads
    assert take_due(config, store, n.platform, SENT + 25 * H).taken == 1
    assert n.fakes["toot"].reads == reads + 1


def test_a_manual_read_takes_every_part_now_and_replaces_the_last_one(net) -> None:  # type: ignore[no-untyped-def]
    config, store, n = net
    [tid] = n.send("toot", 1)
    n.fakes["toot"].counts = {tid: Counts(likes=1)}
    take_due(config, store, n.platform, SENT + 10 * timedelta(minutes=1), manual=True)
    n.fakes["toot"].counts = {tid: Counts(likes=4)}
    take_due(config, store, n.platform, SENT + 20 * timedelta(minutes=1), manual=True,
             channels=["toot"])
    [s] = store.engagement.series()
    assert (s.stage, s.likes, s.late) == ("now", 4, False)
    assert next_snapshot_at(config, store) == SENT + H  # the 1h stage is still to be taken


def test_the_scheduler_wakes_for_the_next_snapshot(net) -> None:  # type: ignore[no-untyped-def]
    from uprbuzz.schedule.daemon import compute_wake

    config, store, n = net
    n.send("bsky", 1)
    assert compute_wake(config, store)[0] == SENT + H
    take_due(config, store, n.platform, SENT + H)
    assert compute_wake(config, store)[0] == SENT + 24 * H


def test_engagement_settings(tmp_path: Path) -> None:
    config = project(tmp_path / "a", ":memory:",
                     '[engagement]\nafter = ["7d", "30m", "24h"]\nx = true\n')
    assert [a for a, _ in config.engagement.after] == ["30m", "24h", "7d"]
    assert [c.name for c in config.engagement.channels(config)] == ["bsky", "toot", "main"]
    for bad, where in (('after = ["1h", "60m"]', "same delay"), ('after = "1h"', "list"),
                       ('after = ["soon"]', "duration"), ("x = 1", "true or false"),
                       ('every = "1h"', "unknown key 'every'")):
        (tmp_path / "b").mkdir(exist_ok=True)
        (tmp_path / "b" / "uprbuzz.toml").write_text(f"[project]\nname = 'b'\n\n[engagement]\n{bad}\n")
        with pytest.raises(ConfigError, match=where) as e:
            load_config(tmp_path / "b", env={})
        assert e.value.line == 5, bad
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "uprbuzz.toml").write_text(
        '[channels.bs]\nplatform = "bluesky"\nread_url = "http://127.0.0.1:9"\n')
    c = load_config(tmp_path / "c", env={})
    assert c.channel("bs").account.read_url == "http://127.0.0.1:9"  # type: ignore[union-attr]
    c = load_config(tmp_path / "c", env={"UPRBUZZ_BS_READ_URL": "http://127.0.0.1:8"})
    assert c.channel("bs").account.read_url == "http://127.0.0.1:8"  # type: ignore[union-attr]


def test_the_command_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from uprbuzz.cli import main

    root = tmp_path / "p"
    config = project(root, str(root / ".uprbuzz" / "state.sqlite"))
    run = CliRunner().invoke
    out = run(main, ["-C", str(root), "engagement", "show"])
    assert out.exit_code == 0 and "no engagement snapshots yet" in out.output
    out = run(main, ["-C", str(root), "engagement", "snapshot", "--channel", "main"])
    assert out.exit_code == 2 and out.output.count("\n") == 1, out.output
    assert "channel 'main' has no engagement read-back" in out.output
    with Store.open(config) as store:
        n = Net(store)
        [tid] = n.send("toot", 1)
        n.fakes["toot"].counts = {tid: Counts(likes=5, reposts=1)}
        take_due(config, store, n.platform, SENT + 3 * H)  # late: taken 2 h after its time
    out = run(main, ["-C", str(root), "engagement", "show"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split() == ["post", "channel", "part", "stage", "taken", "likes", "reposts",
                                "replies", "quotes", "views"]
    assert lines[1].split() == ["p000", "toot", "1", "1h", "(late)", "2026-03-04", "15:00", "5",
                                "1", "0", "0"]
    assert lines[-2] == "total (freshest): 5 likes, 1 repost, 0 replies, 0 quotes"
    assert lines[-1].startswith("raw counts, as the platforms give them: replies include the "
                                "network's own")
    out = run(main, ["-C", str(root), "engagement", "show", "--json"])
    assert [(s["post_id"], s["late"], s["likes"]) for s in __import__("json").loads(out.output)] \
        == [("p000", True, 5)]


def test_the_daemon_takes_due_snapshots_and_sleeps_until_the_next(net) -> None:  # type: ignore[no-untyped-def]
    from uprbuzz.clock import FixedClock
    from uprbuzz.publish.publisher import Publisher
    from uprbuzz.schedule.daemon import Daemon

    config, store, n = net
    [sid] = n.send("toot", 1)
    n.fakes["toot"].counts = {sid: Counts(likes=2)}
    lines: list[str] = []
    d = Daemon(config, clock=FixedClock(SENT + H + timedelta(minutes=2)), log=lines.append,
               publisher_factory=lambda c, s, **kw: Publisher(c, s, platforms=n.fakes, **kw))
    d.start()  # the catch-up run publishes (nothing here), then takes the 1h snapshot
    try:
        assert d.runs == 1 and d.wake_at == SENT + 24 * H
        assert "engagement: 1 snapshot taken" in lines
    finally:
        d.stop()
    [s] = store.engagement.latest()
    assert (s.channel, s.stage, s.likes) == ("toot", "1h", 2)


def test_one_reader_at_a_time(net) -> None:  # type: ignore[no-untyped-def]
    """tick, run and `engagement snapshot` share a lock: reading the same posts at once
    would pay X twice."""
    from click.testing import CliRunner

    from uprbuzz.cli import main
    from uprbuzz.publish.publisher import Publisher
    from uprbuzz.schedule.daemon import exclusive, take_snapshots

    config, store, n = net
    n.send("toot", 1)
    pub = Publisher(config, store, platforms=n.fakes)
    lines: list[str] = []
    with exclusive(config, "engagement") as got:
        assert got
        assert take_snapshots(config, store, pub, SENT + H, lines.append) is None
        out = CliRunner().invoke(main, ["-C", str(config.root), "engagement", "snapshot"],
                                 env={"UPRBUZZ_STATE": config.state})
        assert out.exit_code == 2 and "another uprbuzz process" in out.output, out.output
    assert lines == ["engagement: another uprbuzz process is taking snapshots; left to it"]
    assert store.engagement.series() == []
    report = take_snapshots(config, store, pub, SENT + H, lines.append)
    assert report is not None and report.taken == 1


def test_a_rehearsal_is_never_read_nor_paid_for(tmp_path: Path, store_url: str) -> None:
    """A rehearsal's live posts (sandbox posts under the rehearsal key) are not coverage: no
    snapshot is due for them, a manual read skips them, and X is not paid to read them."""
    from uprbuzz.store.live_keys import rehearsal_key

    config = project(tmp_path / "p", store_url, "[engagement]\nx = true\n")
    rehearsal = rehearsal_key("us-upr-2020", SENT)
    with Store.open(config) as store:
        n = Net(store)
        n.send("main", 2, prefix=f"live/{rehearsal}/")
        n.send("toot", 2, prefix=f"live/{rehearsal}/")
        [real] = n.send("toot", 1, prefix="live/us-upr-2020/")
        n.fakes["toot"].counts = {real: Counts(likes=1)}
        assert next_snapshot_at(config, store) == SENT + H  # the real post's 1h
        report = take_due(config, store, n.platform, SENT + H)
        assert [(c.channel, c.taken) for c in report.channels] == [("toot", 1)]
        report = take_due(config, store, n.platform, SENT + 2 * H, manual=True)
        assert [(c.channel, c.taken) for c in report.channels] == [("toot", 1)]
        assert getattr(n.fakes["main"], "reads", 0) == 0
        assert [e for e in store.publications.events() if e["event"] == "x_read"] == []
        assert {s.post_id for s in store.engagement.series()} == {"live/us-upr-2020/002"}


def test_progress_is_a_few_lines_not_one_per_status(net) -> None:  # type: ignore[no-untyped-def]
    """Mastodon reads one status a request: 30 statuses give a handful of progress lines."""
    config, store, n = net
    n.send("toot", 30)
    lines: list[str] = []
    report = take_due(config, store, n.platform, SENT + H, lines.append, manual=True)
    assert report.taken == 30 and n.fakes["toot"].reads == 30
    progress = [x for x in lines if x.endswith(" read") and "/30" in x]
    assert progress == ["engagement toot: 8/30 read", "engagement toot: 16/30 read",
                        "engagement toot: 24/30 read"]
