"""A campaign's ``[[rule]]`` table checked into a :class:`Rule`: when it fires (``every`` or
``dates`` + ``time``, an optional countdown ``event``), what it says (``text``, ``messages`` or a
``pool`` of post files) and its per-rule platforms, tags, card and link.

Errors are RuleErrors tagged with the key they are about, so the message points at its line.
The rule grammar itself lives in :mod:`uprbuzz.sources.campaigns.campaign_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from uprbuzz.links import link_problem
from uprbuzz.model import PLATFORMS, Loc
from uprbuzz.sources.campaigns import campaign_rules as R
from uprbuzz.sources.campaigns.campaign_file import Campaign, CampaignFile, str_list, unknown_keys

if TYPE_CHECKING:
    from uprbuzz.config import Config

RULE_KEYS = ("every", "dates", "time", "event", "event_tz", "text", "today", "messages", "pool",
             "order", "x", "bluesky", "card", "link", "tags", "platforms", "name")
VARIANT_KEYS = ("text", "today", "skip")
MESSAGE_KEYS = ("text", "x", "bluesky", "card", "link")


@dataclass
class Rule:
    """One checked [[rule]]: its calendar, its messages and what every occurrence carries."""

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


def err(key: str, msg: str) -> R.RuleError:
    """A RuleError about ``key`` (its message points at that key's line)."""
    e = R.RuleError(msg)
    e.key = key  # type: ignore[attr-defined]
    return e


def keyed(key: str, fn: Any, *args: Any) -> Any:
    """Call ``fn``; a RuleError it raises is tagged with the key it is about (for its line)."""
    try:
        return fn(*args)
    except R.RuleError as e:
        if getattr(e, "key", None) is None:
            e.key = key  # type: ignore[attr-defined]
        raise


def _as_event(v: Any, tz: Any) -> datetime:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=tz)
    s = str(v).strip().replace("T", " ")
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        raise R.RuleError(f"event = {v!r} is not a date and time; write \"2020-11-09 14:30\"") from None
    return d if d.tzinfo else d.replace(tzinfo=tz)


Calendar = tuple[frozenset[int] | None, tuple[time, ...], list[tuple[int | None, int, int]]]


def parse_calendar(rule: Mapping[str, Any]) -> Calendar:
    """(weekdays or None, times, fixed dates) from ``every`` or ``dates`` + ``time``."""
    days: frozenset[int] | None = None
    dates: list[tuple[int | None, int, int]] = []
    if "every" in rule and "dates" in rule:
        raise err("dates", "a rule has either every = ... or dates = [...], not both")
    if "every" in rule:
        days, times = keyed("every", R.parse_every, str(rule["every"]))
    elif "dates" in rule:
        dates = [keyed("dates", R.parse_date_spec, d) for d in str_list(rule["dates"])]
        if "time" not in rule:
            raise err("dates", "dates = [...] needs time = \"HH:MM\"")
        times = (keyed("time", R.parse_time, str(rule["time"])),)
    else:
        raise R.RuleError("a rule needs every = \"daily 09:00\" or dates = [\"12-10\"] with time")
    return days, times, dates


def check_variants(f: CampaignFile, sec: str, rule: Mapping[str, Any]) -> None:
    """The per-platform tables (``x.text = ...``): known keys, and tables at all."""
    for plat in PLATFORMS:
        if isinstance(rule.get(plat), dict):
            unknown_keys(f, sec, rule[plat], VARIANT_KEYS, f"[[rule]] {plat}")
        elif plat in rule:
            raise err(plat, f"{plat} must be a table, e.g. {plat}.text = \"...\"")


def rule_platforms(rule: Mapping[str, Any], camp: Campaign) -> tuple[str, ...]:
    platforms = str_list(rule.get("platforms", camp.platforms))
    for p in platforms:
        if p not in PLATFORMS:
            raise err("platforms", f"unknown platform {p!r} in platforms; use {', '.join(PLATFORMS)}")
    return platforms


def rule_card(rule: Mapping[str, Any]) -> Mapping[str, Any] | None:
    card = rule.get("card")
    if card is not None and (not isinstance(card, dict) or "template" not in card):
        raise err("card", "card = {template = \"countdown\", ...fields} needs a template")
    return card


def parse_rule(f: CampaignFile, sec: str, rule: Mapping[str, Any], camp: Campaign,
               config: Config) -> Rule | None:
    """A ``[[rule]]`` table checked into a Rule; a RuleError names the key it is about."""
    if not isinstance(rule, dict):
        raise R.RuleError("each [[rule]] must be a table")
    unknown_keys(f, sec, rule, RULE_KEYS, "[[rule]]")
    check_variants(f, sec, rule)
    days, times, dates = parse_calendar(rule)
    event = None
    if "event" in rule:
        ev_tz = keyed("event_tz", R.zone, str(rule.get("event_tz", camp.tz.key)))
        event = keyed("event", _as_event, rule["event"], ev_tz)
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
                unknown_keys(f, sec, m, MESSAGE_KEYS, "a message")
                items.append(m)
            else:
                raise err("messages", "each of messages = [...] is a string or {text = \"...\"}")
        if not items:
            raise err("messages", "messages = [] is empty")
    else:
        items = keyed("pool", _load_pool, str(rule["pool"]), config)
    order = str(rule.get("order", "listed"))
    if order not in ("listed", "shuffled"):
        raise err("order", f"order must be listed or shuffled, not {order!r}")
    platforms = rule_platforms(rule, camp)
    card = rule_card(rule)
    for it in items:
        if not str(it["text"]).strip():
            raise err(kinds[0], "a message text is empty")
    # Fail early (at the rule's line) on placeholders that could never fill.
    probe = R.Context(datetime.combine(camp.start, times[0], camp.tz), camp.name, event)
    kind = kinds[0]
    for it in items:
        for t in _texts(it):
            keyed(kind, R.render, t, probe)
    if rule.get("today"):
        keyed("today", R.render, str(rule["today"]), probe)
    # The link rule (uprbuzz.links) on every link this rule can post, filled as for its first
    # occurrence; campaign_posts judges each occurrence's link again once filled.
    links = [("link", rule.get("link", camp.link))] + [(kind, it.get("link")) for it in items]
    for key, link in links:
        if link:
            problem = link_problem(keyed(key, R.render, str(link), probe))
            if problem:
                raise err(key, f"link {problem}")
    return Rule(sec, f.loc(sec), days, times, dates, event, items, order == "shuffled",
                rule.get("today"), platforms, camp.tags + str_list(rule.get("tags", ())),
                card, rule.get("link", camp.link))


def _texts(item: Mapping[str, Any]) -> list[str]:
    out = [str(item["text"])]
    for p in PLATFORMS:
        v = item.get(p)
        if isinstance(v, dict):
            out.extend(str(v[k]) for k in ("text", "today") if k in v)
    return out


def _load_pool(pattern: str, config: Config) -> list[Mapping[str, Any]]:
    """Pool post files: front matter (x/bluesky/card/link) and body; sorted by path."""
    from uprbuzz.sources.campaigns.campaign_pool import read_pool

    return read_pool(config.root, pattern)
