"""Card templates centred on a text: a recommendation as it is made, a quote, a blog post."""

from __future__ import annotations

from datetime import date

from uprbuzz.cards import labels as L
from uprbuzz.cards.template_kit import (
    Design,
    Field,
    Frame,
    Template,
    TextSpec,
    sentences,
    stack,
    text_style,
)

# --- recommendation -------------------------------------------------------------------------

def _rec_derive(v: dict[str, str], today: date) -> None:
    if not v["link"]:  # a card without the record link keeps the values (so the key) it had
        del v["link"]
    v["heading"] = v["heading"] or L.label("recommendation", v["lang"])
    v["state"] = L.i18n.format_list(L.states(v["state"]), v["lang"])
    v["_title"] = f"{v['heading']} {v['paragraph']}".strip()
    v["_when"] = L.label("webcast_at", v["lang"], t=v["timestamp"]) if v["timestamp"] else ""
    if v.get("link"):  # the record link (live console), printed after the webcast time
        from uprbuzz.cards.record_templates import display_link

        v["_when"] = " · ".join(x for x in (v["_when"], display_link(v["link"])) if x)


def _rec_design(v: dict[str, str], f: Frame) -> Design:
    d = Design()
    bottom = f.footer(d, v, v["_handle"])
    m = f.m
    rows = stack(m, bottom, [("title", 60), ("text", None), ("state", 110 if f.square else 96),
                             ("when", 44 if v["_when"] else 0)], gap=24)
    d.panels.append((f.rect(m, m - 30, m + 120, m - 20), "accent"))
    for name, role, weight, size, extra in (
            ("title", "accent", "bold", 52, {"max_lines": 1}),
            ("text", "text", "regular", 88 if f.square else 80, {"valign": "middle"}),
            ("state", "text", "bold", 46, {"max_lines": 2, "valign": "bottom"}),
            ("when", "muted", "regular", 34, {"max_lines": 1})):
        y0, y1 = rows[name]
        text = {"title": v["_title"], "text": v["text"], "state": "— " + v["state"],
                "when": v["_when"]}[name]
        if text.strip() and y1 > y0:
            d.texts.append((TextSpec(name, f.rect(m, y0, f.w - m, y1), text_style(v, size, **extra),
                                     weight, role), text))
    return d


def _rec_alt(v: dict[str, str], handle: str) -> str:
    out = f"{v['_title']} — {v['state']}: {L.quote(v['text'], v['lang'])}"
    when = L.label("webcast_at", v["lang"], t=v["timestamp"]) if v["timestamp"] else ""
    return sentences(out, when, v.get("link", ""), handle)


# --- quote ----------------------------------------------------------------------------------

def _quote_derive(v: dict[str, str], today: date) -> None:
    v["_quote"] = L.quote(v["quote"], v["lang"])
    v["_by"] = L.people(v["attribution"], v["role"], v["lang"])


def _quote_design(v: dict[str, str], f: Frame) -> Design:
    d = Design()
    bottom = f.footer(d, v, v["_handle"])
    m = f.m
    rows = stack(m, bottom, [("quote", None), ("by", 120 if v["_by"] else 0)], gap=28)
    d.panels.append((f.rect(m, m, m + 12, rows["quote"][1]), "accent"))
    quote = text_style(v, 104 if f.square else 96, 22, valign="middle", spacing=1.2)
    d.texts.append((TextSpec("quote", f.rect(m + 48, *_xy(rows["quote"], f.w - m)), quote, "bold"),
                    v["_quote"]))
    if v["_by"]:
        d.texts.append((TextSpec("by", f.rect(m + 48, *_xy(rows["by"], f.w - m)),
                                 text_style(v, 44, max_lines=2), "regular", "accent"),
                        "— " + v["_by"]))
    return d


def _xy(row: tuple[float, float], x1: float) -> tuple[float, float, float]:
    return row[0], x1, row[1]


def _quote_alt(v: dict[str, str], handle: str) -> str:
    return sentences(v["_quote"] + (f" — {v['_by']}" if v["_by"] else ""), handle)


# --- blog -----------------------------------------------------------------------------------

def _blog_derive(v: dict[str, str], today: date) -> None:
    pass


def _blog_design(v: dict[str, str], f: Frame) -> Design:
    d = Design(kind="photo" if v["image"] else "flat")
    m = f.m
    x0: float = m
    top: float = m
    if v["image"]:
        if f.square:
            panel = f.rect(0, 0, f.w, f.h * 0.42)
            top = f.h * 0.42 + 40
        else:
            panel = f.rect(0, 0, f.w * 0.42, f.h)
            x0 = f.w * 0.42 + 56
        d.panels.append((panel, "surface"))
        d.image = (panel, v["image"])
    bottom = f.footer(d, v, v["_handle"], x0)
    has_ex = bool(v["excerpt"].strip())
    rows = stack(top, bottom, [("site", 48), ("title", None), ("excerpt", None if has_ex else 0)]
                 if not has_ex else [("site", 48), ("title", (bottom - top) * 0.45), ("excerpt", None)])
    for name, role, weight, size, extra, text in (
            ("site", "accent", "bold", 40, {"max_lines": 1}, _site(v)),
            ("title", "text", "bold", 80, {"valign": "bottom" if has_ex else "middle"}, v["title"]),
            ("excerpt", "muted", "regular", 44, {}, v["excerpt"])):
        y0, y1 = rows[name]
        if text.strip() and y1 > y0:
            d.texts.append((TextSpec(name, f.rect(x0, y0, f.w - m, y1),
                                     text_style(v, size, **extra), weight, role), text))
    return d


def _site(v: dict[str, str]) -> str:
    return v["site"] or v.get("_brand", "")


def _blog_alt(v: dict[str, str], handle: str) -> str:
    img = v["image_alt"].strip()
    return sentences(_site(v), v["title"], v["excerpt"], img, handle)


RECOMMENDATION = Template("recommendation", "A UPR recommendation as it is made (live mode).", (
    Field("state", True, help="recommending State(s), '; '-separated"),
    Field("text", True, help="the recommendation's text"),
    Field("paragraph", help="paragraph number, e.g. 26.1"),
    Field("timestamp", help="offset into the webcast, e.g. 00:41:10"),
    Field("heading", help="label (default: 'Recommendation' in the card's language)"),
    Field("link", help="the record's address (printed without https://, full in the alt text)")),
    _rec_derive, _rec_design, _rec_alt, "text")

QUOTE = Template("quote", "A statement and who said it.", (
    Field("quote", True, help="the statement"), Field("attribution", help="who said it"),
    Field("role", help="their role or affiliation")),
    _quote_derive, _quote_design, _quote_alt, "quote")

BLOG = Template("blog", "A blog post: title, excerpt, optional feature image, site name.", (
    Field("title", True), Field("excerpt"), Field("site"),
    Field("image", help="feature image, path relative to the project root"),
    Field("image_alt", help="what the feature image shows (added to the alt text)"),
    Field("url", help="the post's address (not drawn; for the record)")),
    _blog_derive, _blog_design, _blog_alt, "title")
