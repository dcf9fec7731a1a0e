"""Card templates after the review: the State's response to one recommendation, and the counts
by position of many, drawn as a bar chart.

Positions are the record's (``uprbuzz.upr_record``): ``supported``, ``noted``, ``supported in
part`` or ``pending``; the words on the card come from the catalogs (context ``position``), so
a badge reads "Noted", « Prise en note », «Принята к сведению» … in the card's language.
"""

from __future__ import annotations

from datetime import date

from uprbuzz.cards import labels as L
from uprbuzz.cards.template_kit import (
    Design,
    Field,
    Frame,
    Template,
    TemplateError,
    TextSpec,
    sentences,
    stack,
    text_style,
)
from uprbuzz.upr_record import PENDING, POSITIONS, normalise_position

# (panel, text on it) brand roles per position: a badge or bar a reader tells apart by its
# words first; the colour only repeats them.
_COLOURS = {"supported": ("accent", "on_accent"), "supported in part": ("accent", "on_accent"),
            "noted": ("muted", "background"), PENDING: ("surface", "text")}


def _position(value: str, field: str = "position") -> str:
    v = value.strip()
    if not v or v.casefold() == PENDING:
        return PENDING
    try:
        return normalise_position(v) or PENDING
    except ValueError:
        raise TemplateError(f"field {field}: {value!r} is not a position (supported, noted, "
                            "supported in part or pending)") from None


def _badge_words(key: str, lang: str) -> str:
    words = L.position(key, lang)
    return words[:1].upper() + words[1:]


def display_link(url: str) -> str:
    """A link as printed on a card: no scheme, no trailing slash (it is read, not clicked)."""
    for prefix in ("https://", "http://"):
        if url.startswith(prefix):
            url = url[len(prefix):]
    return url.rstrip("/")


# --- response ---------------------------------------------------------------------------------

def _resp_derive(v: dict[str, str], today: date) -> None:
    v["position"] = _position(v["position"])
    v["heading"] = v["heading"] or L.label("recommendation", v["lang"])
    v["_title"] = f"{v['heading']} {v['paragraph']}".strip()
    v["_badge"] = v["badge"] or _badge_words(v["position"], v["lang"])
    v["_state"] = L.i18n.format_list(L.states(v["state"]), v["lang"])
    key = f"{v['doc']} ¶{v['paragraph']}" if v["doc"] and v["paragraph"] else v["doc"]
    v["_source"] = " · ".join(x for x in (key, display_link(v["link"])) if x)


def _resp_design(v: dict[str, str], f: Frame) -> Design:
    d = Design()
    bottom = f.footer(d, v, v["_handle"])
    m = f.m
    badge_w = 400 if f.square else 460
    head = 76
    panel, on = _COLOURS[v["position"]]
    d.panels.append((f.rect(f.w - m - badge_w, m, f.w - m, m + head), panel))
    d.texts.append((TextSpec("badge", f.rect(f.w - m - badge_w + 20, m + 6, f.w - m - 20,
                                             m + head - 6),
                             text_style(v, 46, 16, max_lines=1, valign="middle", align="center"),
                             "bold", on, panel), v["_badge"]))
    d.texts.append((TextSpec("title", f.rect(m, m + 6, f.w - m - badge_w - 32, m + head - 6),
                             text_style(v, 52, 18, max_lines=1, valign="middle"), "bold",
                             "accent"), v["_title"]))
    d.panels.append((f.rect(m, m + head + 18, m + 120, m + head + 26), "accent"))
    rows = stack(m + head + 50, bottom, [("text", None), ("state", 110 if f.square else 96),
                                         ("source", (84 if f.square else 44) if v["_source"]
                                          else 0)], gap=22)
    for name, role, weight, size, extra, text in (
            ("text", "text", "regular", 80 if f.square else 72, {"valign": "middle"}, v["text"]),
            ("state", "text", "bold", 46, {"max_lines": 2, "valign": "bottom"},
             "— " + v["_state"]),
            ("source", "muted", "regular", 32, {"max_lines": 2 if f.square else 1},
             v["_source"])):
        y0, y1 = rows[name]
        if text.strip() and y1 > y0:
            d.texts.append((TextSpec(name, f.rect(m, y0, f.w - m, y1),
                                     text_style(v, size, **extra), weight, role), text))
    return d


def _resp_alt(v: dict[str, str], handle: str) -> str:
    head = f"{v['_title']} — {v['_state']}: {L.quote(v['text'], v['lang'])}"
    key = f"{v['doc']} ¶{v['paragraph']}" if v["doc"] and v["paragraph"] else v["doc"]
    return sentences(head, v["_badge"], " ".join(x for x in (key, v["link"]) if x), handle)


# --- summary ----------------------------------------------------------------------------------

def parse_counts(spec: str) -> dict[str, int]:
    """'supported=183; noted=140' -> {'supported': 183, 'noted': 140}, positions in their
    order (supported, noted, supported in part, pending)."""
    found: dict[str, int] = {}
    for item in spec.replace("\n", ";").split(";"):
        if not item.strip():
            continue
        name, sep, num = item.partition("=")
        key = _position(name, "counts")
        if not sep or not num.strip().isdigit():
            raise TemplateError(f"field counts: {item.strip()!r} needs a whole number, e.g. "
                                "supported=183")
        found[key] = found.get(key, 0) + int(num.strip())
    if not any(found.values()):
        raise TemplateError("field counts: nothing to draw, e.g. counts = "
                            "\"supported=183; noted=140\"")
    return {k: found[k] for k in (*POSITIONS, PENDING) if k in found}


def _sum_derive(v: dict[str, str], today: date) -> None:
    counts = parse_counts(v["counts"])
    total = sum(counts.values())
    v["_title"] = v["title"] or L.label("responses_to", v["lang"], n=str(total))
    v["_rows"] = "\n".join(f"{k}\t{n}" for k, n in counts.items())
    v["_numbers"] = L.counts_sentence(counts, v["lang"])


def _rows(v: dict[str, str]) -> list[tuple[str, int]]:
    return [(k, int(n)) for k, n in (r.split("\t") for r in v["_rows"].split("\n"))]


def _sum_design(v: dict[str, str], f: Frame) -> Design:
    d = Design()
    bottom = f.footer(d, v, v["_handle"])
    m = f.m
    rows = _rows(v)
    top = stack(m, bottom, [("title", 150 if f.square else 110), ("doc", 44 if v["doc"] else 0),
                            ("chart", None)], gap=28)
    d.texts.append((TextSpec("title", f.rect(m, *_span(top["title"], f.w - m)),
                             text_style(v, 64, 22, max_lines=2, valign="middle"), "bold", "text"),
                    v["_title"]))
    if v["doc"]:
        d.texts.append((TextSpec("doc", f.rect(m, *_span(top["doc"], f.w - m)),
                                 text_style(v, 34, 16, max_lines=1), "regular", "muted"),
                        v["doc"]))
    y0, y1 = top["chart"]
    inner = f.w - 2 * m
    label_w, num_w, gap = inner * (0.38 if f.square else 0.30), 150, 20
    bar_x0 = m + label_w + gap
    bar_max = f.w - m - num_w - gap - bar_x0
    row_h = min(120.0, (y1 - y0) / len(rows))
    biggest = max(n for _, n in rows)
    for i, (key, n) in enumerate(rows):
        ry0, ry1 = y0 + i * row_h + 8, y0 + (i + 1) * row_h - 8
        panel, _ = _COLOURS[key]
        d.texts.append((TextSpec(f"label{i}", f.rect(m, ry0, m + label_w, ry1),
                                 text_style(v, 44, 16, max_lines=2, valign="middle"), "bold",
                                 "text"), _badge_words(key, v["lang"])))
        width = bar_max * n / biggest if n else 0
        if width >= 1:
            d.panels.append((f.rect(bar_x0, ry0 + 6, bar_x0 + max(width, 6), ry1 - 6), panel))
        nx = bar_x0 + max(width, 0) + gap
        d.texts.append((TextSpec(f"count{i}", f.rect(nx, ry0, nx + num_w, ry1),
                                 text_style(v, 48, 16, max_lines=1, valign="middle"), "bold",
                                 "text"), str(n)))
    return d


def _span(row: tuple[float, float], x1: float) -> tuple[float, float, float]:
    return row[0], x1, row[1]


def _sum_alt(v: dict[str, str], handle: str) -> str:
    return sentences(v["_title"], v["_numbers"], v["doc"], handle)


RESPONSE = Template("response", "The State's response to one recommendation, with its record.", (
    Field("state", True, help="recommending State(s), '; '-separated"),
    Field("text", True, help="the recommendation's text"),
    Field("position", help="supported, noted, supported in part or pending (the badge)"),
    Field("paragraph", help="paragraph number, e.g. 26.1"),
    Field("doc", help="the report's symbol, e.g. A/HRC/46/15"),
    Field("link", help="the record's address (printed without https://, full in the alt text)"),
    Field("heading", help="label (default: 'Recommendation' in the card's language)"),
    Field("badge", help="the badge's words (default: the position in the card's language)")),
    _resp_derive, _resp_design, _resp_alt, "text")

SUMMARY = Template("summary", "The responses counted by position, as a bar chart.", (
    Field("counts", True, help="'supported=183; noted=140; supported in part=24; pending=0'"),
    Field("title", help="default: 'Responses to N recommendations' in the card's language"),
    Field("doc", help="the record the counts come from, e.g. A/HRC/46/15/Add.1")),
    _sum_derive, _sum_design, _sum_alt, "title")
