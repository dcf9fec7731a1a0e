"""What the platforms will accept, and ``check_project``: every source of a project, checked.

Per-post rules live in ``text``/``x``/``bluesky``/``media`` (pure: no store, no network).
``check_project`` adds what only the whole project can see: config problems, ids used twice,
approved posts whose time has passed unpublished. The heavy modules are imported only when a
file actually has to be (re-)checked, so the warm path stays stdlib + SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from uprbuzz.model import Diagnostic, Post
from uprbuzz.sources.posts.collect import Collected, PostResults, collect, post_checks

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store

__all__ = ["CheckResult", "check_project", "collect", "post_checks"]


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    collected: Collected = field(default_factory=Collected)
    extra_posts: list[Post] = field(default_factory=list)  # campaigns (not from post files)
    files: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        e, w = len(self.errors), len(self.warnings)
        cached = f" ({self.collected.hits} unchanged)" if self.collected.hits else ""
        return (f"checked {self.files} file{'s' * (self.files != 1)}{cached}: "
                f"{e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)}")


def check_project(config: Config, store: Store | None = None,
                  paths: Iterable[str | Path] | None = None,
                  now: datetime | None = None,
                  progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Check post files (all of ``posts/``, or ``paths``), schedules and the config."""
    from uprbuzz.config import CONFIG_NAME

    files = None if paths is None else [Path(p) for p in paths]
    res = CheckResult()
    if not (config.root / CONFIG_NAME).is_file():
        res.diagnostics.append(Diagnostic(CONFIG_NAME, 1, 1, "error", "no-config",
                                          f"no {CONFIG_NAME} in {config.root}: create one "
                                          "(see the sample project) or run from the project folder"))
    res.diagnostics.extend(_config_checks(config))
    post_paths = files if files is None else [p for p in files if p.suffix != ".toml"]
    res.collected = (collect(config, store, post_paths, check=True, progress=progress)
                     if post_paths != [] else Collected())
    res.files = len(res.collected.files)
    res.diagnostics.extend(res.collected.diagnostics)
    if files is None or any(p.suffix == ".toml" for p in files):
        _campaigns(config, store, files, res)
    published = store.posts.published_ids() if store is not None else set()
    now = now or _now()
    res.diagnostics.extend(_cross_file(config, res, published, now))
    res.diagnostics.sort(key=lambda d: (d.path, d.line, d.column))
    return res


_CONFIG_KEYS = {
    "project": ("name", "timezone", "lang", "posts", "schedules", "media", "state", "late_limit"),
    "platforms.x": ("enabled", "api_url", "timeout"),
    "platforms.bluesky": ("enabled", "pds_url", "handle", "image_budget", "timeout", "read_url"),
}
_SECRET_WORDS = ("password", "secret", "token", "consumer_key", "api_key")


def _config_checks(config: Config) -> list[Diagnostic]:
    """uprbuzz.toml: every bad value read_config met, typos, secrets, lazily parsed sections."""
    from uprbuzz.config import CONFIG_NAME, ConfigError

    out = [Diagnostic(CONFIG_NAME, e.line or 1, e.column or 1, "error", "config", e.message)
           for e in config.problems]
    for section, known in _CONFIG_KEYS.items():
        table: object = config.raw
        for part in section.split("."):
            table = table.get(part, {}) if isinstance(table, dict) else {}
        for key in table if isinstance(table, dict) else ():
            line, _ = config.locate(f"{section}.{key}")
            if any(w in key.lower() for w in _SECRET_WORDS):
                out.append(Diagnostic(CONFIG_NAME, line, 1, "error", "config-secret",
                                      f"'{key}' looks like a credential: never put it in "
                                      f"{CONFIG_NAME}; set it in an UPRBUZZ_* environment variable"))
            elif key not in known:
                from uprbuzz.sources.posts.post_fields import did_you_mean

                out.append(Diagnostic(CONFIG_NAME, line, 1, "warning", "config-unknown-key",
                                      f"unknown key '{key}' in [{section}]"
                                      f"{did_you_mean(key, known)}"))
    from uprbuzz.checks.budget import Budget

    try:
        Budget.from_config(config)
    except ConfigError as e:
        out.append(_at_key(config, "budget", e.message))
    if config.feeds:  # parsed lazily by their modules: only check sees a mistake before a poll
        out.extend(_feed_checks(config))
    if config.brand:
        from uprbuzz.cards.brand import BrandError, load_brand

        try:
            load_brand(config)
        except BrandError as e:
            out.append(_at_key(config, "brand", str(e)))
    return out


def _at_key(config: Config, section: str, message: str, code: str = "config") -> Diagnostic:
    """A section's error at the key it names (``'key'`` in the message), else at its header."""
    import re

    from uprbuzz.config import CONFIG_NAME

    line, col = config.locate(section)
    for name in re.findall(r"'([\w-]+)'|\b([\w-]+) =", message):
        key = name[0] or name[1]
        if f"{section}.{key}" in config.locations:
            line, col = config.locate(f"{section}.{key}")
            break
    return Diagnostic(CONFIG_NAME, line, col, "error", code, message)


def _feed_checks(config: Config) -> list[Diagnostic]:
    """``[[feeds]]``: what feed_configs refuses, and each card's template and field names."""
    import re

    from uprbuzz.checks.card_fields import field_problem
    from uprbuzz.config import ConfigError
    from uprbuzz.sources.feeds.feed_items import feed_configs

    try:
        feeds = feed_configs(config)
    except ConfigError as e:
        m = re.search(r"\[\[feeds\]\] #(\d+)", e.message)
        return [_at_key(config, f"feeds.{int(m.group(1)) - 1}" if m else "feeds", e.message)]
    return [_at_key(config, f"feeds.{i}", f"[[feeds]] {feed.name}: card: {msg}", "card")
            for i, feed in enumerate(feeds)
            if feed.card is not None and (msg := field_problem(dict(feed.card)))]


def _now() -> datetime:
    from uprbuzz.clock import default_clock

    return default_clock().now()


def _campaigns(config: Config, store: Store | None, paths: list[Path] | None,
               res: CheckResult) -> None:
    if paths is None and not (config.root / config.schedules_dir).is_dir():
        return  # no campaigns: do not even import their modules (warm path)
    from uprbuzz.sources.campaigns.campaign_posts import load_campaign_file, load_campaigns

    if paths is None:
        loaded = load_campaigns(config, store)
        res.files += len(list((config.root / config.schedules_dir).glob("*.toml")))
    else:
        from uprbuzz.model import Loaded

        loaded = Loaded()
        for p in paths:
            if p.suffix == ".toml" and p.name != "uprbuzz.toml":
                loaded.extend(load_campaign_file(p, config))
                res.files += 1
    res.diagnostics.extend(loaded.diagnostics)
    seen = {(d.path, d.line, d.code) for d in res.diagnostics}
    results = PostResults(config, store)
    for post in loaded.posts:
        for d in results.diagnostics(results.get(post, check=True)):
            # one message per problem, not one per occurrence of a recurring post
            if (d.path, d.line, d.code) not in seen:
                seen.add((d.path, d.line, d.code))
                res.diagnostics.append(d)
    results.save()
    res.extra_posts = list(loaded.posts)


def _cross_file(config: Config, res: CheckResult, published: set[str],
                now: datetime) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    first: dict[str, object] = {}
    for f in res.collected.files:
        meta = f.meta
        pid = meta.get("id")
        if pid is None:
            continue
        if pid in first:
            line, col = _key_loc(f, "id")
            out.append(Diagnostic(f.rel, line, col, "error", "duplicate-id",
                                  f"id '{pid}' is already used by {_where(first[pid])}; ids "
                                  "must be unique (set 'id:' or rename the file)"))
        else:
            first[pid] = f
        if meta.get("status") == "approved" and meta.get("at") and pid not in published:
            at = datetime.fromisoformat(meta["at"])
            if at + config.late_limit < now:
                line, col = _key_loc(f, "at")
                out.append(Diagnostic(f.rel, line, col, "error", "missed",
                                      _missed_msg(config, at, now)))
    for post in res.extra_posts:
        if post.id in first and post.source is not None:
            out.append(Diagnostic.at(post.source, "error", "duplicate-id",
                                     f"id '{post.id}' is already used by {_where(first[post.id])}"))
    return out


def _where(f: object) -> str:
    return f"{f.rel}:{_key_loc(f, 'id')[0]}"  # type: ignore[attr-defined]


def _missed_msg(config: Config, at: datetime, now: datetime) -> str:
    local = at.astimezone(config.zone)
    late = now - at
    ago = f"{late.days} days" if late >= timedelta(days=2) else f"{int(late.total_seconds() // 3600)} h"
    return (f"approved post was due {local:%Y-%m-%d %H:%M %Z} ({at.astimezone(UTC):%H:%M} "
            f"UTC), {ago} ago, and was never published; past the late limit "
            f"({int(config.late_limit.total_seconds() // 60)} min) it will not go out: "
            "move 'at' or set status: draft")


def _key_loc(f: object, key: str) -> tuple[int, int]:
    """Line and column of a front-matter key (recorded when the file was parsed)."""
    from uprbuzz.sources.posts.collect import FileResult

    assert isinstance(f, FileResult)
    locs = f.meta.get("keys") or {}
    if key in locs:
        line, col = locs[key]
        return int(line), int(col)
    return 1, 1
