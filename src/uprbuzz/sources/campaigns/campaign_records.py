"""Campaign rules that post from records: the UPR recommendations in the ledger's ``records``
table (``uprbuzz records import``), with the State's positions (``uprbuzz records respond``).

```toml
[[rule]]
every = "daily 09:00"
records = { position = "noted", theme = ["Death penalty", "Racial discrimination"] }
order = "listed"              # or "themes" (one theme after another), "shuffled"
text = "The US {position} recommendation {paragraph} from {states}: “{text}” {link}"
card = { template = "response" }
```

Each occurrence takes the next matching record, so no record is posted twice; when the records
run out the rule stops. Which record an occurrence gets depends only on the file and the
matching records (their keys), never on when or where it is computed: ``check``, ``plan``,
``publish`` and a re-import of the same records agree. ``summary = true`` instead posts the
counts by position of the matching records at every occurrence.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from uprbuzz.links import link_problem
from uprbuzz.model import PLATFORMS, Card, Override, Part, Post
from uprbuzz.sources.campaigns import campaign_rules as R
from uprbuzz.sources.campaigns import record_text as T
from uprbuzz.sources.campaigns.campaign_file import Campaign, CampaignFile, str_list, unknown_keys
from uprbuzz.sources.campaigns.rule_table import (
    check_variants,
    err,
    keyed,
    parse_calendar,
    rule_card,
    rule_platforms,
)
from uprbuzz.sources.campaigns.x_repeats import repeat_message, x_repeats
from uprbuzz.upr_record import PENDING, Record, normalise_position

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store

RECORDS_RULE_KEYS = ("every", "dates", "time", "records", "order", "summary", "text", "x",
                     "bluesky", "mastodon", "card", "link", "tags", "platforms", "name")
FILTER_KEYS = ("theme", "state", "position", "doc")
ORDERS = ("listed", "themes", "shuffled")
CARD_SPECIAL = ("template", "size", "alt")
IMPORT_HINT = "run `uprbuzz records import FILE` (and `uprbuzz records respond FILE`)"


class RecordSource:
    """The records the rules of one load draw from: read once, and only if a rule asks."""

    def __init__(self, config: Config, store: Store | None) -> None:
        self.config, self.store = config, store
        self._records: list[Record] | None = None

    def records(self) -> list[Record]:
        if self._records is None:
            self._records = self._read()
        return self._records

    def _read(self) -> list[Record]:
        if self.store is not None:
            return self.store.records.list()
        # Loaded without a store (toolkit, preview): read the ledger if there is one, never
        # create it just to find it empty.
        if self.config.state_url is None and not self.config.state_path.exists():
            return []
        from uprbuzz.store import Store

        with Store.open(self.config) as store:
            return store.records.list()


@dataclass
class RecordsRule:
    """One checked ``[[rule]]`` with ``records = {...}``."""

    section: str
    days: frozenset[int] | None
    times: tuple[time, ...]
    dates: list[tuple[int | None, int, int]]
    filters: Mapping[str, tuple[str, ...]]
    order: str
    summary: bool
    text: str
    variants: Mapping[str, Mapping[str, Any]]  # platform -> {text?, skip?}
    platforms: tuple[str, ...]
    tags: tuple[str, ...]
    card: Mapping[str, Any] | None
    link: str

    @property
    def slots(self) -> int:
        return len(self.times)

    @property
    def known(self) -> tuple[str, ...]:
        return T.SUMMARY_FIELDS if self.summary else T.RECORD_FIELDS


def is_records_rule(rule: Any) -> bool:
    return isinstance(rule, dict) and "records" in rule


def parse_records_rule(f: CampaignFile, sec: str, rule: Mapping[str, Any],
                       camp: Campaign) -> RecordsRule:
    """A ``[[rule]]`` with ``records`` checked; a RuleError names the key it is about."""
    unknown_keys(f, sec, rule, RECORDS_RULE_KEYS, "a records [[rule]]")
    check_variants(f, sec, rule)
    days, times, dates = parse_calendar(rule)
    spec = rule["records"]
    if not isinstance(spec, dict):
        raise err("records", "records must be a table of filters, e.g. records = "
                             "{ position = \"noted\" } (or records = {} for all of them)")
    for k in spec:  # an inline table: its keys sit on the records line
        if k not in FILTER_KEYS:
            near = difflib.get_close_matches(k, FILTER_KEYS, n=1)
            f.diag(sec, "records", "error", "campaign-key", f"unknown filter {k!r} in records = "
                   "{...}; " + (f"did you mean {near[0]!r}?" if near else
                                f"filters: {', '.join(FILTER_KEYS)}"))
    filters: dict[str, tuple[str, ...]] = {}
    for k in FILTER_KEYS:
        if k in spec:
            values = tuple(" ".join(v.split()) for v in str_list(spec[k]) if v.strip())
            if not values:
                raise err("records", f"records filter {k} is empty")
            if k == "position":
                values = tuple(keyed("records", _position, v) for v in values)
            filters[k] = values
    if "text" not in rule or not str(rule["text"]).strip():
        raise err("records", "a records rule needs text = \"...\" (e.g. \"{states}: “{text}” "
                             "{link}\")")
    order = str(rule.get("order", "listed"))
    if order not in ORDERS:
        raise err("order", f"order must be {', '.join(ORDERS)}, not {order!r}")
    summary = rule.get("summary", False)
    if not isinstance(summary, bool):
        raise err("summary", f"summary must be true or false, not {summary!r}")
    variants = {p: rule[p] for p in PLATFORMS if isinstance(rule.get(p), dict)}
    link = rule.get("link", camp.link if camp.link is not None else ("" if summary else "{link}"))
    if not isinstance(link, str):
        raise err("link", f"link must be a web address in quotes or \"{{link}}\", not {link!r}")
    out = RecordsRule(sec, days, times, dates, filters, order, summary, str(rule["text"]),
                      variants, rule_platforms(rule, camp),
                      camp.tags + str_list(rule.get("tags", ())), rule_card(rule), link)
    _probe(out, camp)
    return out


def _position(value: str) -> str:
    if value.casefold() == PENDING:
        return PENDING
    try:
        pos = normalise_position(value)
    except ValueError as e:
        raise R.RuleError(f"records position {value!r}: {e}") from None
    return pos or PENDING


def _probe(r: RecordsRule, camp: Campaign) -> None:
    """Placeholders that could never fill fail here, at their key's line (no records needed)."""
    ctx = R.Context(datetime.combine(camp.start, r.times[0], camp.tz), camp.name)
    values = dict.fromkeys(r.known, "x")
    keyed("text", T.fill, r.text, values, ctx, r.known)
    for p, v in r.variants.items():
        if v.get("text"):
            keyed(p, T.fill, str(v["text"]), values, ctx, r.known)
    keyed("link", T.fill, r.link, values, ctx, r.known)
    for k, v in (r.card or {}).items():
        if k not in ("template", "size"):
            keyed("card", T.fill, str(v), values, ctx, r.known)


# --- choosing records ------------------------------------------------------------------------

def matching(r: RecordsRule, records: list[Record], seed: str) -> list[Record]:
    """The records the rule's filters select, in its order (``records`` come in document and
    paragraph order: 26.2 before 26.10)."""

    def fold(s: str) -> str:
        return " ".join(s.casefold().split())

    out = []
    for rec in records:
        ok = True
        for k, want in r.filters.items():
            if k == "position":
                ok = rec.status in want
            elif k == "doc":
                ok = rec.doc in want
            else:
                have = {fold(x) for x in (rec.themes if k == "theme" else rec.states)}
                ok = any(fold(w) in have for w in want)
            if not ok:
                break
        if ok:
            out.append(rec)
    if r.order == "themes":
        return _by_themes(out)
    if r.order == "shuffled":
        import random

        # seeded by the campaign, the rule and the matching keys: the same everywhere, every time
        random.Random(f"{seed}:{r.section}:{[x.key for x in out]}").shuffle(out)
    return out


def _by_themes(records: list[Record]) -> list[Record]:
    """One theme after another (each record under its first theme, themes in the order they
    first appear), so consecutive posts cover different themes."""
    groups: dict[str, list[Record]] = {}
    for rec in records:
        groups.setdefault(rec.themes[0] if rec.themes else "", []).append(rec)
    queues = list(groups.values())
    out: list[Record] = []
    i = 0
    while len(out) < len(records):
        for q in queues:
            if i < len(q):
                out.append(q[i])
        i += 1
    return out


# --- occurrences -----------------------------------------------------------------------------

def expand(f: CampaignFile, r: RecordsRule, camp: Campaign, source: RecordSource,
           config: Config, many: bool) -> list[Post]:
    """The rule's occurrence Posts, each from the next matching record (or the summary)."""
    last = camp.end
    if last is None:
        f.diag(r.section, None, "error", "campaign-window",
               "[campaign] needs end = YYYY-MM-DD to bound the window of a records rule")
        return []
    records = source.records()
    if not records:
        f.diag(r.section, "records", "warning", "records-missing",
               f"no recommendations are imported yet, so this rule makes no posts; {IMPORT_HINT}")
        return []
    chosen = matching(r, records, camp.name)
    if not chosen:
        f.diag(r.section, "records", "warning", "records-none-match",
               f"none of the {len(records)} imported recommendations matches records = "
               f"{_shown(r.filters)}: this rule makes no posts")
        return []
    days = (list(R.every_dates(r.days, camp.start, last)) if r.days is not None
            else R.fixed_dates(r.dates, camp.start, last))
    lang = camp.langs[0] if camp.langs else config.lang
    summary = T.summary_values(chosen, lang) if r.summary else None
    posts: list[Post] = []
    refused: list[tuple[str, str]] = []
    slots = [(d, t) for d in days for t in r.times]
    for k, (d, t) in enumerate(slots):
        if summary is None and k >= len(chosen):
            f.diag(r.section, "records", "warning", "records-used-up",
                   f"the window has {len(slots)} occurrences but only {len(chosen)} "
                   f"recommendations match: the last {len(slots) - len(chosen)} make no post")
            break
        at, warn = R.localize(d, t, camp.tz)
        if warn:
            f.diag(r.section, "every" if r.days is not None else "time", "warning",
                   "campaign-dst", warn)
        pid = f"{camp.name}/{d.isoformat()}" + (f"T{t:%H%M}" if many else "")
        rec = None if summary is not None else chosen[k]
        values = T.record_values(rec, lang) if rec is not None else summary or {}
        post = _occurrence(pid, at, r, camp, config, values, rec, chosen, f)
        problem = link_problem(post.link)
        if problem:  # the link rule (uprbuzz.links): no post carries such a link
            refused.append((pid, problem))
        else:
            posts.append(post)
    if refused:  # one message for the rule, not one per occurrence
        pid, problem = refused[0]
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        f.diag(r.section, "link", "error", "bad-link",
               f"no post for {pid}{more}: the filled link {problem}")
    repeats = x_repeats(posts, config)
    if repeats:  # X would refuse them at publish time; say it at the text that repeats
        key = "x" if r.variants.get("x", {}).get("text") else "text"
        f.diag(r.section, key, "warning", "x-duplicate-text", repeat_message(repeats, r.summary))
    return posts


def _fits_on(platform: str, limit: int | None = None) -> Callable[[str], bool]:
    return lambda text: T.fits(platform, text, limit)


def _shown(filters: Mapping[str, tuple[str, ...]]) -> str:
    return "{ " + ", ".join(f"{k} = {list(v) if len(v) > 1 else v[0]!r}"
                            for k, v in filters.items()) + " }" if filters else "{}"


def _occurrence(pid: str, at: datetime, r: RecordsRule, camp: Campaign, config: Config,
                values: Mapping[str, str], rec: Record | None, chosen: list[Record],
                f: CampaignFile) -> Post:
    ctx = R.Context(at, camp.name)
    loc = f.loc(r.section, "text")
    full = values.get("text", "")

    def make(template: str) -> Callable[[str], str]:
        return lambda text: T.fill(template, {**values, "text": text}, ctx, r.known)

    base = T.parts_of(make(r.text)(full))
    overrides: dict[str, Override] = {}
    for p in r.platforms:
        v = r.variants.get(p, {})
        if v.get("skip"):
            overrides[p] = Override(skip=True)
            continue
        template = str(v["text"]) if v.get("text") else r.text
        text = T.fit_text(make(template), full, _fits_on(p))
        if text is None:  # too long without any of {text}: the post check says how much
            text = make(template)(full)
        parts = T.parts_of(text)
        if parts != base:
            overrides[p] = Override(parts=_parts(parts, loc))
        if p == "mastodon":  # an instance whose limit is not Mastodon's default: its own cut
            for ch in config.channels:
                if ch.platform == "mastodon" and ch.max_characters:
                    own = T.fit_text(make(template), full, _fits_on(p, ch.max_characters))
                    if own is not None and T.parts_of(own) != parts:
                        overrides[ch.name] = Override(parts=_parts(T.parts_of(own), loc))
    link = T.fill(r.link, values, ctx, r.known).strip() or None
    return Post(
        id=pid, parts=_parts(base, loc), at=at, status=camp.status,  # type: ignore[arg-type]
        platforms=r.platforms, langs=camp.langs, channels=camp.channels, link=link,
        tags=r.tags, overrides=overrides, card=_card(r, values, ctx, rec, chosen),
        source=f.loc(r.section), origin="campaign",
    )


def _parts(texts: list[str], loc: Any) -> tuple[Part, ...]:
    return tuple(Part(t, (), loc) for t in texts)


def _card(r: RecordsRule, values: Mapping[str, str], ctx: R.Context, rec: Record | None,
          chosen: list[Record]) -> Card | None:
    """The rule's card, its fields filled; a ``response`` or ``summary`` card takes what it
    does not set from the record (or the counts)."""
    if not r.card:
        return None
    spec = r.card
    fields = {k: T.fill(str(v), values, ctx, r.known) for k, v in spec.items()
              if k not in CARD_SPECIAL}
    for k, v in _card_defaults(str(spec["template"]), rec, chosen).items():
        fields.setdefault(k, v)
    alt = spec.get("alt")
    return Card(str(spec["template"]), fields, str(spec.get("size", "1600x900")),
                T.fill(str(alt), values, ctx, r.known) if alt else None)


def _card_defaults(template: str, rec: Record | None, chosen: list[Record]) -> dict[str, str]:
    if template == "response" and rec is not None:
        return {"state": "; ".join(rec.states), "text": rec.text, "position": rec.status,
                "paragraph": rec.paragraph, "doc": rec.doc, "link": rec.link}
    if template == "recommendation" and rec is not None:
        return {"state": "; ".join(rec.states), "text": rec.text, "paragraph": rec.paragraph,
                "link": rec.link}
    if template == "summary":
        docs = sorted({x.doc for x in chosen})
        return {"counts": T.counts_field(T.position_counts(chosen)), "doc": "; ".join(docs)}
    return {}
