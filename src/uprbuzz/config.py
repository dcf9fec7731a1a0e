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

from uprbuzz.errors import UprbuzzError

CONFIG_NAME = "uprbuzz.toml"


class ConfigError(UprbuzzError):
    """A problem in uprbuzz.toml a user can fix, at ``uprbuzz.toml:LINE:COL`` when known.

    ``problems`` holds every problem found in one read (this error is the first of them), so
    ``check`` can report them all and other commands can say how many more there are."""

    code = "config"

    def __init__(self, message: str, path: str = CONFIG_NAME, line: int = 1, column: int = 1,
                 problems: tuple[ConfigError, ...] = ()) -> None:
        super().__init__(message, path, line, column)
        self.problems: tuple[ConfigError, ...] = problems or (self,)

    def __str__(self) -> str:
        more = len(self.problems) - 1
        tail = f" (and {more} more problem{'s' * (more != 1)}: run `uprbuzz check`)" if more else ""
        return f"{self.where}: error: {self.message}{tail}"


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


DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(state: str) -> bool:
    """True when ``state`` names a PostgreSQL database (a shared ledger), not a SQLite file."""
    return state.strip().lower().startswith(DATABASE_SCHEMES)


def parse_duration(value: str | int | float) -> timedelta:
    """'30m', '2h', '45s', '1d' or a number of seconds; ValueError with a readable message."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a duration such as \"30m\", \"2h\" or \"45s\", not {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        s = value.strip().lower()
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        try:
            seconds = (float(s[:-1]) * units[s[-1]]) if s and s[-1] in units else float(s)
        except ValueError:
            raise ValueError(f"expected a duration such as \"30m\", \"2h\" or \"45s\", "
                             f"not {value!r}") from None
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"a duration cannot be negative ({value!r})")
    return timedelta(seconds=seconds)


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
    image_budget: int | None = None  # bytes per image; None: the platform's default (platforms/limits.py)
    timeout: float = 30.0
    # where engagement is read (app.bsky.feed.getPosts is an AppView method, not the PDS's)
    read_url: str = "https://public.api.bsky.app"

    @property
    def has_credentials(self) -> bool:
        return bool(self.handle and self.password)


VISIBILITIES = ("public", "unlisted", "private", "direct")


@dataclass(frozen=True)
class MastodonConfig:
    """One Mastodon account: its instance and a bearer token (``UPRBUZZ_<NAME>_ACCESS_TOKEN``)."""

    enabled: bool = True
    api_url: str = ""  # the instance, e.g. https://mastodon.social (or the sandbox stand-in)
    access_token: Secret | None = None
    visibility: str = "public"  # public | unlisted | private | direct, for every post
    timeout: float = 30.0

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_url and self.access_token)


Account = XConfig | BlueskyConfig | MastodonConfig
PLATFORM_NAMES = ("x", "bluesky", "mastodon")  # as model.PLATFORMS (config imports no model)


@dataclass(frozen=True)
class Channel:
    """One account on one platform: what posts are routed to, and what the ledger's lanes
    (post × channel × part) are named after. ``[platforms.x]`` / ``[platforms.bluesky]`` are
    the channels named ``x`` and ``bluesky``."""

    name: str
    platform: str  # x | bluesky | mastodon
    account: Account
    langs: tuple[str, ...] = ()  # languages it publishes (BCP 47 primary tags match); (): any
    max_characters: int | None = None  # Mastodon: the instance's limit, for `check`
    engagement: bool | None = None  # read its engagement back; None: as [engagement] says

    @property
    def enabled(self) -> bool:
        return self.account.enabled

    def speaks(self, lang: str) -> bool:
        return not self.langs or lang in self.langs or lang.split("-")[0] in self.langs


def env_prefix(channel: str) -> str:
    """``main-es`` -> ``UPRBUZZ_MAIN_ES_`` (the credentials' environment variables)."""
    import re

    return "UPRBUZZ_" + re.sub(r"[^A-Z0-9]", "_", channel.upper()) + "_"


DEFAULT_AFTER = ("1h", "24h", "7d")


@dataclass(frozen=True)
class EngagementConfig:
    """``[engagement]``: when snapshots are taken after each publication, and whether X's
    (paid) reads are on for every X channel (a channel's own ``engagement`` key wins)."""

    enabled: bool = True
    after: tuple[tuple[str, timedelta], ...] = tuple((a, parse_duration(a)) for a in DEFAULT_AFTER)
    x: bool = False

    def channels(self, config: Config) -> tuple[Channel, ...]:
        """The enabled channels whose engagement is read."""
        if not self.enabled:
            return ()
        return tuple(c for c in config.enabled_channels
                     if (c.engagement if c.engagement is not None
                         else (self.x if c.platform == "x" else True)))


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
    x: XConfig = field(default_factory=XConfig)  # the channel named x (legacy [platforms.x])
    bluesky: BlueskyConfig = field(default_factory=BlueskyConfig)  # the channel named bluesky
    # [channels.NAME] tables (and any [platforms.*] written beside them); None: the legacy
    # channels x and bluesky, built from the two fields above (so replace(config, x=…) works).
    declared_channels: tuple[Channel, ...] | None = None
    # Sections owned by later features, kept raw here and parsed by their modules.
    budget: Mapping[str, Any] = field(default_factory=dict)
    brand: Mapping[str, Any] = field(default_factory=dict)
    feeds: tuple[Mapping[str, Any], ...] = ()
    engagement: EngagementConfig = field(default_factory=lambda: EngagementConfig())
    raw: Mapping[str, Any] = field(default_factory=dict)
    # Problems read_config met (each at its place); load_config refuses a Config with any.
    problems: tuple[ConfigError, ...] = ()
    locations: Mapping[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def platforms(self) -> tuple[str, ...]:
        """Platforms with an enabled channel, the default for posts without ``platforms:``."""
        on = {c.platform for c in self.enabled_channels}
        return tuple(p for p in PLATFORM_NAMES if p in on)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """Every channel, enabled or not, in file order."""
        if self.declared_channels is not None:
            return self.declared_channels
        return (Channel("x", "x", self.x), Channel("bluesky", "bluesky", self.bluesky))

    @property
    def enabled_channels(self) -> tuple[Channel, ...]:
        return tuple(c for c in self.channels if c.enabled)

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def pick(self, names: Any) -> tuple[Channel, ...]:
        """Enabled channels by name, a platform's name standing for all its channels (how a
        live session or a feed names where it posts); ``None`` or empty: all of them."""
        if not names:
            return self.enabled_channels
        out: list[Channel] = []
        for n in names:
            for c in self.enabled_channels:
                if (c.name == n or (c.platform == n and self.channel(n) is None)) and c not in out:
                    out.append(c)
        return tuple(out)

    def route(self, post: Any) -> tuple[Channel, ...]:
        """The enabled channels a Post goes to, in file order: those it names (``channels:``);
        else, on each platform, the channels whose ``langs`` include its language, else that
        platform's channels without ``langs``, else all of that platform's; always within its
        ``platforms`` and skipping the channels its overrides skip."""
        cands = [c for c in self.enabled_channels if c.platform in post.platforms]
        if post.channels:
            chosen = [c for c in cands if c.name in post.channels]
        else:
            lang = post.langs[0] if post.langs else self.lang
            picked: set[str] = set()
            for platform in dict.fromkeys(c.platform for c in cands):
                mine = [c for c in cands if c.platform == platform]
                picked.update(c.name for c in ([c for c in mine if c.langs and c.speaks(lang)]
                                               or [c for c in mine if not c.langs] or mine))
            chosen = [c for c in cands if c.name in picked]
        return tuple(c for c in chosen if post.parts_on(c.name, c.platform) is not None)

    @property
    def state_url(self) -> str | None:
        """The ``postgresql://`` URL when the ledger is in PostgreSQL, else None (SQLite)."""
        return self.state.strip() if is_database_url(self.state) else None

    @property
    def state_path(self) -> Path:
        """The SQLite ledger file. With a PostgreSQL ledger there is none: this is then a path
        under ``.uprbuzz/`` that never exists, beside this machine's lock files."""
        if self.state_url:
            return (self.root / ".uprbuzz" / "state.postgresql").resolve()
        return (self.root / self.state).resolve()

    def path(self, rel: str) -> Path:
        return self.root / rel

    def locate(self, key: str) -> tuple[int, int]:
        """(line, column) of ``"section.key"`` (or a section) in uprbuzz.toml; (1, 1) unknown."""
        return self.locations.get(key, (1, 1))


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
    """Read ``uprbuzz.toml`` under ``root`` (searched upwards from cwd) and the environment.

    Raises ConfigError (the first problem, with ``problems`` holding all) on any bad value."""
    config = read_config(root, env)
    if config.problems:
        first = config.problems[0]
        raise ConfigError(first.message, first.path or CONFIG_NAME, first.line or 1,
                          first.column or 1, problems=config.problems)
    return config


def read_config(root: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Like load_config, but a bad value falls back to its default and is listed in
    ``Config.problems`` (at its line and column) instead of raising: ``check`` reports every
    problem at once. A TOML syntax error still raises (nothing can be read past it)."""
    env = os.environ if env is None else env
    root = Path(env["UPRBUZZ_ROOT"]) if root is None and env.get("UPRBUZZ_ROOT") else root
    root = find_root(root)
    path = root / CONFIG_NAME
    data: dict[str, Any] = {}
    text = ""
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except UnicodeDecodeError as e:
            raise ConfigError(f"not UTF-8 text (byte {e.start}): save it as UTF-8") from e
        except OSError as e:
            raise ConfigError(f"cannot read the file: {e.strerror}") from e
        except tomllib.TOMLDecodeError as e:
            line, col = _pos_from_msg(str(e))
            raise ConfigError(f"TOML syntax error: {e}", CONFIG_NAME, line, col) from e
    r = _Reader(data, locate_keys(text))
    tz = env.get("UPRBUZZ_TIMEZONE") or r.get("project", "timezone", "UTC", _zone)
    x = XConfig(
        enabled=r.get("platforms.x", "enabled", True, _bool),
        api_url=env.get("UPRBUZZ_X_API_URL") or r.get("platforms.x", "api_url", None, _url),
        consumer_key=_secret(env, "UPRBUZZ_X_CONSUMER_KEY"),
        consumer_secret=_secret(env, "UPRBUZZ_X_CONSUMER_SECRET"),
        access_token=_secret(env, "UPRBUZZ_X_ACCESS_TOKEN"),
        access_secret=_secret(env, "UPRBUZZ_X_ACCESS_SECRET"),
        timeout=r.get("platforms.x", "timeout", 30.0, _seconds),
    )
    bs = BlueskyConfig(
        enabled=r.get("platforms.bluesky", "enabled", True, _bool),
        pds_url=env.get("UPRBUZZ_BLUESKY_PDS")
        or r.get("platforms.bluesky", "pds_url", "https://bsky.social", _url),
        handle=env.get("UPRBUZZ_BLUESKY_HANDLE") or r.get("platforms.bluesky", "handle", None, _str),
        password=_secret(env, "UPRBUZZ_BLUESKY_PASSWORD"),
        image_budget=r.get("platforms.bluesky", "image_budget", None, _bytes),
        timeout=r.get("platforms.bluesky", "timeout", 30.0, _seconds),
        read_url=env.get("UPRBUZZ_BLUESKY_READ_URL")
        or r.get("platforms.bluesky", "read_url", BlueskyConfig.read_url, _url),
    )
    channels = _channels(r, env, x, bs, data)
    return Config(
        root=root,
        name=r.get("project", "name", root.name, _str),
        timezone=tz,
        lang=r.get("project", "lang", "en", _str),
        posts_dir=r.get("project", "posts", "posts", _str),
        schedules_dir=r.get("project", "schedules", "schedules", _str),
        media_dir=r.get("project", "media", "media", _str),
        state=env.get("UPRBUZZ_STATE") or r.get("project", "state", ".uprbuzz/state.sqlite", _state),
        late_limit=r.get("project", "late_limit", timedelta(minutes=30), parse_duration),
        x=x,
        bluesky=bs,
        declared_channels=channels,
        budget=r.table("budget"),
        brand=r.table("brand"),
        feeds=tuple(f for f in data.get("feeds", ()) if isinstance(f, Mapping)),
        engagement=_engagement(r),
        raw=data,
        problems=tuple(sorted(r.problems, key=lambda e: (e.line or 0, e.column or 0))),
        locations=r.locs,
    )


# --- channels ---------------------------------------------------------------------------------

_CHANNEL_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"
CHANNEL_KEYS = {
    "x": ("platform", "enabled", "url", "langs", "timeout", "engagement"),
    "bluesky": ("platform", "enabled", "url", "langs", "timeout", "handle", "image_budget",
                "read_url", "engagement"),
    "mastodon": ("platform", "enabled", "url", "langs", "timeout", "visibility", "max_characters",
                 "engagement"),
}


def _engagement(r: _Reader) -> EngagementConfig:
    """``[engagement]``: ``after`` (delays such as "1h", "24h", "7d"), ``x``, ``enabled``."""
    sec = "engagement"
    for key in r.table(sec):
        if key not in ("after", "x", "enabled"):
            r.problem(sec, key, f"unknown key '{key}' in [engagement] (known: after, x, enabled)")
    return EngagementConfig(enabled=r.get(sec, "enabled", True, _bool),
                            after=r.get(sec, "after", EngagementConfig.after, _stages),
                            x=r.get(sec, "x", False, _bool))


def _stages(v: Any) -> tuple[tuple[str, timedelta], ...]:
    if not isinstance(v, list) or not v or not all(isinstance(i, str) for i in v):
        raise TypeError(f"expected a list of delays such as [\"1h\", \"24h\", \"7d\"], not {v!r}")
    out = sorted(((i.strip().lower(), parse_duration(i)) for i in v), key=lambda s: s[1])
    for (a, da), (b, db) in zip(out, out[1:], strict=False):
        if da == db:
            raise ValueError(f"{a!r} and {b!r} are the same delay")
    if out[0][1] <= timedelta(0):
        raise ValueError("a snapshot delay must be greater than 0")
    return tuple(out)


def _channels(r: _Reader, env: Mapping[str, str], x: XConfig, bs: BlueskyConfig,
              data: Mapping[str, Any]) -> tuple[Channel, ...] | None:
    """``[channels.NAME]`` tables, plus the legacy ``[platforms.*]`` channels written out beside
    them; None when there is no ``[channels]`` (today's projects: the channels x and bluesky)."""
    import re

    tables = r.table("channels")
    if not tables:
        return None
    plat = data.get("platforms", {}) if isinstance(data.get("platforms"), Mapping) else {}
    out: list[Channel] = []
    for name, legacy in (("x", x), ("bluesky", bs)):
        if name in plat:
            out.append(Channel(name, name, legacy))
    for name, t in tables.items():
        sec = f"channels.{name}"
        if not isinstance(t, Mapping):
            r.problem("channels", None, f"[channels.{name}] must be a table of settings")
            continue
        if not re.match(_CHANNEL_NAME, name):
            r.problem(sec, None, f"channel name {name!r}: use lower-case letters, digits, - or _ "
                      "(it names the ledger's lanes and the UPRBUZZ_<NAME>_* variables)")
            continue
        if any(c.name == name for c in out):
            r.problem(sec, None, f"channel {name!r} is also configured as [platforms.{name}]: "
                      "keep one of the two")
            continue
        platform = r.get(sec, "platform", None, _str)
        if platform not in CHANNEL_KEYS:
            r.problem(sec, "platform" if "platform" in t else None,
                      f"[channels.{name}] needs platform = \"x\", \"bluesky\" or \"mastodon\"")
            continue
        for key in t:
            if key not in CHANNEL_KEYS[platform]:
                import difflib

                close = difflib.get_close_matches(key, CHANNEL_KEYS[platform], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                r.problem(sec, key, f"unknown key '{key}' for a {platform} channel{hint}")
        pre = env_prefix(name)
        enabled = r.get(sec, "enabled", True, _bool)
        timeout = r.get(sec, "timeout", 30.0, _seconds)
        url = r.get(sec, "url", None, _url)
        langs = tuple(r.get(sec, "langs", [], _langs))
        acct: Account
        if platform == "x":
            acct = XConfig(enabled=enabled, api_url=env.get(pre + "API_URL") or url,
                           consumer_key=_secret(env, pre + "CONSUMER_KEY"),
                           consumer_secret=_secret(env, pre + "CONSUMER_SECRET"),
                           access_token=_secret(env, pre + "ACCESS_TOKEN"),
                           access_secret=_secret(env, pre + "ACCESS_SECRET"), timeout=timeout)
        elif platform == "bluesky":
            acct = BlueskyConfig(enabled=enabled,
                                 pds_url=env.get(pre + "PDS") or url or "https://bsky.social",
                                 handle=env.get(pre + "HANDLE") or r.get(sec, "handle", None, _str),
                                 password=_secret(env, pre + "PASSWORD"),
                                 image_budget=r.get(sec, "image_budget", None, _bytes),
                                 timeout=timeout,
                                 read_url=env.get(pre + "READ_URL")
                                 or r.get(sec, "read_url", BlueskyConfig.read_url, _url))
        else:
            api = env.get(pre + "API_URL") or url
            if not api and enabled:
                r.problem(sec, None, f"[channels.{name}] needs url = \"https://…\": the "
                          "Mastodon instance (or set " + pre + "API_URL)")
            acct = MastodonConfig(enabled=enabled, api_url=api or "",
                                  access_token=_secret(env, pre + "ACCESS_TOKEN"),
                                  visibility=r.get(sec, "visibility", "public", _visibility),
                                  timeout=timeout)
        out.append(Channel(name, platform, acct, langs,
                           r.get(sec, "max_characters", None, _positive_int),
                           r.get(sec, "engagement", None, _bool)))
    return tuple(out)


def _langs(v: Any) -> list[str]:
    import re

    items = [v] if isinstance(v, str) else v
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise TypeError(f"expected a list of language tags such as [\"es\"], not {v!r}")
    for i in items:
        if not re.match(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", i):
            raise ValueError(f"{i!r} is not a BCP 47 language tag (e.g. en, es, fr-CH)")
    return items


def _visibility(v: Any) -> str:
    v = _str(v)
    if v not in VISIBILITIES:
        raise ValueError(f"expected one of {', '.join(VISIBILITIES)}, not {v!r}")
    return v


def _positive_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"expected a whole number greater than 0, not {v!r}")
    return v


# --- reading values with their place in the file ----------------------------------------------

Where = tuple[int, int]  # (line, column) of a value in uprbuzz.toml, 1-based


class _Reader:
    def __init__(self, data: Mapping[str, Any], locs: Mapping[str, Where]) -> None:
        self.data, self.locs = data, locs
        self.problems: list[ConfigError] = []

    def _table(self, section: str) -> Any:
        t: Any = self.data
        for part in section.split("."):
            t = t.get(part, {}) if isinstance(t, Mapping) else {}
        return t

    def table(self, section: str) -> Mapping[str, Any]:
        t = self._table(section)
        if isinstance(t, Mapping):
            return t
        self.problem(section, None, f"[{section}] must be a table of settings")
        return {}

    def problem(self, section: str, key: str | None, message: str) -> None:
        line, col = self.locs.get(f"{section}.{key}" if key else section, (1, 1))
        self.problems.append(ConfigError(message, CONFIG_NAME, line, col))

    def get(self, section: str, key: str, default: Any, conv: Any) -> Any:
        t = self._table(section)
        if not isinstance(t, Mapping):
            self.problem(section, None, f"[{section}] must be a table of settings")
            return default
        if key not in t:
            return default
        try:
            return conv(t[key])
        except (TypeError, ValueError) as e:
            self.problem(section, key, f"[{section}] {key}: {e}")
            return default


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected text in quotes, not {v!r}")
    return v


def _state(v: Any) -> str:
    s = _str(v)
    if "://" in s and not is_database_url(s):
        raise ValueError(f"{s.split('://')[0]}:// is not a ledger uprbuzz can use: give a SQLite "
                         "file path or a postgresql:// URL")
    return s


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"expected true or false, not {v!r}")
    return v


def _url(v: Any) -> str:
    v = _str(v)
    if not v.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s):// URL, not {v!r}")
    return v.rstrip("/")


def _seconds(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ValueError(f"expected a number of seconds greater than 0, such as 30, not {v!r}")
    return float(v)


def _bytes(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"expected a whole number of bytes, such as 1000000 (no unit), not {v!r}")
    return v


def _zone(v: Any) -> str:
    v = _str(v)
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        import difflib
        import zoneinfo

        close = difflib.get_close_matches(v, sorted(zoneinfo.available_timezones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (an IANA name such as 'Europe/Geneva')"
        raise ValueError(f"unknown time zone {v!r}{hint}") from None
    return v


def locate_keys(text: str) -> dict[str, Where]:
    """Where each table and key of a TOML text sits: ``{"project.late_limit": (4, 14), ...}``
    (the column of the value), tables as ``{"project": (line, 1)}``, array tables numbered
    (``feeds.0``). A small scanner rather than a second parser: tomllib has already validated
    the text, we only need positions for messages."""
    import re

    out: dict[str, Where] = {}
    table = ""
    counts: dict[str, int] = {}
    in_multiline: str | None = None
    head = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    pair = re.compile(r"^(\s*)((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
                      r"(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=\s*")
    for n, line in enumerate(text.splitlines(), 1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if m := head.match(line):
            name = ".".join(k.strip().strip("\"'") for k in m.group(2).split("."))
            if m.group(1) == "[[":
                i = counts.get(name, 0)
                counts[name] = i + 1
                out.setdefault(name, (n, 1))
                name = f"{name}.{i}"
            table = name
            out[name] = (n, 1)
            continue
        if m := pair.match(line):
            key = ".".join(k.strip().strip("\"'") for k in re.split(r"\.(?=(?:[^\"']|\"[^\"]*\"|'[^']*')*$)", m.group(2)))
            out[f"{table}.{key}" if table else key] = (n, m.end() + 1)
            rest = line[m.end():]
            for q in ('"""', "'''"):
                if rest.count(q) % 2 == 1:
                    in_multiline = q
    return out


def _pos_from_msg(msg: str) -> Where:
    import re

    m = re.search(r"line (\d+)(?:, column (\d+))?", msg)
    return (int(m.group(1)), int(m.group(2) or 1)) if m else (1, 1)
