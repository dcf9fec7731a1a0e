"""The posting budget: daily caps per platform and what X will charge.

``[budget]`` in uprbuzz.toml (all optional)::

    [budget]
    x = 50               # X posts per local day (each thread part is one post)
    bluesky = 300        # Bluesky posts per local day
    x_post_usd = 0.015   # X pay-per-use: a post...
    x_url_post_usd = 0.20  # ...and a post whose text holds a URL (defaults: platforms.limits.X)
    x_daily_usd = 5.0    # optional: never spend more than this on X in one local day

Days are local days in the project zone. The publish loop asks ``defer_reason`` before it
claims a post; ``uprbuzz plan`` asks ``plan_days`` for per-day totals and warnings.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
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
DEFAULT_CAPS = {"x": 50, "bluesky": 300}
KEYS = (*PLATFORMS, "x_post_usd", "x_url_post_usd", "x_daily_usd")
COUNTED = ("sent", "claimed", "unknown")  # landed or may have landed


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
    counts: dict[str, int] = field(default_factory=dict)  # posts (thread parts) per platform
    x_cost: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "counts": dict(self.counts),
                "x_cost": round(self.x_cost, 3), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class Budget:
    caps: Mapping[str, int]
    zone: ZoneInfo
    x_post_usd: float = X.post_usd
    x_url_post_usd: float = X.url_post_usd
    x_daily_usd: float | None = None

    @classmethod
    def from_config(cls, config: Config) -> Budget:
        from uprbuzz.config import ConfigError

        raw = dict(config.budget or {})
        for k in raw:
            if k not in KEYS:
                near = difflib.get_close_matches(k, KEYS, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(KEYS)}"
                raise ConfigError(f"unknown key {k!r} in [budget]{hint}")
        try:
            caps = {p: int(raw.get(p, DEFAULT_CAPS[p])) for p in PLATFORMS}
            usd = raw.get("x_daily_usd")
            return cls(caps, config.zone,
                       float(raw.get("x_post_usd", X.post_usd)),
                       float(raw.get("x_url_post_usd", X.url_post_usd)),
                       None if usd is None else float(usd))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"[budget] values must be numbers ({e})") from e

    # --- costs -----------------------------------------------------------------------------
    def part_cost(self, text: str | None) -> float:
        if text is None:  # unknown text: assume the dearer price
            return self.x_url_post_usd
        return self.x_url_post_usd if has_url(text) else self.x_post_usd

    def x_cost(self, post: Post) -> float:
        """What X charges for ``post`` (per thread part; 0 when it does not go to X)."""
        return sum(self.part_cost(p.text) for p in post.parts_for("x") or ())

    # --- the publish loop's question --------------------------------------------------------
    def day_of(self, when: datetime) -> date:
        return when.astimezone(self.zone).date()

    def used(self, store: Store, platform: str, day: date,
             exclude: str | None = None, *, priced: bool = True) -> tuple[int, float]:
        """(posts, X dollars) of ``platform`` sent or in flight on local ``day``
        (dollars 0 with ``priced=False``: no text is looked at)."""
        marks = ",".join("?" * len(COUNTED))
        rows = store.db.query(
            f"SELECT post_id, state, claimed_at, sent_at, updated_at, text FROM publications "
            f"WHERE platform=? AND state IN ({marks})", (platform, *COUNTED))
        n, usd = 0, 0.0
        for r in rows:
            if r["post_id"] == exclude:
                continue
            stamp = r["sent_at"] or r["claimed_at"] or r["updated_at"]
            if not stamp or self.day_of(datetime.fromisoformat(stamp)) != day:
                continue
            n += 1
            if priced and platform == "x":
                usd += self.part_cost(r["text"])
        return n, usd

    def defer_reason(self, store: Store, platform: str, post: Post,
                     when: datetime) -> str | None:
        """Why ``post`` must wait rather than go to ``platform`` at ``when``; None = go."""
        parts = post.parts_for(platform)
        if not parts:
            return None
        day = self.day_of(when)
        # Prices matter only under a spending limit: the publish loop skips them otherwise.
        priced = platform == "x" and self.x_daily_usd is not None
        n, usd = self.used(store, platform, day, exclude=post.id, priced=priced)
        cap = self.caps.get(platform)
        need = len(parts)
        if cap is not None and n + need > cap:
            return (f"daily cap of {cap} {platform} posts for {day:%a %d %b %Y} reached "
                    f"({n} already, this post needs {need}); raise [budget] {platform} to send more")
        if platform == "x" and self.x_daily_usd is not None:
            cost = self.x_cost(post)
            if usd + cost > self.x_daily_usd + 1e-9:
                return (f"X spending limit ${self.x_daily_usd:.2f} for {day:%a %d %b %Y} reached "
                        f"(${usd:.3f} spent, this post costs ${cost:.3f}); "
                        "raise [budget] x_daily_usd to send more")
        return None

    # --- `uprbuzz plan` ---------------------------------------------------------------------
    def plan_days(self, posts: Iterable[Post]) -> dict[date, DayPlan]:
        """Per local day: posts per platform, X cost and warnings for any cap exceeded."""
        days: dict[date, DayPlan] = {}
        for post in posts:
            if post.at is None:
                continue
            d = self.day_of(post.at)
            dp = days.setdefault(d, DayPlan(d, {p: 0 for p in PLATFORMS}))
            for p in post.targets:
                dp.counts[p] = dp.counts.get(p, 0) + len(post.parts_for(p) or ())
            dp.x_cost += self.x_cost(post)
        for dp in days.values():
            for p, n in dp.counts.items():
                cap = self.caps.get(p)
                if cap is not None and n > cap:
                    dp.warnings.append(f"{p}: {n} posts, over the daily cap of {cap}; "
                                       f"{n - cap} will be deferred")
            if self.x_daily_usd is not None and dp.x_cost > self.x_daily_usd + 1e-9:
                dp.warnings.append(f"x: ${dp.x_cost:.2f}, over the daily limit of "
                                   f"${self.x_daily_usd:.2f}")
        return dict(sorted(days.items()))
