"""One due rule (publish/due_rule.py) for the publish loop, the daemon's wake-up and the tick
fast path: property tests that all three agree with it for random posts, ledgers and clocks,
the clock moving back included, and that a lane reported missed stays missed.

Real SQLite stores throughout (posts are stored posts, the ledger is written through the
store's own API); the platforms are the in-memory FakePlatform of tests/publish.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.publish.fakes import FakePlatform
from uprbuzz.clock import FixedClock
from uprbuzz.config import BlueskyConfig, Config, EngagementConfig, XConfig
from uprbuzz.model import Override, Part, Post
from uprbuzz.platforms.base import Platform, Remote
from uprbuzz.publish import due_rule
from uprbuzz.publish.publisher import Publisher
from uprbuzz.publish.report import NOTICES, Report
from uprbuzz.schedule import daemon as scheduler
from uprbuzz.schedule import fast_path
from uprbuzz.schedule.wake import next_wake
from uprbuzz.store import Store
from uprbuzz.store.publications import PERMANENT, new_owner

T0 = datetime(2020, 11, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York
LIVE_LEASE = timedelta(days=3650)  # in-flight rows stay a live process's: reconcile leaves them
QUIET = lambda _line: None  # noqa: E731
# ``root`` is shared by a test's examples on purpose: each starts by emptying it (``fresh``).
PROPS = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
WIPED = ("publications", "events", "stored_posts", "kv")  # all an example writes

Lane = tuple[str, str]  # (post id, platform)


# --- random posts and ledgers ------------------------------------------------------------------

@dataclass(frozen=True)
class RowSpec:
    state: str
    minutes: int  # updated_at, from T0
    not_before: int | None  # deferred rows, from T0
    kind: str | None
    same_hash: bool  # recorded for the post as it stands (else for an earlier version)


@dataclass(frozen=True)
class PostSpec:
    post: Post
    rows: dict[tuple[str, int], RowSpec]  # (platform, part) -> row


MINUTES = st.integers(-300, 300)
KINDS = {"deferred": [None, "rate", "transient", "budget", "stopped"],
         "failed": [None, "auth", "invalid", *PERMANENT]}


@st.composite
def row_specs(draw: st.DrawFn) -> RowSpec:
    state = draw(st.sampled_from(["claimed", "unknown", "deferred", "deferred", "failed",
                                  "failed", "missed", "sent", "sent"]))
    nb = draw(st.one_of(st.none(), MINUTES)) if state == "deferred" else None
    kind = draw(st.sampled_from(KINDS[state])) if state in KINDS else None
    return RowSpec(state, draw(MINUTES), nb, kind, draw(st.booleans()))


@st.composite
def post_specs(draw: st.DrawFn, pid: str) -> PostSpec:
    n = draw(st.integers(1, 3))
    bsky = draw(st.sampled_from([None, None, "skip", 1, 3]))  # Bluesky's own thread, or none
    overrides = {}
    if bsky == "skip":
        overrides["bluesky"] = Override(skip=True)
    elif bsky is not None:
        overrides["bluesky"] = Override(parts=tuple(Part(f"{pid} bsky {k + 1}")
                                                    for k in range(int(bsky))))
    at = draw(st.one_of(MINUTES, MINUTES, MINUTES, MINUTES, MINUTES, st.none()))
    post = Post(
        id=pid, parts=tuple(Part(f"{pid} part {k + 1}") for k in range(n)),
        at=None if at is None else T0 + timedelta(minutes=at),
        status=draw(st.sampled_from(["approved"] * 5 + ["draft"])),
        platforms=draw(st.sampled_from([("x",), ("bluesky",), ("x", "bluesky")])),
        overrides=overrides, origin="feed")
    rows: dict[tuple[str, int], RowSpec] = {}
    for name in ("x", "bluesky"):
        parts = len(post.parts_for(name) or ()) or 1
        recipe = draw(st.sampled_from(["none", "sent", "missed", "rows", "rows", "rows"]))
        if recipe in ("sent", "missed"):  # a whole lane, as the loop records it: one moment
            # missed: mostly reported past the late limit of this ``at`` (sticky), sometimes
            # before it (the post was moved since: a new schedule)
            when = (at or 0) + draw(st.integers(-60, 300)) if recipe == "missed" else draw(MINUTES)
            rows.update({(name, k): RowSpec(recipe, when, None, None, True)
                         for k in range(parts)})
        elif recipe == "rows":  # parts up to 3: rows past the post's own parts included
            rows.update(draw(st.dictionaries(
                st.tuples(st.just(name), st.integers(0, 3)), row_specs(), max_size=3)))
    if draw(st.sampled_from([False] * 9 + [True])):  # retracted: rare, it ends the whole post
        name, minutes = draw(st.sampled_from(["x", "bluesky"])), draw(MINUTES)
        rows[(name, 0)] = RowSpec("retracted", minutes, None, None, True)
    return PostSpec(post, rows)


@st.composite
def projects(draw: st.DrawFn) -> tuple[timedelta, bool, list[PostSpec]]:
    late_limit = timedelta(minutes=draw(st.sampled_from([10, 30, 120])))
    bluesky_on = draw(st.booleans())  # off: its lanes do not exist
    count = draw(st.integers(1, 4))
    return late_limit, bluesky_on, [draw(post_specs(f"p{i}")) for i in range(count)]


def clocks(min_size: int = 1, max_size: int = 6) -> st.SearchStrategy[list[datetime]]:
    """Moments in any order (so the clock moves back), to the minute or a second either side
    (timers and the late limit end on whole minutes here)."""
    moment = st.builds(lambda m, s: T0 + timedelta(minutes=m, seconds=s),
                       st.integers(-300, 420), st.sampled_from([0, 0, 1, -1]))
    return st.lists(moment, min_size=min_size, max_size=max_size)


def make_project(root: Path, late_limit: timedelta, bluesky_on: bool) -> Config:
    # the publish rule alone: engagement snapshots have their own due rule, tested in
    # tests/publish/test_engagement_run.py and tests/e2e/test_engagement*.py
    return Config(root=root, timezone="America/New_York", late_limit=late_limit, x=XConfig(),
                  bluesky=BlueskyConfig(enabled=bluesky_on),
                  engagement=EngagementConfig(enabled=False))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """One project folder and state store per test; each example starts from an empty ledger
    (a new store costs ~85 ms of migrations, emptying one under 1 ms)."""
    Store.open(make_project(tmp_path, timedelta(minutes=30), True)).close()
    return tmp_path


def fresh(root: Path, late_limit: timedelta, bluesky_on: bool) -> Config:
    config = make_project(root, late_limit, bluesky_on)
    with Store.open(config) as store, store.db.transaction() as c:
        for table in WIPED:
            c.execute(f"DELETE FROM {table}")
    # an emptied ledger is a new project's here: without this, the ledger mark refuses it
    (root / "uprbuzz.ledger").unlink(missing_ok=True)
    return config


def write(store: Store, specs: list[PostSpec], owner: str) -> None:
    """The posts as stored posts and their rows through the ledger's own calls."""
    pubs = store.publications
    for spec in specs:
        post = spec.post
        store.posts.put_stored(post)
        chash = post.content_hash()
        for (name, part), r in sorted(spec.rows.items()):
            t = T0 + timedelta(minutes=r.minutes)
            h = chash if r.same_hash else "an-earlier-version"
            if r.state in ("claimed", "unknown"):  # held by a live process (this one)
                assert pubs.claim(post.id, name, [(part, f"{post.id} {name} {part}", None)], h,
                                  owner, t, LIVE_LEASE)
                if r.state == "unknown":
                    pubs.mark(post.id, name, part, "unknown", t, error="timeout", release=False)
                continue
            nb = None if r.not_before is None else T0 + timedelta(minutes=r.not_before)
            first = "deferred" if r.state in ("sent", "retracted") else r.state
            pubs.mark(post.id, name, part, first, t, error=r.state, kind=r.kind,
                      not_before=nb, content_hash=h)
            if r.state in ("sent", "retracted"):
                pubs.mark_sent(post.id, name, part,
                               Remote(name, f"{post.id}-{name}-{part}", f"https://t/{part}"), t)
            if r.state == "retracted":
                pubs.mark_retracted(post.id, name, part, t)


# --- what each caller says -----------------------------------------------------------------

def verdicts(config: Config, store: Store) -> dict[Lane, due_rule.LaneDue]:
    """The rule on every lane, from the store as the publish loop reads it."""
    from uprbuzz.sources.gather import load_all

    ledger = store.publications.by_post()
    out = {}
    for post in due_rule.unique_posts(load_all(config, store).posts).values():
        for lane in due_rule.lanes(post, ledger.get(post.id, []), config):
            out[(post.id, lane.channel)] = lane
    return out


def rule_says(rule: dict[Lane, due_rule.LaneDue], now: datetime) -> dict[Lane, str]:
    return {k: a for k, v in rule.items() if (a := v.action(now)) is not None}


def loop_says(report: Report) -> dict[Lane, str]:
    """What a run acted on: missed reports, and a publication outcome of any kind."""
    out: dict[Lane, str] = {}
    for i in report.items:
        if i.state in NOTICES:  # what a run noticed of edits (post_edits), not an action
            continue
        assert i.platform, i.line()  # unnamed runs report per lane only
        assert (i.post_id, i.platform) not in out, i.line()  # one line per lane
        out[(i.post_id, i.platform)] = "missed" if i.state == "missed" else "publish"
    return out


def fakes(clock: FixedClock | None) -> dict[str, Platform]:
    return {"x": FakePlatform("x", clock=clock),
            "bluesky": FakePlatform("bluesky", atomic=True, clock=clock)}


def sent_texts(plats: dict[str, Platform], lane: Lane) -> list[str]:
    pid, name = lane
    fake = plats[name]
    assert isinstance(fake, FakePlatform)
    return [t for t in fake.texts() if t.startswith(f"{pid} ")]


# --- the properties ------------------------------------------------------------------------

@PROPS
@given(project=projects(), moments=clocks(1, 3))
def test_publish_loop_and_wake_follow_the_rule(root: Path,
                                               project: tuple[timedelta, bool, list[PostSpec]],
                                               moments: list[datetime]) -> None:
    """(a) an unnamed run's lanes are exactly the lanes the rule has due, with the same action;
    (b) the daemon's wake: nothing is due before it, something is at it (also when a later
    post repeats an id: the first one counts, as in the publish loop)."""
    late_limit, bluesky_on, specs = project
    config = fresh(root, late_limit, bluesky_on)
    with Store.open(config) as store:
        write(store, specs, new_owner())
        rule = verdicts(config, store)
        wake, _mark = scheduler.compute_wake(config, store)  # what the daemon sleeps until
        assert wake == min((v.due_at for v in rule.values() if v.due_at is not None),
                           default=None)
        posts = [s.post for s in specs]
        shadow = [Post(id=p.id, parts=(Part("a later copy"),), at=T0 - timedelta(days=9),
                       status="approved") for p in posts]  # always due, were it not second
        assert next_wake(posts + shadow, store.publications.by_post(), config) == wake
        for v in rule.values():
            event(f"lane: {v.end or 'due at a time'}")
        probes = moments + ([] if wake is None else [wake - timedelta.resolution, wake])
        for now in probes:
            clock = FixedClock(now)
            pub = Publisher(config, store, clock=clock, platforms=fakes(clock), log=QUIET)
            dry = pub.publish_due(dry_run=True)  # the loop's choice, nothing recorded
            assert loop_says(dry) == rule_says(rule, now)
            assert bool(dry.items) == (wake is not None and now >= wake), (now, wake)
            for action in loop_says(dry).values():
                event(f"dry run: {action}")
        # named: whatever the clock and timers, only sent and retracted hold a lane back
        named = pub.publish_due([p.id for p in posts], dry_run=True)
        approved = {p.id for p in posts if p.status == "approved"}
        want = {k for k, v in rule.items() if k[0] in approved
                and v.end not in ("sent", "retracted")}
        assert {(i.post_id, i.platform) for i in named.items if i.state == "dry-run"} == want


@PROPS
@given(project=projects(), moments=clocks(1, 3), late_tick=st.integers(0, 3),
       window=st.lists(st.integers(0, 100), min_size=1, max_size=2),
       edits=st.lists(st.booleans(), min_size=6, max_size=6))
def test_ticks_fast_path_and_missed_agree_as_the_clock_moves(
        root: Path, project: tuple[timedelta, bool, list[PostSpec]], moments: list[datetime],
        late_tick: int, window: list[int], edits: list[bool]) -> None:
    """Real ticks (fast path, else a publish run that stores the index) at moments in any
    order, some after an edit (the fast path must fall through), then with the clock put back
    to within the late limit of a missed post's time (where the hand-copied rule sent it after
    all): (c) the fast path says "nothing due" exactly when the rule does; (a) each full run
    acts on exactly the rule's due lanes; (d) a lane reported missed is never due, published or
    reported again."""
    late_limit, bluesky_on, specs = project
    config = fresh(root, late_limit, bluesky_on)
    plats = fakes(None)
    at = {s.post.id: s.post.at for s in specs if s.post.at is not None}  # missed ones have it
    # one tick long after every post's time (and most timers): what is due then is missed
    moments = moments[:late_tick] + [T0 + timedelta(hours=7)] + moments[late_tick:]
    missed: dict[Lane, list[str]] = {}  # lane -> what its platform had of it when missed
    seen: list[datetime] = []

    def factory(c: Config, s: Store, *, clock: FixedClock, log: object) -> Publisher:
        return Publisher(c, s, clock=clock, platforms=plats, log=QUIET)

    def tick(store: Store, now: datetime, edit: bool) -> None:
        if edit:  # any edit changes the fingerprint: the index no longer vouches
            (root / "uprbuzz.toml").write_text("#" * (len(seen) + 1) + "\n")
        clock = FixedClock(now)
        for plat in plats.values():
            assert isinstance(plat, FakePlatform)
            plat.clock = clock  # it stamps what it accepts with the tick's time
        rule = verdicts(config, store)
        for lane in missed:  # (d), by the rule
            assert rule[lane].end == "missed" and rule[lane].due_at is None
        due = rule_says(rule, now)
        fast = fast_path.nothing_due(config, now)
        if seen and not edit:  # (c): the stored time is the rule's, whatever the clock did
            assert fast == (not due), (now, due)
        else:
            assert not fast  # no index yet, or files changed: the full path
        back = bool(seen) and now < max(seen)
        event(f"tick: {'fast' if fast else 'full'}, clock {'back' if back else 'ahead'}")
        if back and missed:
            event(f"clock back after a missed report, {'fast' if fast else 'full'} tick")
        seen.append(now)
        result = scheduler.tick(config, clock=clock, log=QUIET, publisher_factory=factory)
        if fast:
            assert not result.ran and result.message == "nothing due"
            return
        assert result.ran and result.report is not None
        assert loop_says(result.report) == due  # (a), with real runs
        for lane, texts in missed.items():  # (d), by what the platforms received
            assert sent_texts(plats, lane) == texts
        missed.update({lane: sent_texts(plats, lane) for lane, a in due.items() if a == "missed"})

    with Store.open(config) as store:
        write(store, specs, new_owner())
        for now, edit in zip(moments, edits, strict=False):
            tick(store, now, edit)
        targets = sorted(missed)
        for k, pct in enumerate(window):
            if targets:
                pid = targets[k % len(targets)][0]
                when = at[pid] + late_limit * pct / 100
            else:
                when = min(seen) - timedelta(minutes=pct)
            tick(store, when, edit=k == 0 or edits[-1 - k])  # one full tick at least


# --- the issue, step by step -----------------------------------------------------------------

def test_missed_stays_missed_when_the_clock_moves_back(tmp_path: Path) -> None:
    """A tick two hours late reports the post missed; with the clock put back to ten minutes
    after its time, neither the fast path, nor a full tick, nor the daemon sends it."""
    config = make_project(tmp_path, timedelta(minutes=30), bluesky_on=False)
    at = T0
    with Store.open(config) as store:
        store.posts.put_stored(Post(id="late", parts=(Part("late news"),), at=at,
                                    status="approved", platforms=("x",), origin="feed"))
    clock = FixedClock(at + timedelta(hours=2))
    plats = fakes(clock)

    def factory(c: Config, s: Store, *, clock: FixedClock, log: object) -> Publisher:
        return Publisher(c, s, clock=clock, platforms=plats, log=QUIET)

    first = scheduler.tick(config, clock=clock, log=QUIET, publisher_factory=factory)
    assert first.report is not None and [i.state for i in first.report.items] == ["missed"]
    back = FixedClock(at + timedelta(minutes=10))  # within the late limit again
    assert fast_path.nothing_due(config, back.now())
    (tmp_path / "uprbuzz.toml").write_text("[project]\n")  # an edit: the full path decides
    assert not fast_path.nothing_due(config, back.now())
    again = scheduler.tick(config, clock=back, log=QUIET, publisher_factory=factory)
    assert again.ran and again.report is not None and again.report.items == []
    d = scheduler.Daemon(config, clock=back, log=QUIET, publisher_factory=factory)
    d.start()
    try:
        assert d.runs == 1 and d.wake_at is None
    finally:
        d.stop()
    assert sent_texts(plats, ("late", "x")) == []
    with Store.open(config) as store:
        assert [r.state for r in store.publications.rows("late")] == ["missed"]
    # moving the post to a new time (within the late limit of the report) is a new schedule
    with Store.open(config) as store:
        store.posts.put_stored(Post(id="late", parts=(Part("late news"),),
                                    at=at + timedelta(hours=2), status="approved",
                                    platforms=("x",), origin="feed"))
    later = FixedClock(at + timedelta(hours=2, minutes=1))
    moved = scheduler.tick(config, clock=later, log=QUIET, publisher_factory=factory)
    assert moved.report is not None and [i.state for i in moved.report.published] == ["sent"]


def test_rule_examples(tmp_path: Path) -> None:
    """The rule's verdicts, one state at a time (the properties above check the agreement)."""
    config = make_project(tmp_path, timedelta(minutes=30), bluesky_on=False)
    post = Post(id="p", parts=(Part("one"), Part("two")), at=T0, status="approved",
                platforms=("x",))
    with Store.open(config) as store:
        pubs = store.publications

        def lane() -> due_rule.LaneDue:
            return due_rule.lane_due(post, pubs.rows("p"), "x", config)

        assert (lane().due_at, lane().action(T0 - timedelta(seconds=1))) == (T0, None)
        assert lane().action(T0 + timedelta(minutes=30)) == "publish"  # the limit itself
        assert lane().action(T0 + timedelta(minutes=30, microseconds=1)) == "missed"
        pubs.mark("p", "x", 0, "failed", T0, kind="auth")
        assert lane().due_at == T0 + due_rule.RETRY_FAILED
        pubs.mark_sent("p", "x", 0, Remote("x", "1", "u"), T0)
        assert lane().late_after is None  # a thread under way is finished, however late
        assert lane().action(T0 + timedelta(days=3)) == "publish"
        pubs.mark("p", "x", 1, "missed", T0 + timedelta(days=3))
        assert lane().end is None  # with part 1 sent, a missed part 2 does not stop it
        pubs.mark_sent("p", "x", 1, Remote("x", "2", "u"), T0)
        assert lane().end == "sent"


def test_permanent_kinds_match_the_ledger() -> None:
    assert due_rule.PERMANENT == PERMANENT


def test_the_rule_imports_neither_store_nor_platforms() -> None:
    code = ("import sys, uprbuzz.publish.due_rule\n"
            "print(sorted(m for m in sys.modules if m.startswith(('uprbuzz.', 'sqlite3'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['uprbuzz.publish', 'uprbuzz.publish.due_rule']"
