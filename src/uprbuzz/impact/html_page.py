"""The report as one static HTML page: inline CSS and SVG, no script, nothing fetched.

Landmarks (banner, navigation, main, contentinfo), one ``h1`` and an ``h2`` per section, and
for every chart its text alternative (the SVG's ``<desc>``, repeated as the figure's caption)
followed by its data table, drawn from the same ``tables()`` rows as the CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from html import escape

from uprbuzz.impact import charts
from uprbuzz.impact.data import Cell, ImpactData, Table, tables
from uprbuzz.impact.words import Words

POSITION = {"supported": "Supported", "supported in part": "Supported in part",
            "noted": "Noted", "pending": "Pending"}
SUMMARY = {"posts": "Posts", "publications": "Publications (post × channel)",
           "parts": "Posts sent, thread parts counted", "channels": "Channels",
           "interactions": "Interactions", "likes": "Likes", "reposts": "Reposts",
           "replies": "Replies", "quotes": "Quotes", "impressions": "Impressions (X)",
           "records": "Recommendations", "records_covered": "Recommendations covered",
           "x_usd": "Spent on X"}

CSS = """
:root{color-scheme:light}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;
background:#fff;margin:0 auto;max-width:60rem;padding:1rem}
a{color:#0b57a8}a:focus-visible,[tabindex]:focus-visible{outline:3px solid #0b57a8;outline-offset:2px}
header{border-bottom:2px solid #1a1a1a;margin-bottom:1rem}
h1{font-size:1.8rem;margin:.5rem 0}h2{font-size:1.35rem;margin-top:2rem;border-top:1px solid #ccc;
padding-top:1rem}
nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.75rem}
dl.summary div{border:1px solid #ccc;border-radius:4px;padding:.5rem}
dl.summary dt{font-size:.875rem;color:#444}dl.summary dd{margin:0;font-size:1.4rem;font-weight:600}
figure{margin:1rem 0}svg.chart{width:100%;height:auto;display:block}
figcaption{color:#333;margin-top:.25rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
caption{text-align:start;font-weight:600;padding:.25rem 0}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:start;vertical-align:top}
td.n{text-align:end;font-variant-numeric:tabular-nums}thead th{background:#f0f0f0}
td ul{margin:0;padding-inline-start:1rem}
.empty{font-style:italic;color:#333}
footer{margin-top:2rem;border-top:1px solid #ccc;color:#333;font-size:.875rem}
@media print{nav{display:none}.scroll{overflow:visible}}
"""


def render(d: ImpactData) -> str:
    w = Words(d.lang)
    tabs = {t.name: t for t in tables(d)}
    sections = [
        ("summary", w("At a glance"), _summary(d, w, tabs["summary"])),
        ("posts", w("Posts per day and channel"), _posts(d, w, tabs["posts_per_day"])),
        ("engagement", w("Engagement over time"), _engagement(d, w, tabs["engagement"])),
        ("top", w("Top posts"), _top(d, w, tabs["top_posts"])),
        ("coverage", w("Coverage per recommendation and theme"),
         _coverage(d, w, tabs["coverage_themes"], tabs["coverage_records"])),
        ("positions", w("The State’s positions"), _positions(d, w, tabs["positions"])),
        ("spend", w("Spending on X"), _spend(d, w, tabs["x_spend"])),
    ]
    title = w("Impact report: {project}", project=d.project)
    nav = "".join(f'<li><a href="#{k}">{escape(h)}</a></li>' for k, h, _ in sections)
    body = "".join(f'<section aria-labelledby="{k}-h"><h2 id="{k}-h">{escape(h)}</h2>{html}'
                   "</section>" for k, h, html in sections)
    return (f'<!DOCTYPE html>\n<html lang="{escape(w.lang)}" dir="{"rtl" if w.rtl else "ltr"}">'
            f'<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, '
            f'initial-scale=1"><title>{escape(title)}</title><style>{CSS}</style></head><body>'
            f"<header><h1>{escape(title)}</h1><p>{escape(_scope_line(d, w))}</p></header>"
            f'<nav aria-label="{escape(w("Sections"))}"><ul>{nav}</ul></nav>'
            f"<main>{body}</main>"
            f"<footer><p>{escape(w('Made by uprbuzz on {when} from the publication ledger.', when=w.moment(d.generated_at)))}"
            f"</p></footer></body></html>\n")


def _scope_line(d: ImpactData, w: Words) -> str:
    s = d.scope
    bits = []
    if s.get("campaign"):
        bits.append(w("Campaign: {name}", name=s["campaign"]))
    if s.get("session"):
        bits.append(w("Live session: {name}", name=s["session"]))
    if s.get("from"):
        bits.append(w("From: {when}", when=s["from"]))
    if s.get("to"):
        bits.append(w("Until: {when}", when=s["to"]))
    what = " · ".join(bits) if bits else w("Every publication in the ledger")
    return f"{what} · {w('Times in {zone}', zone=d.zone)}"


def _empty(text: str) -> str:
    return f'<p class="empty">{escape(text)}</p>'


def _fig(svg: str, desc: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(desc)}</figcaption></figure>"


def _cell(v: Cell, kind: str, w: Words) -> tuple[str, bool]:
    """(HTML, numeric?)"""
    if v is None:
        return "—", False
    if isinstance(v, tuple):
        items = "".join(f'<li><a href="{escape(url)}">{escape(label)}</a></li>' for label, url in v)
        return (f"<ul>{items}</ul>" if items else "—"), False
    if isinstance(v, bool):
        return escape(str(v)), False
    if isinstance(v, float) or (kind == "usd" and isinstance(v, int)):
        return escape(w.usd(float(v))), True
    if isinstance(v, int):
        return escape(w.num(v)), True
    if isinstance(v, date):
        return escape(w.day(v)), False
    if kind == "position":
        return escape(w(POSITION.get(v, v))), False
    if kind == "theme":
        return escape(v or w("No theme")), False
    return escape(v), False


def _table(t: Table, caption: str, w: Words, first_is_header: bool = True) -> str:
    ident = f"tab-{t.name}"
    head = "".join(f'<th scope="col">{escape(c.label if c.literal else w(c.label))}</th>'
                   for c in t.columns)
    rows = []
    for r in t.rows:
        cells = []
        for i, (c, v) in enumerate(zip(t.columns, r, strict=True)):
            html, num = _cell(v, c.kind, w)
            if i == 0 and first_is_header:
                cells.append(f'<th scope="row">{html}</th>')
            else:
                cells.append(f'<td class="n">{html}</td>' if num else f"<td>{html}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    # the scrolling region is named apart from its section (landmarks must be told apart)
    region = w("Table: {caption}", caption=caption)
    return (f'<div class="scroll" role="region" tabindex="0" aria-label="{escape(region)}">'
            f'<table><caption id="{ident}">{escape(caption)}</caption><thead><tr>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></div>')


def _summary(d: ImpactData, w: Words, t: Table) -> str:
    if d.empty:
        return _empty(w("Nothing has been published in this scope yet: the ledger holds no "
                        "sent post that matches. Publish, then run the report again."))
    items = []
    for key, v in t.rows:
        html, _ = _cell(v, "int", w)
        items.append(f"<div><dt>{escape(w(SUMMARY[str(key)]))}</dt><dd>{html}</dd></div>")
    return f'<dl class="summary">{"".join(items)}</dl>'


def _posts(d: ImpactData, w: Words, t: Table) -> str:
    if not d.per_day:
        return _empty(w("No post sent yet."))
    busiest = max(d.per_day, key=lambda r: r.total)
    desc = w("{pubs} on {channels} between {first} and {last}; the busiest day was {day} "
             "with {n}.", pubs=w.n("{n} publication", "{n} publications", d.publications),
             channels=w.n("{n} channel", "{n} channels", len(d.channels)),
             first=w.day(d.per_day[0].day), last=w.day(d.per_day[-1].day),
             day=w.day(busiest.day), n=w.num(busiest.total))
    series = [(c.name, [r.counts.get(c.name, 0) for r in d.per_day]) for c in d.channels]
    svg = charts.columns("c-posts", w("Posts per day and channel"), desc,
                         [w.short_day(r.day) for r in d.per_day], series, w.num)
    return _fig(svg, desc) + _table(t, w("Publications per day and channel"), w)


def _engagement(d: ImpactData, w: Words, t: Table) -> str:
    if not d.engagement:
        return _empty(w("No engagement read back yet."))
    last = d.engagement[-1]
    c = last.counts
    desc = w("By {day}: {total} ({likes}, {reposts}, {replies}, {quotes}).", day=w.day(last.day),
             total=w.n("{n} interaction", "{n} interactions", c.interactions),
             likes=w.n("{n} like", "{n} likes", c.likes),
             reposts=w.n("{n} repost", "{n} reposts", c.reposts),
             replies=w.n("{n} reply", "{n} replies", c.replies),
             quotes=w.n("{n} quote", "{n} quotes", c.quotes))
    labels = [w.short_day(r.day) for r in d.engagement]
    series: list[tuple[str, list[float]]] = [
        (w(k.capitalize()), [getattr(r.counts, k) for r in d.engagement])
        for k in ("likes", "reposts", "replies", "quotes")]
    svg = charts.lines("c-engagement", w("Engagement over time"), desc, labels, series, w.num)
    return _fig(svg, desc) + _table(t, w("Interactions known at the end of each day"), w)


def _top(d: ImpactData, w: Words, t: Table) -> str:
    if not d.top_posts:
        return _empty(w("No interaction recorded yet."))
    best = d.top_posts[0]
    desc = w("The most engaging post, {post}, had {n}.", post=best.post_id,
             n=w.n("{n} interaction", "{n} interactions", best.counts.interactions))
    svg = charts.bars("c-top", w("Top posts"), desc, [p.post_id for p in d.top_posts],
                      [p.counts.interactions for p in d.top_posts], w.num)
    return _fig(svg, desc) + _table(t, w("Top posts by interactions"), w, first_is_header=False)


def _coverage(d: ImpactData, w: Words, themes: Table, records: Table) -> str:
    if not d.records:
        return _empty(w("No recommendation imported yet (uprbuzz records import)."))
    desc = w("{covered} of {records} covered by at least one post.",
             covered=w.num(len(d.coverage)),
             records=w.n("{n} recommendation", "{n} recommendations", d.records))
    labels = [r.theme or w("No theme") for r in d.themes]
    svg = charts.bars("c-coverage", w("Recommendations covered per theme"), desc, labels,
                      [r.covered for r in d.themes], w.num, of=[r.records for r in d.themes])
    out = _fig(svg, desc) + _table(themes, w("Coverage per theme"), w)
    if d.coverage:
        out += _table(records, w("Recommendations covered"), w)
    else:
        out += _empty(w("No post names a recommendation yet."))
    return out


def _positions(d: ImpactData, w: Words, t: Table) -> str:
    if not d.records:
        return _empty(w("No recommendation imported yet (uprbuzz records import)."))
    keys = list(d.positions)
    desc = "; ".join(w("{label}: {n}", label=w(POSITION.get(k, k)), n=w.num(d.positions[k]))
                     for k in keys) + "."
    svg = charts.bars("c-positions", w("The State’s positions"), desc,
                      [w(POSITION.get(k, k)) for k in keys], [d.positions[k] for k in keys], w.num)
    return _fig(svg, desc) + _table(t, w("Recommendations per position"), w)


def _spend(d: ImpactData, w: Words, t: Table) -> str:
    if not d.x_spend:
        return _empty(w("Nothing sent to X in this scope."))
    parts = sum(r.parts for r in d.x_spend)
    desc = w("{usd} for {posts}, from {first} to {last}.", usd=w.usd(d.x_usd),
             posts=w.n("{n} post on X", "{n} posts on X", parts),
             first=w.day(d.x_spend[0].day), last=w.day(d.x_spend[-1].day))
    fmt: Callable[[float], str] = w.usd
    svg = charts.columns("c-spend", w("Spending on X"), desc,
                         [w.short_day(r.day) for r in d.x_spend],
                         [(w("Posts"), [r.parts_usd for r in d.x_spend]),
                          (w("Paid reads"), [r.reads_usd for r in d.x_spend])], fmt,
                         int_ticks=False)
    return _fig(svg, desc) + _table(t, w("Spending on X per day"), w)
