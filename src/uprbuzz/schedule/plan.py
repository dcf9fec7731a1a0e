"""``uprbuzz plan``: upcoming publications in time order, with per-day totals.

Built from cached file metadata where possible (no YAML, no twitter-text on a warm run), plus
campaign occurrences and stored posts. Days are counted in the project's zone.
If ``uprbuzz.checks.budget`` is present, each day also gets its X cost and the budget's warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from uprbuzz.model import Post
from uprbuzz.sources.posts.collect import PostResults, collect, lengths_of

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store


@dataclass
class PlanItem:
    at: datetime  # in the project zone
    post_id: str
    nparts: int
    platforms: list[str]  # the channels it goes to (legacy projects: the platforms x, bluesky)
    lengths: dict[str, list[list[Any]] | None]  # channel -> per part [length, limit, valid]
    status: str  # draft | approved | published | invalid
    origin: str = "queue"
    source: str = ""
    post: Post | None = field(default=None, repr=False)  # loaded only for the budget hook

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for i in range(self.nparts):
            lens: dict[str, dict[str, Any] | None] = {}
            for p in self.platforms:
                per = self.lengths.get(p)
                if per is None:
                    lens[p] = None
                elif i < len(per):
                    n, limit, valid = per[i]
                    lens[p] = {"length": n, "limit": limit, "valid": valid}
                else:  # this platform's variant has fewer parts
                    lens[p] = None
            out.append({
                "when": self.at.isoformat(), "when_utc": self.at.astimezone(UTC).isoformat(),
                "post_id": self.post_id, "part": i + 1, "parts": self.nparts,
                "platforms": self.platforms, "channels": self.platforms, "lengths": lens,
                "status": self.status,
                "origin": self.origin, "source": self.source})
        return out


@dataclass
class Plan:
    start: datetime
    end: datetime
    timezone: str
    items: list[PlanItem] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a records campaign with no records

    def as_dict(self) -> dict[str, Any]:
        # whole seconds: an OffsetClock's "now" carries microseconds nobody asked for
        return {"from": self.start.isoformat(timespec="seconds"),
                "to": self.end.isoformat(timespec="seconds"),
                "timezone": self.timezone,
                "items": [r for it in self.items for r in it.rows()], "days": self.days,
                "notes": self.notes}


def build_plan(config: Config, store: Store | None, start: datetime, end: datetime) -> Plan:
    zone = config.zone
    plan = Plan(start.astimezone(zone), end.astimezone(zone), config.timezone)
    published = store.posts.published_ids() if store is not None else set()
    need_posts = _budget(config) is not None
    platform_of = {c.name: c.platform for c in config.channels}
    for f in collect(config, store, check=False).files:
        m = f.meta
        if not m.get("at") or "id" not in m:
            continue
        at = datetime.fromisoformat(m["at"])
        if not start <= at < end:
            continue
        x = f.extra
        lengths = x.get("lengths")
        post = f.post if lengths is None or need_posts else None
        if lengths is None and post is not None:
            lengths = lengths_of(post, config)
        status = ("invalid" if f.has_errors else
                  "published" if m["id"] in published else m["status"])
        plan.items.append(_item(at.astimezone(zone), m["id"], x.get("targets", []), lengths,
                                x.get("nparts", 1), status, "queue", f.rel, post, platform_of))
    results = PostResults(config, store)
    for post in _other_posts(config, store, plan.notes):
        if post.at is None or not start <= post.at < end:
            continue
        status = "published" if post.id in published else post.status
        plan.items.append(_item(post.at.astimezone(zone), post.id,
                                [c.name for c in config.route(post)],
                                results.get(post, check=False)["lengths"], len(post.parts),
                                status, post.origin, post.source.path if post.source else "",
                                post, platform_of))
    results.save()
    # by instant: aware datetimes in one zone compare by wall time, ignoring DST folds
    plan.items.sort(key=lambda it: (it.at.astimezone(UTC), it.post_id))
    plan.days = _days(config, plan.items)
    return plan


def _item(at: datetime, pid: str, targets: list[str], lengths: dict | None, nparts: int,
          status: str, origin: str, source: str, post: Post | None,
          platform_of: dict[str, str]) -> PlanItem:
    """``targets``: the post's channels; ``lengths``: per platform (as collect stores them)."""
    lengths = lengths or {}
    n = max([len(v) for v in lengths.values() if v] + [nparts or 1])
    return PlanItem(at, pid, n, list(targets),
                    {c: lengths.get(platform_of.get(c, c)) for c in targets}, status,
                    origin, source, post)


def _other_posts(config: Config, store: Store | None, notes: list[str]) -> list[Post]:
    out: list[Post] = []
    if (config.root / config.schedules_dir).is_dir():  # else skip importing the campaign code
        from uprbuzz.sources.campaigns.campaign_posts import load_campaigns

        loaded = load_campaigns(config, store)
        # a campaign that posts from records not imported yet: why its posts are missing
        notes.extend(str(d) for d in loaded.diagnostics if d.code == "records-missing")
        bad = {d.path for d in loaded.errors}
        out.extend(p for p in loaded.posts if not (p.source and p.source.path in bad))
    if store is not None:
        out.extend(store.posts.stored())
    return out


def _days(config: Config, items: list[PlanItem]) -> list[dict[str, Any]]:
    days: dict[date, dict[str, Any]] = {}
    for it in items:
        d = days.setdefault(it.at.date(), {"date": it.at.date().isoformat(), "posts": 0,
                                           "publications": 0, "by_platform": {}, "drafts": 0})
        if it.status == "draft":
            d["drafts"] += 1
            continue
        if it.status == "invalid":
            continue
        d["posts"] += 1
        for p in it.platforms:
            n = len(it.lengths.get(p) or ()) or it.nparts
            d["publications"] += n
            d["by_platform"][p] = d["by_platform"].get(p, 0) + n
    budget = _budget(config)
    if budget is not None:  # optional: X cost and cap warnings per day
        posts = [it.post for it in items if it.post is not None and it.status == "approved"]
        for day, dp in budget.plan_days(posts, lambda p: [c.name for c in config.route(p)]).items():
            if day in days:
                days[day]["x_cost"] = round(dp.x_cost, 4)
                days[day]["warnings"] = list(dp.warnings)
    return [days[k] for k in sorted(days)]


def _budget(config: Config) -> Any:
    """The budget: X cost per day and cap warnings (None when [budget] is broken)."""
    from uprbuzz.checks.budget import Budget

    try:
        return Budget.from_config(config)
    except Exception:  # a broken [budget] is reported by check, not by plan
        return None
