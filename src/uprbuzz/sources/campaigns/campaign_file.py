"""A campaign file's TOML: where each key sits, where its diagnostics go, and the
``[campaign]`` table checked into a :class:`Campaign` (window, zone, platforms, status, ...).

tomllib gives values, not positions, so :class:`KeyLines` finds a key's line in the text for
messages. The ``[[rule]]`` tables are checked in :mod:`uprbuzz.sources.campaigns.rule_table`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from uprbuzz.links import link_problem
from uprbuzz.model import PLATFORMS, Diagnostic, Loaded, Loc
from uprbuzz.sources.campaigns import campaign_rules as R

if TYPE_CHECKING:
    from uprbuzz.config import Config

CAMPAIGN_KEYS = ("name", "start", "end", "tz", "platforms", "channels", "status", "lang", "tags", "link",
                 "description")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")


class KeyLines:
    """Find the line of a key in a TOML file (tomllib gives values, not positions)."""

    _HDR = re.compile(r"^\s*\[(\[)?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.sections: list[tuple[str, int, int]] = []  # (name#index, first line, last line)
        counts: dict[str, int] = {}
        cur, start = "", 1
        for i, ln in enumerate(self.lines, 1):
            m = self._HDR.match(ln)
            if m:
                self.sections.append((cur, start, i - 1))
                name = m.group(2)
                if m.group(1):
                    idx = counts.get(name, 0)
                    counts[name] = idx + 1
                    name = f"{name}#{idx}"
                cur, start = name, i
        self.sections.append((cur, start, len(self.lines)))

    def line(self, section: str, key: str | None = None) -> int:
        for name, a, b in self.sections:
            if name != section:
                continue
            if key:
                pat = re.compile(rf"^\s*{re.escape(key)}\s*[.=]")
                for i in range(a, b + 1):
                    if pat.match(self.lines[i - 1]):
                        return i
            return max(a, 1)
        return 1


@dataclass
class CampaignFile:
    """One campaign file: its diagnostics and occurrence Posts collect in ``out``."""

    path: str  # relative to the project root, for messages
    lines: KeyLines
    out: Loaded = field(default_factory=Loaded)

    def diag(self, section: str, key: str | None, severity: str, code: str, msg: str) -> None:
        self.out.diagnostics.append(Diagnostic(
            self.path, self.lines.line(section, key), 1, severity, code, msg))  # type: ignore[arg-type]

    def loc(self, section: str, key: str | None = None) -> Loc:
        return Loc(self.path, self.lines.line(section, key), 1)


def unknown_keys(f: CampaignFile, section: str, table: Mapping[str, Any],
                 known: tuple[str, ...], what: str) -> None:
    for k in table:
        if k not in known:
            near = difflib.get_close_matches(k, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
            f.diag(section, k, "error", "campaign-key", f"unknown key {k!r} in {what}{hint}")


def as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v).strip())


def str_list(v: Any) -> tuple[str, ...]:
    return (v,) if isinstance(v, str) else tuple(str(x) for x in v)


@dataclass
class Campaign:
    name: str
    start: date
    end: date | None
    tz: Any
    platforms: tuple[str, ...]
    status: str
    langs: tuple[str, ...]
    tags: tuple[str, ...]
    link: str | None
    channels: tuple[str, ...] = ()  # by name (uprbuzz.toml [channels]); (): routed by language


def read_campaign(f: CampaignFile, data: Mapping[str, Any], config: Config,
                  stem: str) -> Campaign | None:
    """The checked ``[campaign]`` table, or None (with a diagnostic) when it is unusable."""
    c = data["campaign"]
    if not isinstance(c, dict):
        f.diag("", "campaign", "error", "campaign-key", "[campaign] must be a table")
        return None
    top_known = ("campaign", "rule")
    unknown_keys(f, "", data, top_known, "the file")
    unknown_keys(f, "campaign", c, CAMPAIGN_KEYS, "[campaign]")

    def bad(key: str | None, msg: str) -> None:
        f.diag("campaign", key, "error", "campaign-value", msg)

    name = str(c.get("name", stem))
    if not _NAME.match(name):
        bad("name", f"campaign name {name!r} must be lower-case letters, digits, - or _")
        return None
    try:
        tz = R.zone(str(c.get("tz", config.timezone)))
    except R.RuleError as e:
        bad("tz", str(e))
        return None
    try:
        start = as_date(c["start"]) if "start" in c else None
        end = as_date(c["end"]) if "end" in c else None
    except ValueError as e:
        bad("start" if "start" in c else "end", f"window date is not a date: {e}")
        return None
    if start is None:
        bad(None, "[campaign] needs start = YYYY-MM-DD (the first day of the window)")
        return None
    if end is not None and end < start:
        bad("end", f"end ({end}) is before start ({start})")
        return None
    platforms = str_list(c.get("platforms", config.platforms))
    for p in platforms:
        if p not in PLATFORMS:
            bad("platforms", f"unknown platform {p!r}; use {', '.join(PLATFORMS)}")
            return None
    status = str(c.get("status", "draft"))
    if status not in ("draft", "approved"):
        bad("status", f"status must be draft or approved, not {status!r}")
        return None
    langs = str_list(c.get("lang", config.lang))
    channels = str_list(c.get("channels", ()))
    for ch in channels:
        if config.channel(ch) is None:
            known = ", ".join(x.name for x in config.channels)
            bad("channels", f"unknown channel {ch!r}; uprbuzz.toml has {known}")
            return None
    link = c.get("link")
    if link is not None and not isinstance(link, str):
        bad("link", f"link must be a web address in quotes (\"https://...\"), not {link!r}")
        return None
    if link and "{" not in link and (problem := link_problem(link)):
        bad("link", f"link {problem}")  # with placeholders: judged once rendered (rule_table)
        return None
    return Campaign(name, start, end, tz, platforms, status, langs,
                    str_list(c.get("tags", ())), link, channels)
