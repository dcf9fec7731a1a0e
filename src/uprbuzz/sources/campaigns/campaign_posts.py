"""Campaigns (``schedules/*.toml`` with a ``[campaign]`` table) -> occurrence Posts.

Every occurrence is an ordinary Post (origin "campaign") with a stable id
``<campaign>/<YYYY-MM-DD>``, or ``<campaign>/<YYYY-MM-DDTHHMM>`` when the campaign's rules can
fire more than once a day. Only the campaign window is expanded, so loading is cheap.
Files without a ``[campaign]`` table (e.g. live ``[session]`` files) are not ours: skipped silently.
See docs/campaigns.md for the format. This module loads files and expands rules into
occurrences; the ``[campaign]`` table is checked in :mod:`uprbuzz.sources.campaigns.campaign_file`, each
``[[rule]]`` in :mod:`uprbuzz.sources.campaigns.rule_table`, a rule that posts from records
(``records = {...}``) in :mod:`uprbuzz.sources.campaigns.campaign_records`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uprbuzz.links import link_problem
from uprbuzz.model import PLATFORMS, Card, Diagnostic, Loaded, Loc, Override, Part, Post
from uprbuzz.sources.campaigns import campaign_rules as R
from uprbuzz.sources.campaigns.campaign_file import Campaign, CampaignFile, KeyLines, read_campaign
from uprbuzz.sources.campaigns.campaign_records import (
    RecordSource,
    RecordsRule,
    is_records_rule,
    parse_records_rule,
)
from uprbuzz.sources.campaigns.campaign_records import expand as expand_records
from uprbuzz.sources.campaigns.rule_table import Rule, parse_rule

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store

CARD_SPECIAL = ("template", "size", "alt")
_SPLIT = re.compile(r"^---\s*$", re.M)


def load_campaigns(config: Config, store: Store | None = None) -> Loaded:
    """Occurrences of every campaign under ``schedules/``, with diagnostics (file:line)."""
    out = Loaded()
    folder = config.root / config.schedules_dir
    if not folder.is_dir():
        return out
    records = RecordSource(config, store)  # read only if a rule posts from records
    for path in sorted(folder.glob("*.toml")):
        out.extend(load_campaign_file(path, config, records))
    out.posts.sort(key=lambda p: (p.at, p.id))
    return out


def load_campaign_file(path: Path, config: Config, records: RecordSource | None = None) -> Loaded:
    """One campaign file's occurrences; ``records``: where records rules read (default: the
    project's ledger, if it exists)."""
    try:
        rel = str(path.relative_to(config.root))
    except ValueError:
        rel = str(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    f = CampaignFile(rel, KeyLines(text))
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
        _build(f, data, config, path.stem, records or RecordSource(config, None))
    except R.RuleError as e:  # anything not caught closer to its line
        f.diag("campaign", None, "error", "campaign-rule", str(e))
    return f.out


def _build(f: CampaignFile, data: Mapping[str, Any], config: Config, stem: str,
           records: RecordSource) -> None:
    camp = read_campaign(f, data, config, stem)
    if camp is None:
        return
    name = camp.name
    rules = data.get("rule", [])
    if isinstance(rules, dict):
        rules = [rules]
    if not rules:
        f.diag("campaign", None, "warning", "campaign-empty",
               f"campaign {name!r} has no [[rule]]: it makes no posts")
    slots = 0
    parsed: list[Rule | RecordsRule] = []
    for i, rule in enumerate(rules):
        sec = f"rule#{i}"
        try:
            pr: Rule | RecordsRule | None
            if is_records_rule(rule):
                pr = parse_records_rule(f, sec, rule, camp)
            else:
                pr = parse_rule(f, sec, rule, camp, config)
        except R.RuleError as e:
            f.diag(sec, getattr(e, "key", None), "error", "campaign-rule", str(e))
            continue
        if pr is not None:
            parsed.append(pr)
            slots += pr.slots
    seen: dict[str, str] = {}
    for pr in parsed:
        made = (expand_records(f, pr, camp, records, config, many=slots > 1)
                if isinstance(pr, RecordsRule) else _expand(f, pr, camp, many=slots > 1))
        for post in made:
            if post.id in seen:
                f.diag(pr.section, None, "error", "campaign-clash",
                       f"two rules of {name!r} post at the same time ({post.id}); "
                       "give them different times")
                continue
            seen[post.id] = pr.section
            f.out.posts.append(post)


def _expand(f: CampaignFile, r: Rule, camp: Campaign, many: bool) -> list[Post]:
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
    refused: list[tuple[str, str]] = []
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
            post = _occurrence(pid, at, item, r, camp)
            problem = link_problem(post.link) if post.link else None
            if problem:  # the link rule (uprbuzz.links): no post carries such a link
                refused.append((pid, problem))
                continue
            posts.append(post)
    if refused:  # one message per rule (parse_rule already judged its first occurrence)
        pid, problem = refused[0]
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        f.diag(r.section, "link", "error", "bad-link",
               f"no post for {pid}{more}: the filled link {problem}")
    return posts


def _parts(text: str, loc: Loc) -> tuple[Part, ...]:
    chunks = [c.strip() for c in _SPLIT.split(text)]
    return tuple(Part(c, (), loc) for c in chunks if c)


def _occurrence(pid: str, at: datetime, item: Mapping[str, Any], r: Rule,
                camp: Campaign) -> Post:
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
        platforms=r.platforms, langs=camp.langs, channels=camp.channels,
        link=R.render(str(link), ctx) if link else None,
        tags=r.tags, overrides=overrides, card=card, source=r.loc, origin="campaign",
    )
