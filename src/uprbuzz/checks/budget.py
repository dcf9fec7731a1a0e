"""The posting budget: daily caps per platform and per channel, and what X will charge.

``[budget]`` in uprbuzz.toml (all optional)::

    [budget]
    x = 50               # X posts per local day, all X channels together (a thread part is one)
    bluesky = 300        # Bluesky posts per local day
    mastodon = 300       # Mastodon posts per local day
    main-es = 20         # a channel's own daily cap (any [channels.NAME]), within its platform's
    x_post_usd = 0.015   # X pay-per-use: a post...
    x_url_post_usd = 0.20  # ...and a post whose text holds a URL (defaults: platforms.limits.X)
    x_read_usd = 0.005   # an engagement read of a post ([engagement] x = true)...
    x_owned_read_usd = 0.001  # ...and of the reading account's own post (what uprbuzz reads)
    x_daily_usd = 5.0    # optional: never spend more than this on X in one local day
                         # (posts and reads together; reads stop when it is reached)

Days are local days in the project zone. The publish loop asks ``defer_reason`` before it
claims a post; ``uprbuzz plan`` asks ``plan_days`` for per-day totals and warnings.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from uprbuzz.model import PLATFORMS, Post
from uprbuzz.platforms.limits import X

if TYPE_CHECKING:
    from uprbuzz.config import Config


class _Rows(Protocol):
    def query(self, sql: str, params: tuple[Any, ...]) -> list[Any]: ...


class Store(Protocol):
    """What the budget reads of ``uprbuzz.store.Store`` (checks never import the store)."""

    @property
    def db(self) -> _Rows: ...

# Editorial defaults, not platform limits: far below X's and Bluesky's rate limits
# (platforms.limits), which a campaign should never approach.
DEFAULT_CAPS = {"x": 50, "bluesky": 300, "mastodon": 300}
KEYS = (*PLATFORMS, "x_post_usd", "x_url_post_usd", "x_read_usd", "x_owned_read_usd",
        "x_daily_usd")  # and channel names
X_READ = "x_read"  # the ledger event of one paid read (store/engagement.py writes it)
COUNTED = ("sent", "claimed", "unknown")  # landed or may have landed


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def has_url(text: str) -> bool:
    """Does X price ``text`` as a post with a URL? Always twitter-text's extractor (through
    ``text_measure``, as the X length check), so the price never depends on what else happens
    to be imported. Text without a dot never holds a URL: answered without loading anything."""
    if "." not in text:
        return False
    from uprbuzz.platforms.text_measure import x_has_url  # ~0.5 s once; then cached per text

    return x_has_url(text)


@dataclass
class DayPlan:
    day: date
    counts: dict[str, int] = field(default_factory=dict)  # posts (thread parts) per channel
    x_cost: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "counts": dict(self.counts),
                "x_cost": round(self.x_cost, 3), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class Budget:
    caps: Mapping[str, int]  # per platform (all its channels together) and per channel
    zone: ZoneInfo
    x_post_usd: float = X.post_usd
    x_url_post_usd: float = X.url_post_usd
    x_daily_usd: float | None = None
    x_read_usd: float = X.read_usd
    x_owned_read_usd: float = X.owned_read_usd
    # channel -> platform (legacy projects: x -> x, bluesky -> bluesky)
    platform_of: Mapping[str, str] = field(
        default_factory=lambda: {"x": "x", "bluesky": "bluesky"})

    @classmethod
    def from_config(cls, config: Config) -> Budget:
        from uprbuzz.config import ConfigError

        platform_of = {c.name: c.platform for c in config.channels}
        known = (*KEYS, *(c for c in platform_of if c not in KEYS))
        raw = dict(config.budget or {})
        for k in raw:
            if k not in known:
                near = difflib.get_close_matches(k, known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(known)}"
                raise ConfigError(f"unknown key {k!r} in [budget]{hint}")
        try:
            caps = {p: int(raw.get(p, DEFAULT_CAPS[p])) for p in PLATFORMS}
            caps.update({c: int(raw[c]) for c in platform_of if c not in PLATFORMS and c in raw})
            usd = raw.get("x_daily_usd")
            return cls(caps, config.zone,
                       float(raw.get("x_post_usd", X.post_usd)),
                       float(raw.get("x_url_post_usd", X.url_post_usd)),
                       None if usd is None else float(usd),
                       float(raw.get("x_read_usd", X.read_usd)),
                       float(raw.get("x_owned_read_usd", X.owned_read_usd)), platform_of)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"[budget] values must be numbers ({e})") from e

    def _platform(self, channel: str) -> str:
        return self.platform_of.get(channel, channel)

    def _parts(self, post: Post, channel: str) -> tuple[Any, ...]:
        return post.parts_on(channel, self._platform(channel)) or ()

    # --- costs -----------------------------------------------------------------------------
    def part_cost(self, text: str | None) -> float:
        if text is None:  # unknown text: assume the dearer price
            return self.x_url_post_usd
        return self.x_url_post_usd if has_url(text) else self.x_post_usd

    def x_cost(self, post: Post, channels: Iterable[str] | None = None) -> float:
        """What X charges for ``post`` on ``channels`` (default: the channel named x), per
        thread part; 0 on channels of other platforms."""
        return sum(self.part_cost(p.text) for c in (["x"] if channels is None else channels)
                   if self._platform(c) == "x" for p in self._parts(post, c))

    # --- the publish loop's question --------------------------------------------------------
    def day_of(self, when: datetime) -> date:
        return when.astimezone(self.zone).date()

    def used(self, store: Store, lanes: str | Iterable[str], day: date,
             exclude: tuple[str, str] | None = None, *, priced: bool = True
             ) -> tuple[int, float]:
        """(posts, X dollars) sent or in flight on local ``day`` on the channel(s) ``lanes``
        (a platform's name stands for all its channels; dollars 0 with ``priced=False``:
        no text is looked at). ``exclude``: (post id, channel), the lane asking (its own
        earlier claims); the same post on another channel of the platform counts."""
        names = self._lanes(lanes)
        marks, lane_marks = ",".join("?" * len(COUNTED)), ",".join("?" * len(names))
        rows = store.db.query(
            f"SELECT post_id, channel, state, claimed_at, sent_at, updated_at, text "
            f"FROM publications WHERE channel IN ({lane_marks}) AND state IN ({marks})",
            (*names, *COUNTED))
        n, usd = 0, 0.0
        for r in rows:
            if exclude is not None and (r["post_id"], r["channel"]) == exclude:
                continue
            stamp = r["sent_at"] or r["claimed_at"] or r["updated_at"]
            if not stamp or self.day_of(datetime.fromisoformat(stamp)) != day:
                continue
            n += 1
            if priced and self._platform(r["channel"]) == "x":
                usd += self.part_cost(r["text"])
        if priced:
            usd += self.read_spend(store, [c for c in names if self._platform(c) == "x"], day)
        return n, usd

    def read_spend(self, store: Store, channels: Iterable[str], day: date) -> float:
        """Dollars of paid X engagement reads on ``channels`` on local ``day``."""
        names = list(channels)
        if not names:
            return 0.0
        start = datetime.combine(day, time(0), tzinfo=self.zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        rows = store.db.query(  # times are UTC ISO text (store/engagement.iso): they sort
            f"SELECT detail FROM events WHERE event = ? AND at >= ? AND at < ? "
            f"AND channel IN ({','.join('?' * len(names))})",
            (X_READ, _utc(start), _utc(end), *names))
        return sum(float(r["detail"]) for r in rows)

    def read_price(self, owned: bool) -> float:
        return self.x_owned_read_usd if owned else self.x_read_usd

    def reads_left(self, store: Store, when: datetime, owned: bool = True) -> int | None:
        """How many more X reads fit under ``x_daily_usd`` on ``when``'s local day, after the
        posts and reads already paid on every X channel; None: no spending limit."""
        if self.x_daily_usd is None:
            return None
        _, spent = self.used(store, "x", self.day_of(when))
        price = self.read_price(owned)
        # in micro-dollars: 0.047 - 0.045 must leave room for two $0.001 reads, not 1.999
        room = round(self.x_daily_usd * 1e6) - round(spent * 1e6)
        return max(0, room // max(1, round(price * 1e6)))

    def _lanes(self, lanes: str | Iterable[str]) -> list[str]:
        names = [lanes] if isinstance(lanes, str) else list(lanes)
        out: list[str] = []
        for n in names:
            # a platform's name: every channel of it (and its legacy channel, same name)
            group = [c for c, p in self.platform_of.items() if p == n] if n in PLATFORMS else []
            out += [c for c in (n, *group) if c not in out]
        return out

    def defer_reason(self, store: Store, channel: str, post: Post,
                     when: datetime) -> str | None:
        """Why ``post`` must wait rather than go to ``channel`` at ``when``; None = go. The
        channel's own cap, then its platform's (all its channels together), then X's
        spending limit (all X channels together)."""
        parts = self._parts(post, channel)
        if not parts:
            return None
        platform = self._platform(channel)
        day = self.day_of(when)
        need = len(parts)
        if channel != platform and (cap := self.caps.get(channel)) is not None:
            n, _ = self.used(store, channel, day, exclude=(post.id, channel), priced=False)
            if n + need > cap:
                return (f"daily cap of {cap} posts on channel {channel} for {day:%a %d %b %Y} "
                        f"reached ({n} already, this post needs {need}); raise [budget] "
                        f"{channel} to send more")
        # Prices matter only under a spending limit: the publish loop skips them otherwise.
        priced = platform == "x" and self.x_daily_usd is not None
        n, usd = self.used(store, platform, day, exclude=(post.id, channel), priced=priced)
        cap = self.caps.get(platform)
        if cap is not None and n + need > cap:
            return (f"daily cap of {cap} {platform} posts for {day:%a %d %b %Y} reached "
                    f"({n} already, this post needs {need}); raise [budget] {platform} to send more")
        if platform == "x" and self.x_daily_usd is not None:
            cost = self.x_cost(post, [channel])
            if usd + cost > self.x_daily_usd + 1e-9:
                return (f"X spending limit ${self.x_daily_usd:.2f} for {day:%a %d %b %Y} reached "
                        f"(${usd:.3f} spent, this post costs ${cost:.3f}); "
                        "raise [budget] x_daily_usd to send more")
        return None

    # --- `uprbuzz plan` ---------------------------------------------------------------------
    def plan_days(self, posts: Iterable[Post],
                  route: Callable[[Post], Iterable[str]] | None = None) -> dict[date, DayPlan]:
        """Per local day: posts per channel, X cost and warnings for any cap exceeded.
        ``route`` gives a post's channels (``Config.route``); default: its platforms' legacy
        channels."""
        days: dict[date, DayPlan] = {}
        for post in posts:
            if post.at is None:
                continue
            d = self.day_of(post.at)
            dp = days.setdefault(d, DayPlan(d, {}))
            lanes = list(route(post) if route else post.targets)
            for c in lanes:
                dp.counts[c] = dp.counts.get(c, 0) + len(self._parts(post, c))
            dp.x_cost += self.x_cost(post, lanes)
        for dp in days.values():
            per_platform: dict[str, int] = {}
            for c, n in dp.counts.items():
                per_platform[self._platform(c)] = per_platform.get(self._platform(c), 0) + n
                cap = self.caps.get(c)
                if c not in PLATFORMS and cap is not None and n > cap:
                    dp.warnings.append(f"{c}: {n} posts, over the channel's daily cap of {cap}; "
                                       f"{n - cap} will be deferred")
            for p, n in per_platform.items():
                cap = self.caps.get(p)
                if cap is not None and n > cap:
                    dp.warnings.append(f"{p}: {n} posts, over the daily cap of {cap}; "
                                       f"{n - cap} will be deferred")
            if self.x_daily_usd is not None and dp.x_cost > self.x_daily_usd + 1e-9:
                dp.warnings.append(f"x: ${dp.x_cost:.2f}, over the daily limit of "
                                   f"${self.x_daily_usd:.2f}")
        return dict(sorted(days.items()))
