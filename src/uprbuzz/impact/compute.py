"""The report's numbers, computed once from the ledger (``compute`` → ``ImpactData``).

- **posts per day and channel**: publications (post × channel) in state ``sent``, on the local
  day (project zone) their first part was sent; a thread counts once per channel, its parts
  are counted in ``parts``.
- **engagement**: table ``engagement`` holds snapshots per post × channel × part; a part's
  count is its freshest snapshot, a post's the sum over its parts and channels; "over time" is,
  for each local day, the sum of every part's freshest snapshot taken by the end of that day.
  Interactions = likes + reposts + replies + quotes (impressions apart: X only). Replies are
  people's: each snapshot's count less the network's own replies to that part sent by then
  (``impact.own_replies``: the next part of a thread, the next live post); the ledger keeps
  the platform's raw count.
- **coverage**: ``impact.coverage`` (the rule); **positions**: every record, by the State's
  position (no position yet = pending), not narrowed by the filters.
- **X spend**: each X part sent, priced as the publish loop's budget prices it
  (``checks.budget``: the project's ``[budget]`` prices, else ``platforms.limits``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from uprbuzz.checks.budget import Budget
from uprbuzz.clock import default_clock
from uprbuzz.config import PLATFORM_NAMES, Config
from uprbuzz.impact.coverage import CARD_FIELDS, covering
from uprbuzz.impact.data import (
    Channel,
    Counts,
    DayEngagement,
    DayPosts,
    DaySpend,
    ImpactData,
    RecordCoverage,
    ThemeCoverage,
    TopPost,
)
from uprbuzz.impact.own_replies import made_by, own_replies
from uprbuzz.impact.scope import Scope
from uprbuzz.model import Post
from uprbuzz.store import Store
from uprbuzz.store.engagement import X_READ

TOP = 10  # top posts shown
Lane = tuple[str, str]  # post id, channel
Part = tuple[str, str, int]  # post id, channel, part


@dataclass(frozen=True)
class Sent:
    post_id: str
    channel: str
    part: int
    sent_at: datetime
    text: str | None  # None on rows older than the ledger's text column (priced as with a URL)
    url: str | None


def compute(store: Store, config: Config, scope: Scope, *, posts: Iterable[Post] = (),
            now: datetime | None = None, top: int = TOP) -> ImpactData:
    """``posts``: the project's posts (their card fields and link cards count for coverage)."""
    zone = config.zone
    sent = _sent(store, scope)
    lanes: dict[Lane, list[Sent]] = {}
    for s in sent:
        lanes.setdefault((s.post_id, s.channel), []).append(s)
    data = ImpactData(config.name, config.lang, config.timezone,
                      (now or default_clock().now()).astimezone(zone), scope.as_dict())
    data.channels = _channels(config, {c for _, c in lanes})
    data.posts = len({p for p, _ in lanes})
    data.publications, data.parts = len(lanes), len(sent)
    data.per_day = _per_day(lanes, zone)
    snaps = _snapshots(store, {(s.post_id, s.channel, s.part) for s in sent})
    latest = {k: v[-1][1] for k, v in snaps.items()}
    data.totals = sum(latest.values(), Counts())
    data.engagement = _over_time(snaps, zone)
    data.top_posts = _top(lanes, latest, top)
    _records(store, data, sent, posts)
    data.x_spend = _x_spend(store, config, sent, zone)
    return data


def _sent(store: Store, scope: Scope) -> list[Sent]:
    rows = store.db.query(
        "SELECT post_id, channel, part, sent_at, text, url FROM publications "
        "WHERE state='sent' AND sent_at IS NOT NULL ORDER BY post_id, channel, part")
    all_sent = [Sent(r["post_id"], r["channel"], int(r["part"]),
                     datetime.fromisoformat(r["sent_at"]), r["text"], r["url"])
                for r in rows if scope.takes_post(r["post_id"])]
    first: dict[Lane, datetime] = {}
    for s in all_sent:
        k = (s.post_id, s.channel)
        first[k] = min(first.get(k, s.sent_at), s.sent_at)
    return [s for s in all_sent if scope.takes_time(first[(s.post_id, s.channel)])]


def _channels(config: Config, names: set[str]) -> list[Channel]:
    known = [Channel(c.name, c.platform) for c in config.channels if c.name in names]
    gone = sorted(names - {c.name for c in known})  # channels since removed from uprbuzz.toml
    return known + [Channel(n, n if n in PLATFORM_NAMES else "") for n in gone]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _per_day(lanes: dict[Lane, list[Sent]], zone: Any) -> list[DayPosts]:
    by_day: dict[date, dict[str, int]] = {}
    for (_, channel), parts in lanes.items():
        day = min(p.sent_at for p in parts).astimezone(zone).date()
        row = by_day.setdefault(day, {})
        row[channel] = row.get(channel, 0) + 1
    if not by_day:
        return []
    return [DayPosts(d, by_day.get(d, {})) for d in _days(min(by_day), max(by_day))]


def _snapshots(store: Store, parts: set[Part]) -> dict[Part, list[tuple[datetime, Counts]]]:
    """Each sent part's snapshots, oldest first (``Engagement.series`` is in that order), its
    replies less the network's own replies to that part sent by the snapshot's time (the one
    place the report tells them apart; the stored snapshot is the platform's raw count)."""
    out: dict[Part, list[tuple[datetime, Counts]]] = {}
    if not parts:
        return out
    own = own_replies(store)
    for s in store.engagement.series():
        k = (s.post_id, s.channel, s.part)
        if k in parts:
            replies = max(0, s.replies - made_by(own.get(k), s.taken_at))
            out.setdefault(k, []).append((s.taken_at, Counts(
                s.likes, s.reposts, replies, s.quotes, s.impressions)))
    return out


def _over_time(snaps: dict[Part, list[tuple[datetime, Counts]]], zone: Any
               ) -> list[DayEngagement]:
    """One sweep through every snapshot in time order: at each local midnight, the sum of every
    part's freshest snapshot so far."""
    events = sorted((t, i, k, c) for k, v in snaps.items() for i, (t, c) in enumerate(v))
    if not events:
        return []
    days = _days(events[0][0].astimezone(zone).date(), events[-1][0].astimezone(zone).date())
    current: dict[Part, Counts] = {}
    likes = reposts = replies = quotes = impressions = 0
    seen_impressions = False
    out, j = [], 0
    for d in days:
        end, taken = datetime.combine(d + timedelta(days=1), time(), zone), 0
        while j < len(events) and events[j][0] < end:
            _, _, k, c = events[j]
            old = current.get(k, Counts())
            likes += c.likes - old.likes
            reposts += c.reposts - old.reposts
            replies += c.replies - old.replies
            quotes += c.quotes - old.quotes
            impressions += (c.impressions or 0) - (old.impressions or 0)
            seen_impressions = seen_impressions or c.impressions is not None
            current[k] = c
            taken, j = taken + 1, j + 1
        out.append(DayEngagement(d, Counts(likes, reposts, replies, quotes,
                                           impressions if seen_impressions else None), taken))
    return out


def _top(lanes: dict[Lane, list[Sent]], latest: dict[Part, Counts], n: int) -> list[TopPost]:
    per_post: dict[str, Counts] = {}
    for (post_id, _, _), c in latest.items():
        per_post[post_id] = per_post.get(post_id, Counts()) + c
    ranked = sorted((p for p, c in per_post.items() if c.interactions > 0),
                    key=lambda p: (-per_post[p].interactions, p))[:n]
    out = []
    for p in ranked:
        mine = sorted(((ch, min(parts, key=lambda s: s.part)) for (pid, ch), parts in lanes.items()
                       if pid == p), key=lambda x: x[0])
        text = (mine[0][1].text or "") if mine else ""
        links = tuple((ch, s.url) for ch, s in mine if s.url)
        out.append(TopPost(p, text, per_post[p], links))
    return out


# --- records: coverage and positions -----------------------------------------------------------
def _records(store: Store, data: ImpactData, sent: list[Sent], posts: Iterable[Post]) -> None:
    recs = store.records.list()
    data.records = len(recs)
    data.positions = dict(store.records.summary()["by_position"])
    texts: dict[str, list[str]] = {}
    for s in sent:
        texts.setdefault(s.post_id, []).append(s.text or "")
    for p in posts:
        if p.id in texts:
            texts[p.id] += [p.link or ""]
            if p.card is not None:
                texts[p.id].append(" ".join(p.card.fields.get(k, "") for k in CARD_FIELDS))
    found = covering(recs, texts)
    data.coverage = [RecordCoverage(r.key, r.themes, r.status, tuple(found[r.key]))
                     for r in recs if r.key in found]
    themes: dict[str, tuple[int, int, set[str]]] = {}
    for r in recs:
        for t in r.themes or ("",):
            n, c, who = themes.get(t, (0, 0, set()))
            cov = found.get(r.key, [])
            themes[t] = (n + 1, c + (1 if cov else 0), who | set(cov))
    data.themes = [ThemeCoverage(t, n, c, len(who))
                   for t, (n, c, who) in sorted(themes.items(), key=lambda x: (x[0] == "", x[0]))]


def _x_spend(store: Store, config: Config, sent: list[Sent], zone: Any) -> list[DaySpend]:
    """Per local day: X parts sent (priced by the budget) and paid engagement reads of them
    (``x_read`` events, each carrying the price it was charged)."""
    budget = Budget.from_config(config)
    platform = {c.name: c.platform for c in config.channels}
    by_day: dict[date, list[float]] = {}  # parts, their dollars, reads, their dollars
    mine: set[Part] = set()
    for s in sent:
        if platform.get(s.channel, s.channel) != "x":
            continue
        mine.add((s.post_id, s.channel, s.part))
        row = by_day.setdefault(s.sent_at.astimezone(zone).date(), [0, 0.0, 0, 0.0])
        row[0] += 1
        row[1] += budget.part_cost(s.text)
    if mine:
        for r in store.db.query("SELECT at, post_id, channel, part, detail FROM events "
                                "WHERE event=?", (X_READ,)):
            if (r["post_id"], r["channel"], r["part"]) not in mine:
                continue
            row = by_day.setdefault(datetime.fromisoformat(r["at"]).astimezone(zone).date(),
                                    [0, 0.0, 0, 0.0])
            row[2] += 1
            row[3] += float(r["detail"])
    if not by_day:
        return []
    return [DaySpend(d, int(v[0]), v[1], int(v[2]), v[3])
            for d in _days(min(by_day), max(by_day))
            for v in [by_day.get(d, [0, 0.0, 0, 0.0])]]


def check_scope(store: Store, scope: Scope, posts: Iterable[Post] = (),
                sessions: Iterable[str] = ()) -> None:
    """A campaign or session the project has never heard of is a typo: say so, with the names
    it knows, rather than write an empty report. ``sessions``: the live sessions the project
    defines (its session files); one that has not run yet gives an empty report. A rehearsal's
    key is accepted (the ledger knows it) but not offered among the names."""
    import difflib

    from uprbuzz.impact.scope import ScopeError
    from uprbuzz.store.live_keys import is_rehearsal, live_key

    ids = {r["post_id"] for r in store.db.query("SELECT DISTINCT post_id FROM publications")}
    ids |= {p.id for p in posts}
    if scope.campaign is not None:
        known = sorted({i.split("/", 1)[0] for i in ids if "/" in i} - {"live"})
        if scope.campaign.strip("/") not in known:
            raise ScopeError(f"--campaign {scope.campaign!r}: no campaign of that name "
                             f"{_hint(scope.campaign, known, difflib)}")
    if scope.session is not None:
        names = {r["session"] for r in store.db.query("SELECT session FROM live_sessions")}
        names |= {k for i in ids if (k := live_key(i)) is not None}
        names |= set(sessions)
        if scope.session not in names:
            known = sorted(n for n in names if not is_rehearsal(n))
            raise ScopeError(f"--session {scope.session!r}: no live session of that name "
                             f"{_hint(scope.session, known, difflib)}")


def _hint(name: str, known: list[str], difflib: Any) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    if near:
        return f"(did you mean {near[0]!r}?)"
    return f"(known: {', '.join(known)})" if known else "(none in this project yet)"
