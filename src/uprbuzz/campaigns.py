"""Campaigns (``schedules/*.toml`` with a ``[campaign]`` table) -> occurrence Posts.

Every occurrence is an ordinary Post (origin "campaign") with a stable id
``<campaign>/<YYYY-MM-DD>``, or ``<campaign>/<YYYY-MM-DDTHHMM>`` when the campaign's rules can
fire more than once a day. Only the campaign window is expanded, so loading is cheap.
Files without a ``[campaign]`` table (e.g. live ``[session]`` files) are not ours: skipped silently.
See docs/campaigns.md for the format.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from uprbuzz import campaign_rules as R
from uprbuzz.model import PLATFORMS, Card, Diagnostic, Loc, Override, Part, Post
from uprbuzz.sources import Loaded

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store

CAMPAIGN_KEYS = ("name", "start", "end", "tz", "platforms", "status", "lang", "tags", "link",
                 "description")
RULE_KEYS = ("every", "dates", "time", "event", "event_tz", "text", "today", "messages", "pool",
             "order", "x", "bluesky", "card", "link", "tags", "platforms", "name")
VARIANT_KEYS = ("text", "today", "skip")
MESSAGE_KEYS = ("text", "x", "bluesky", "card", "link")
CARD_SPECIAL = ("template", "size", "alt")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")
_SPLIT = re.compile(r"^---\s*$", re.M)


class _Lines:
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
class _File:
    path: str  # relative to the project root, for messages
    lines: _Lines
    out: Loaded = field(default_factory=Loaded)

    def diag(self, section: str, key: str | None, severity: str, code: str, msg: str) -> None:
        self.out.diagnostics.append(Diagnostic(
            self.path, self.lines.line(section, key), 1, severity, code, msg))  # type: ignore[arg-type]

    def loc(self, section: str, key: str | None = None) -> Loc:
        return Loc(self.path, self.lines.line(section, key), 1)


def load_campaigns(config: "Config", store: "Store | None" = None) -> Loaded:
    """Occurrences of every campaign under ``schedules/``, with diagnostics (file:line)."""
    out = Loaded()
    folder = config.root / config.schedules_dir
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.toml")):
        out.extend(load_campaign_file(path, config))
    out.posts.sort(key=lambda p: (p.at, p.id))
    return out


def load_campaign_file(path: Path, config: "Config") -> Loaded:
    try:
        rel = str(path.relative_to(config.root))
    except ValueError:
        rel = str(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    f = _File(rel, _Lines(text))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+), column (\d+)", str(e))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        if "[campaign]" in text:  # a broken live session file is not ours to report
            f.out.diagnostics.append(Diagnostic(rel, line, col, "error", "campaign-toml",
                                                f"TOML syntax error: {e}"))
        return f.out
    if "campaign" not in data:
        return f.out
    try:
        _build(f, data, config, path.stem)
    except R.RuleError as e:  # anything not caught closer to its line
        f.diag("campaign", None, "error", "campaign-rule", str(e))
    return f.out


def _unknown(f: _File, section: str, table: Mapping[str, Any], known: tuple[str, ...],
             what: str) -> None:
    for k in table:
        if k not in known:
            near = difflib.get_close_matches(k, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
            f.diag(section, k, "error", "campaign-key", f"unknown key {k!r} in {what}{hint}")


def _as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v).strip())


def _as_event(v: Any, tz: Any) -> datetime:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=tz)
    s = str(v).strip().replace("T", " ")
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        raise R.RuleError(f"event = {v!r} is not a date and time; write \"2020-11-09 14:30\"") from None
    return d if d.tzinfo else d.replace(tzinfo=tz)


def _str_list(v: Any) -> tuple[str, ...]:
    return (v,) if isinstance(v, str) else tuple(str(x) for x in v)


@dataclass
class _Campaign:
    name: str
    start: date
    end: date | None
    tz: Any
    platforms: tuple[str, ...]
    status: str
    langs: tuple[str, ...]
    tags: tuple[str, ...]
    link: str | None


def _build(f: _File, data: Mapping[str, Any], config: "Config", stem: str) -> None:
    c = data["campaign"]
    if not isinstance(c, dict):
        f.diag("", "campaign", "error", "campaign-key", "[campaign] must be a table")
        return
    top_known = ("campaign", "rule")
    _unknown(f, "", data, top_known, "the file")
    _unknown(f, "campaign", c, CAMPAIGN_KEYS, "[campaign]")

    def bad(key: str, msg: str) -> None:
        f.diag("campaign", key, "error", "campaign-value", msg)

    name = str(c.get("name", stem))
    if not _NAME.match(name):
        bad("name", f"campaign name {name!r} must be lower-case letters, digits, - or _")
        return
    try:
        tz = R.zone(str(c.get("tz", config.timezone)))
    except R.RuleError as e:
        bad("tz", str(e))
        return
    try:
        start = _as_date(c["start"]) if "start" in c else None
        end = _as_date(c["end"]) if "end" in c else None
    except ValueError as e:
        bad("start" if "start" in c else "end", f"window date is not a date: {e}")
        return
    if start is None:
        bad(None, "[campaign] needs start = YYYY-MM-DD (the first day of the window)")  # type: ignore[arg-type]
        return
    if end is not None and end < start:
        bad("end", f"end ({end}) is before start ({start})")
        return
    platforms = _str_list(c.get("platforms", config.platforms))
    for p in platforms:
        if p not in PLATFORMS:
            bad("platforms", f"unknown platform {p!r}; use {', '.join(PLATFORMS)}")
            return
    status = str(c.get("status", "draft"))
    if status not in ("draft", "approved"):
        bad("status", f"status must be draft or approved, not {status!r}")
        return
    langs = _str_list(c.get("lang", config.lang))
    camp = _Campaign(name, start, end, tz, platforms, status, langs,
                     _str_list(c.get("tags", ())), c.get("link"))

    rules = data.get("rule", [])
    if isinstance(rules, dict):
        rules = [rules]
    if not rules:
        f.diag("campaign", None, "warning", "campaign-empty",
               f"campaign {name!r} has no [[rule]]: it makes no posts")
    slots = 0
    parsed = []
    for i, rule in enumerate(rules):
        sec = f"rule#{i}"
        try:
            pr = _parse_rule(f, sec, rule, camp, config)
        except R.RuleError as e:
            f.diag(sec, getattr(e, "key", None), "error", "campaign-rule", str(e))
            continue
        if pr is not None:
            parsed.append(pr)
            slots += pr.slots
    seen: dict[str, str] = {}
    for pr in parsed:
        for post in _expand(f, pr, camp, many=slots > 1):
            if post.id in seen:
                f.diag(pr.section, None, "error", "campaign-clash",
                       f"two rules of {name!r} post at the same time ({post.id}); "
                       "give them different times")
                continue
            seen[post.id] = pr.section
            f.out.posts.append(post)


def _err(key: str, msg: str) -> R.RuleError:
    e = R.RuleError(msg)
    e.key = key  # type: ignore[attr-defined]
    return e


def _keyed(key: str, fn: Any, *args: Any) -> Any:
    """Call ``fn``; a RuleError it raises is tagged with the key it is about (for its line)."""
    try:
        return fn(*args)
    except R.RuleError as e:
        if getattr(e, "key", None) is None:
            e.key = key  # type: ignore[attr-defined]
        raise


@dataclass
class _Rule:
    section: str
    loc: Loc
    days: frozenset[int] | None
    times: tuple[time, ...]
    dates: list[tuple[int | None, int, int]]
    event: datetime | None
    items: list[Mapping[str, Any]]  # each {text, x?, bluesky?, card?, link?}
    shuffled: bool
    today: str | None
    platforms: tuple[str, ...]
    tags: tuple[str, ...]
    card: Mapping[str, Any] | None
    link: str | None

    @property
    def slots(self) -> int:
        return len(self.times)


def _parse_rule(f: _File, sec: str, rule: Mapping[str, Any], camp: _Campaign,
                config: "Config") -> _Rule | None:
    if not isinstance(rule, dict):
        raise R.RuleError("each [[rule]] must be a table")
    _unknown(f, sec, rule, RULE_KEYS, "[[rule]]")
    for plat in PLATFORMS:
        if isinstance(rule.get(plat), dict):
            _unknown(f, sec, rule[plat], VARIANT_KEYS, f"[[rule]] {plat}")
        elif plat in rule:
            raise _err(plat, f"{plat} must be a table, e.g. {plat}.text = \"...\"")
    days, times, dates = None, (), []
    if "every" in rule and "dates" in rule:
        raise _err("dates", "a rule has either every = ... or dates = [...], not both")
    if "every" in rule:
        days, times = _keyed("every", R.parse_every, str(rule["every"]))
    elif "dates" in rule:
        dates = [_keyed("dates", R.parse_date_spec, d) for d in _str_list(rule["dates"])]
        if "time" not in rule:
            raise _err("dates", "dates = [...] needs time = \"HH:MM\"")
        times = (_keyed("time", R.parse_time, str(rule["time"])),)
    else:
        raise R.RuleError("a rule needs every = \"daily 09:00\" or dates = [\"12-10\"] with time")
    event = None
    if "event" in rule:
        ev_tz = _keyed("event_tz", R.zone, str(rule.get("event_tz", camp.tz.key)))
        event = _keyed("event", _as_event, rule["event"], ev_tz)
    kinds = [k for k in ("text", "messages", "pool") if k in rule]
    if len(kinds) != 1:
        raise R.RuleError("a rule needs exactly one of text = \"...\", messages = [...] "
                          "or pool = \"glob\"" + (f" (it has {', '.join(kinds)})" if kinds else ""))
    items: list[Mapping[str, Any]]
    if "text" in rule:
        items = [{k: rule[k] for k in ("text", "x", "bluesky") if k in rule}]
    elif "messages" in rule:
        items = []
        for m in rule["messages"]:
            if isinstance(m, str):
                items.append({"text": m})
            elif isinstance(m, dict) and "text" in m:
                _unknown(f, sec, m, MESSAGE_KEYS, "a message")
                items.append(m)
            else:
                raise _err("messages", "each of messages = [...] is a string or {text = \"...\"}")
        if not items:
            raise _err("messages", "messages = [] is empty")
    else:
        items = _keyed("pool", _load_pool, str(rule["pool"]), config)
    order = str(rule.get("order", "listed"))
    if order not in ("listed", "shuffled"):
        raise _err("order", f"order must be listed or shuffled, not {order!r}")
    platforms = _str_list(rule.get("platforms", camp.platforms))
    for p in platforms:
        if p not in PLATFORMS:
            raise _err("platforms", f"unknown platform {p!r} in platforms; use {', '.join(PLATFORMS)}")
    card = rule.get("card")
    if card is not None and (not isinstance(card, dict) or "template" not in card):
        raise _err("card", "card = {template = \"countdown\", ...fields} needs a template")
    for it in items:
        if not str(it["text"]).strip():
            raise _err(kinds[0], "a message text is empty")
    # Fail early (at the rule's line) on placeholders that could never fill.
    probe = R.Context(datetime.combine(camp.start, times[0], camp.tz), camp.name, event)
    kind = kinds[0]
    for it in items:
        for t in _texts(it):
            _keyed(kind, R.render, t, probe)
    if rule.get("today"):
        _keyed("today", R.render, str(rule["today"]), probe)
    return _Rule(sec, f.loc(sec), days, times, dates, event, items, order == "shuffled",
                 rule.get("today"), platforms, camp.tags + _str_list(rule.get("tags", ())),
                 card, rule.get("link", camp.link))


def _texts(item: Mapping[str, Any]) -> list[str]:
    out = [str(item["text"])]
    for p in PLATFORMS:
        v = item.get(p)
        if isinstance(v, dict):
            out.extend(str(v[k]) for k in ("text", "today") if k in v)
    return out


def _load_pool(pattern: str, config: "Config") -> list[Mapping[str, Any]]:
    """Pool post files: front matter (x/bluesky/card/link) and body; sorted by path."""
    from uprbuzz.campaign_pool import read_pool

    return read_pool(config.root, pattern)


def _expand(f: _File, r: _Rule, camp: _Campaign, many: bool) -> list[Post]:
    last = camp.end
    if r.event is not None:
        ev_local = r.event.astimezone(camp.tz).date()
        last = min(last, ev_local) if last else ev_local
    if last is None:
        f.diag(r.section, None, "error", "campaign-window",
               "[campaign] needs end = YYYY-MM-DD (or the rule an event) to bound the window")
        return []
    if r.days is not None:
        days = list(R.every_dates(r.days, camp.start, last))
    else:
        days = R.fixed_dates(r.dates, camp.start, last)
    posts: list[Post] = []
    k = 0
    for d in days:
        for t in r.times:
            at, warn = R.localize(d, t, camp.tz)
            if r.event is not None and at > r.event:
                continue  # a countdown stops at its event
            if warn:
                f.diag(r.section, "every" if r.days is not None else "time", "warning",
                       "campaign-dst", warn)
            item = r.items[R.rotation_index(k, len(r.items), f"{camp.name}:{r.section}", r.shuffled)]
            k += 1
            pid = f"{camp.name}/{d.isoformat()}" + (f"T{t:%H%M}" if many else "")
            posts.append(_occurrence(pid, at, item, r, camp))
    return posts


def _parts(text: str, loc: Loc) -> tuple[Part, ...]:
    chunks = [c.strip() for c in _SPLIT.split(text)]
    return tuple(Part(c, (), loc) for c in chunks if c)


def _occurrence(pid: str, at: datetime, item: Mapping[str, Any], r: _Rule,
                camp: _Campaign) -> Post:
    ctx = R.Context(at, camp.name, r.event)
    text = str(item["text"])
    if r.today and ctx.days == 0:
        text = r.today
    parts = _parts(R.render(text, ctx), r.loc)
    overrides = {}
    for p in PLATFORMS:
        v = item.get(p)
        if isinstance(v, dict):
            vt = v.get("today") if ctx.days == 0 and v.get("today") else v.get("text")
            ov_parts = _parts(R.render(str(vt), ctx), r.loc) if vt else None
            overrides[p] = Override(parts=ov_parts, skip=bool(v.get("skip", False)))
    card_spec = item.get("card") or r.card
    card = None
    if card_spec:
        fields = R.render_fields({k: v for k, v in card_spec.items() if k not in CARD_SPECIAL}, ctx)
        alt = card_spec.get("alt")
        card = Card(str(card_spec["template"]), fields, str(card_spec.get("size", "1600x900")),
                    R.render(str(alt), ctx) if alt else None)
    link = item.get("link") or r.link
    return Post(
        id=pid, parts=parts, at=at, status=camp.status,  # type: ignore[arg-type]
        platforms=r.platforms, langs=camp.langs,
        link=R.render(str(link), ctx) if link else None,
        tags=r.tags, overrides=overrides, card=card, source=r.loc, origin="campaign",
    )
