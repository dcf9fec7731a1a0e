"""The posting budget: daily caps per platform and what X will charge.

``[budget]`` in uprbuzz.toml (all optional)::

    [budget]
    x = 50               # X posts per local day (each thread part is one post)
    bluesky = 300        # Bluesky posts per local day
    x_post_usd = 0.015   # X pay-per-use: a post...
    x_url_post_usd = 0.20  # ...and a post whose text holds a URL (x-api.md §6)
    x_daily_usd = 5.0    # optional: never spend more than this on X in one local day

Days are local days in the project zone. The publish loop asks ``defer_reason`` before it
claims a post; ``uprbuzz plan`` asks ``plan_days`` for per-day totals and warnings.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from uprbuzz.model import PLATFORMS, Post

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store

# X allows 100 posts / 15 min per user (x-api.md §6) — far more than a campaign should send;
# these are editorial defaults, not platform limits.
DEFAULT_CAPS = {"x": 50, "bluesky": 300}
X_POST_USD = 0.015
X_URL_POST_USD = 0.20
KEYS = (*PLATFORMS, "x_post_usd", "x_url_post_usd", "x_daily_usd")
COUNTED = ("sent", "claimed", "unknown")  # landed or may have landed

# Bare domains count as URLs on X (twitter-text autolinks them) when the TLD is real: common
# gTLDs and every two-letter ccTLD. A cheap stand-in for twitter-text's 260 ms import; when
# twitter-text is already loaded (the checks use it) its own extractor decides.
_TLDS = frozenset(["com", "org", "net", "edu", "gov", "int", "mil", "info", "biz", "io", "co", "app", "dev", "news", "blog", "online", "site", "tv", "me", "ly", "ngo", "ong", "global", "media", "live", "social", "xyz", "eu", "asia", "africa", "un"])
_SCHEME = re.compile(r"(?i)\bhttps?://[^\s]+")
_BARE = re.compile(r"(?i)(?<![@\w.\-/])(?:[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?\.)+"
                   r"([a-z]{2,24})(?![\w\-@])")


def has_url(text: str) -> bool:
    if "." not in text:
        return False
    tt = sys.modules.get("twitter_text")
    if tt is not None:
        return bool(tt.extract_urls(text))
    return has_url_regex(text)


def has_url_regex(text: str) -> bool:
    if _SCHEME.search(text):
        return True
    return any(len(m.group(1)) == 2 or m.group(1).lower() in _TLDS for m in _BARE.finditer(text))


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
    x_post_usd: float = X_POST_USD
    x_url_post_usd: float = X_URL_POST_USD
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
                       float(raw.get("x_post_usd", X_POST_USD)),
                       float(raw.get("x_url_post_usd", X_URL_POST_USD)),
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
             exclude: str | None = None) -> tuple[int, float]:
        """(posts, X dollars) of ``platform`` sent or in flight on local ``day``."""
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
            if platform == "x":
                usd += self.part_cost(r["text"])
        return n, usd

    def defer_reason(self, store: Store, platform: str, post: Post,
                     when: datetime) -> str | None:
        """Why ``post`` must wait rather than go to ``platform`` at ``when``; None = go."""
        parts = post.parts_for(platform)
        if not parts:
            return None
        day = self.day_of(when)
        n, usd = self.used(store, platform, day, exclude=post.id)
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
        for d, dp in days.items():
            for p, n in dp.counts.items():
                cap = self.caps.get(p)
                if cap is not None and n > cap:
                    dp.warnings.append(f"{p}: {n} posts, over the daily cap of {cap}; "
                                       f"{n - cap} will be deferred")
            if self.x_daily_usd is not None and dp.x_cost > self.x_daily_usd + 1e-9:
                dp.warnings.append(f"x: ${dp.x_cost:.2f}, over the daily limit of "
                                   f"${self.x_daily_usd:.2f}")
        return dict(sorted(days.items()))
