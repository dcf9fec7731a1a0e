"""Project configuration (``uprbuzz.toml``) and secrets (environment only).

Secrets never live in the config file: they come from ``UPRBUZZ_*`` environment variables and
are wrapped in :class:`Secret`, whose ``repr``/``str`` never show the value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CONFIG_NAME = "uprbuzz.toml"


class ConfigError(Exception):
    """A problem in uprbuzz.toml a user can fix; carries path and line when known."""

    def __init__(self, message: str, path: str = CONFIG_NAME, line: int = 1, column: int = 1):
        super().__init__(f"{path}:{line}:{column}: error: {message}")
        self.message, self.path, self.line, self.column = message, path, line, column


class Secret:
    """A credential. Printing, logging or repr-ing it shows only ``'**********'``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def parse_duration(value: str | int | float) -> timedelta:
    """'30m', '2h', '45s', '1d' or a number of seconds."""
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    s = value.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if s and s[-1] in units:
        return timedelta(seconds=float(s[:-1]) * units[s[-1]])
    return timedelta(seconds=float(s))


@dataclass(frozen=True)
class XConfig:
    enabled: bool = True
    api_url: str | None = None  # loopback stand-in, e.g. http://127.0.0.1:8089; None = api.x.com
    consumer_key: Secret | None = None
    consumer_secret: Secret | None = None
    access_token: Secret | None = None
    access_secret: Secret | None = None
    timeout: float = 30.0

    @property
    def has_credentials(self) -> bool:
        return all((self.consumer_key, self.consumer_secret, self.access_token, self.access_secret))


@dataclass(frozen=True)
class BlueskyConfig:
    enabled: bool = True
    pds_url: str = "https://bsky.social"
    handle: str | None = None
    password: Secret | None = None  # an app password
    image_budget: int = 1_000_000
    timeout: float = 30.0

    @property
    def has_credentials(self) -> bool:
        return bool(self.handle and self.password)


@dataclass(frozen=True)
class Config:
    root: Path
    name: str = "uprbuzz"
    timezone: str = "UTC"
    lang: str = "en"
    posts_dir: str = "posts"
    schedules_dir: str = "schedules"
    media_dir: str = "media"
    state: str = ".uprbuzz/state.sqlite"
    late_limit: timedelta = timedelta(minutes=30)
    x: XConfig = field(default_factory=XConfig)
    bluesky: BlueskyConfig = field(default_factory=BlueskyConfig)
    # Sections owned by later features, kept raw here and parsed by their modules.
    budget: Mapping[str, Any] = field(default_factory=dict)
    brand: Mapping[str, Any] = field(default_factory=dict)
    feeds: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def platforms(self) -> tuple[str, ...]:
        """Configured (enabled) platforms, the default for posts without ``platforms:``."""
        return tuple(p for p, c in (("x", self.x), ("bluesky", self.bluesky)) if c.enabled)

    @property
    def state_path(self) -> Path:
        return (self.root / self.state).resolve()

    def path(self, rel: str) -> Path:
        return self.root / rel


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    v = env.get(name)
    return Secret(v) if v else None


def find_root(start: Path | None = None) -> Path:
    """The nearest folder (upwards) holding uprbuzz.toml; else the start folder."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / CONFIG_NAME).is_file():
            return p
    return here


def load_config(root: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read ``uprbuzz.toml`` under ``root`` (searched upwards from cwd) and the environment."""
    env = os.environ if env is None else env
    root = Path(env["UPRBUZZ_ROOT"]) if root is None and env.get("UPRBUZZ_ROOT") else root
    root = find_root(root)
    path = root / CONFIG_NAME
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            line = getattr(e, "lineno", None) or _line_from_msg(str(e))
            raise ConfigError(f"TOML syntax error: {e}", str(path.relative_to(root)), line) from e
    proj = data.get("project", {})
    plat = data.get("platforms", {})
    xr, br = plat.get("x", {}), plat.get("bluesky", {})
    tz = env.get("UPRBUZZ_TIMEZONE") or proj.get("timezone", "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(f"unknown time zone {tz!r} in [project] timezone") from e
    x = XConfig(
        enabled=bool(xr.get("enabled", True)),
        api_url=env.get("UPRBUZZ_X_API_URL") or xr.get("api_url"),
        consumer_key=_secret(env, "UPRBUZZ_X_CONSUMER_KEY"),
        consumer_secret=_secret(env, "UPRBUZZ_X_CONSUMER_SECRET"),
        access_token=_secret(env, "UPRBUZZ_X_ACCESS_TOKEN"),
        access_secret=_secret(env, "UPRBUZZ_X_ACCESS_SECRET"),
        timeout=float(xr.get("timeout", 30.0)),
    )
    bs = BlueskyConfig(
        enabled=bool(br.get("enabled", True)),
        pds_url=env.get("UPRBUZZ_BLUESKY_PDS") or br.get("pds_url", "https://bsky.social"),
        handle=env.get("UPRBUZZ_BLUESKY_HANDLE") or br.get("handle"),
        password=_secret(env, "UPRBUZZ_BLUESKY_PASSWORD"),
        image_budget=int(br.get("image_budget", 1_000_000)),
        timeout=float(br.get("timeout", 30.0)),
    )
    return Config(
        root=root,
        name=proj.get("name", root.name),
        timezone=tz,
        lang=proj.get("lang", "en"),
        posts_dir=proj.get("posts", "posts"),
        schedules_dir=proj.get("schedules", "schedules"),
        media_dir=proj.get("media", "media"),
        state=env.get("UPRBUZZ_STATE") or proj.get("state", ".uprbuzz/state.sqlite"),
        late_limit=parse_duration(proj.get("late_limit", "30m")),
        x=x,
        bluesky=bs,
        budget=data.get("budget", {}),
        brand=data.get("brand", {}),
        feeds=tuple(data.get("feeds", ())),
        raw=data,
    )


def _line_from_msg(msg: str) -> int:
    import re

    m = re.search(r"line (\d+)", msg)
    return int(m.group(1)) if m else 1
