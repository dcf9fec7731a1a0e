"""Card templates: the fields each takes, where its text goes, and its alt text.

A template turns field values into a :class:`Design` for one size: text boxes (each with its
colour role and the role it sits on, so contrast can be checked), panels, images, the logo box,
and alt text built from everything the card shows. Layouts mirror for right-to-left cards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from uprbuzz.cards import labels as L
from uprbuzz.cards.fonts import paragraph_rtl
from uprbuzz.cards.layout import Box, Style

SIZES = {"1600x900": (1600, 900), "1080x1080": (1080, 1080)}
DEFAULT_ZONES = ("Europe/Zurich=Geneva; UTC=UTC; America/New_York=New York; "
                 "America/Chicago=Chicago; America/Denver=Denver; America/Los_Angeles=Los Angeles")


class TemplateError(ValueError):
    """Unknown template, missing or malformed field."""


@dataclass(frozen=True)
class Field:
    name: str
    required: bool = False
    default: str = ""
    help: str = ""


@dataclass(frozen=True)
class TextSpec:
    name: str
    box: Box
    style: Style
    weight: str = "regular"
    role: str = "text"  # brand colour of the text
    bg: str = "background"  # brand colour it is drawn on (contrast is checked for the pair)


@dataclass
class Design:
    texts: list[tuple[TextSpec, str]] = field(default_factory=list)
    panels: list[tuple[Box, str]] = field(default_factory=list)  # (box, brand colour role)
    image: tuple[Box, str] | None = None  # feature image (path relative to root), contained
    logo: Box | None = None
    kind: str = "flat"  # flat -> PNG, photo -> JPEG


@dataclass(frozen=True)
class Template:
    name: str
    help: str
    fields: tuple[Field, ...]
    derive: Callable[[dict[str, str], date], None]
    design: Callable[[dict[str, str], "Frame"], Design]
    alt: Callable[[dict[str, str], str], str]  # (values, footer handle) -> alt text
    main: str  # the field whose script decides direction and default language

    def resolve(self, fields: Mapping[str, Any], today: date | None = None) -> dict[str, str]:
        known = {f.name for f in self.fields}
        unknown = sorted(set(fields) - known - {"lang"})
        if unknown:
            raise TemplateError(f"template {self.name!r} has no field {', '.join(unknown)} "
                                f"(fields: {', '.join(sorted(known))})")
        v = {f.name: _str(fields.get(f.name, f.default)) for f in self.fields}
        missing = [f.name for f in self.fields if f.required and not v[f.name].strip()]
        if missing:
            raise TemplateError(f"template {self.name!r} needs field {', '.join(missing)}")
        v["lang"] = _str(fields.get("lang", "")) or L.guess_lang(v[self.main])
        self.derive(v, today or date.today())
        return v


class Frame:
    """Geometry helpers for one size; ``rect`` mirrors horizontally for RTL cards."""

    def __init__(self, w: int, h: int, rtl: bool) -> None:
        self.w, self.h, self.rtl = w, h, rtl
        self.square = w == h
        self.m = 72

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> Box:
        b = Box(round(x0), round(y0), round(x1), round(y1))
        return b.mirrored(self.w) if self.rtl else b

    def footer(self, d: Design, v: dict[str, str], handle: str, x0: float | None = None) -> float:
        """Handle text at the start side, logo at the end side; returns the footer's top."""
        m, top = self.m, self.h - self.m - 56
        x0 = m if x0 is None else x0
        d.logo = self.rect(self.w - m - 220, top, self.w - m, self.h - m)
        if handle:
            d.texts.append((TextSpec("footer", self.rect(x0, top, self.w - m - 240, self.h - m),
                                     _style(v, 36, 16, max_lines=1, valign="middle"),
                                     "regular", "muted"), handle))
        d.panels.append((self.rect(x0, top - 28, x0 + 140, top - 22), "accent"))
        return top - 40


def stack(top: float, bottom: float, items: list[tuple[str, float | None]], gap: float = 20
          ) -> dict[str, tuple[float, float]]:
    """Vertical slots: fixed heights, and one flexible (None) taking what is left."""
    fixed = sum(h for _, h in items if h is not None) + gap * (len(items) - 1)
    flex = max(40.0, bottom - top - fixed)
    out, y = {}, top
    for name, h in items:
        hh = flex if h is None else h
        out[name] = (y, y + hh)
        y += hh + gap
    return out


def _str(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "; ".join(_str(x) for x in v)
    return str(v)


def _style(v: dict[str, str], max_size: int, min_size: int = 18, **kw: Any) -> Style:
    return Style(max_size, min_size, lang=v["lang"], base=v.get("_dir") or None, **kw)


# --- recommendation -------------------------------------------------------------------------

def _rec_derive(v: dict[str, str], today: date) -> None:
    v["heading"] = v["heading"] or L.label("recommendation", v["lang"])
    v["state"] = ", ".join(s.strip() for s in v["state"].split(";") if s.strip())
    v["_title"] = f"{v['heading']} {v['paragraph']}".strip()
    v["_when"] = L.label("webcast_at", v["lang"], t=v["timestamp"]) if v["timestamp"] else ""


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
            d.texts.append((TextSpec(name, f.rect(m, y0, f.w - m, y1), _style(v, size, **extra),
                                     weight, role), text))
    return d


def _rec_alt(v: dict[str, str], handle: str) -> str:
    out = f"{v['_title']} — {v['state']}: {L.quote(v['text'], v['lang'])}"
    return _join(out, v["_when"], handle)


# --- quote ----------------------------------------------------------------------------------

def _quote_derive(v: dict[str, str], today: date) -> None:
    v["_quote"] = L.quote(v["quote"], v["lang"])
    sep = {"zh": "，", "ar": "، "}.get(L.base(v["lang"]), ", ")
    v["_by"] = sep.join(x.strip() for x in (v["attribution"], v["role"]) if x.strip())


def _quote_design(v: dict[str, str], f: Frame) -> Design:
    d = Design()
    bottom = f.footer(d, v, v["_handle"])
    m = f.m
    rows = stack(m, bottom, [("quote", None), ("by", 120 if v["_by"] else 0)], gap=28)
    d.panels.append((f.rect(m, m, m + 12, rows["quote"][1]), "accent"))
    d.texts.append((TextSpec("quote", f.rect(m + 48, *_xy(rows["quote"], f.w - m)),
                             _style(v, 104 if f.square else 96, 22, valign="middle", spacing=1.2),
                             "bold"), v["_quote"]))
    if v["_by"]:
        d.texts.append((TextSpec("by", f.rect(m + 48, *_xy(rows["by"], f.w - m)),
                                 _style(v, 44, max_lines=2), "regular", "accent"), "— " + v["_by"]))
    return d


def _xy(row: tuple[float, float], x1: float) -> tuple[float, float, float]:
    return row[0], x1, row[1]


def _quote_alt(v: dict[str, str], handle: str) -> str:
    return _join(v["_quote"] + (f" — {v['_by']}" if v["_by"] else ""), handle)


# --- shared time helpers --------------------------------------------------------------------

def _zones(spec: str) -> list[tuple[str, str]]:
    out = []
    for item in spec.replace("\n", ";").replace(",", ";").split(";"):
        item = item.strip()
        if not item:
            continue
        zone, _, name = item.partition("=")
        zone = zone.strip()
        try:
            ZoneInfo(zone)
        except Exception:
            raise TemplateError(f"unknown time zone {zone!r} in field zones") from None
        out.append((zone, name.strip() or zone.rsplit("/", 1)[-1].replace("_", " ")))
    return out


def _when(value: str, tz: str, name: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        raise TemplateError(f"field {name}: {value!r} is not a date and time "
                            "(write 2020-11-09T14:30+01:00)") from None
    if dt.tzinfo:
        return dt
    try:
        return dt.replace(tzinfo=ZoneInfo(tz or "UTC"))
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        raise TemplateError(f"unknown time zone {tz!r} in field tz (e.g. Europe/Zurich)") from None


def _times(v: dict[str, str]) -> list[tuple[str, str, str]]:
    """(zone name, start, end) per zone; a day shift is marked (+1)/(−1)."""
    start = _when(v["start"], v["tz"], "start")
    end = _when(v["end"], v["tz"], "end") if v.get("end") else None
    ref = start.date()
    rows = []
    for zone, name in _zones(v["zones"]):
        s = start.astimezone(ZoneInfo(zone))
        shift = (s.date() - ref).days
        mark = f" ({'+' if shift > 0 else '−'}{abs(shift)})" if shift else ""
        e = end.astimezone(ZoneInfo(zone)).strftime("%H:%M") if end else ""
        rows.append((name, s.strftime("%H:%M") + mark, e))
    return rows


# --- countdown ------------------------------------------------------------------------------

def _count_derive(v: dict[str, str], today: date) -> None:
    if v["today"]:
        today = date.fromisoformat(v["today"])
    if not v["date"] and not v["start"]:
        raise TemplateError("template 'countdown' needs field date (or start)")
    day = date.fromisoformat(v["date"]) if v["date"] else _when(v["start"], v["tz"], "start").date()
    n = (day - today).days
    if not v["days"]:
        if n < 0:
            raise TemplateError(f"the countdown date {day} has passed")
        v["days"] = str(n)
    n = int(v["days"])
    v["_number"] = str(n) if n else L.label("today", v["lang"])
    v["_label"] = v["label"] or (L.days_word(n, v["lang"]) if n else "")
    v["date"] = day.isoformat()
    times = _times(v) if v["start"] else []
    line = " · ".join(f"{name} {s}" for name, s, _ in times)
    v["_times"] = f"{L.label('webcast_starts', v['lang'])}: {line}" if line else ""
    v["_where"] = L.label("watch_on", v["lang"], where=v["where"]) if v["where"] else ""


def _count_design(v: dict[str, str], f: Frame) -> Design:
    d = Design()
    bottom = f.footer(d, v, v["_handle"])
    m = f.m
    rows = stack(m, bottom, [("number", 300 if f.square else 270), ("label", 64), ("title", None),
                             ("times", 96 if v["_times"] else 0), ("where", 44 if v["_where"] else 0)])
    for name, role, weight, size, extra, text in (
            ("number", "accent", "bold", 300, {"max_lines": 1}, v["_number"]),
            ("label", "text", "bold", 56, {"max_lines": 1}, v["_label"]),
            ("title", "text", "regular", 72, {"valign": "middle"}, f"{v['title']}\n{v['date']}"
             if v["title"] else v["date"]),
            ("times", "muted", "regular", 40, {"max_lines": 2}, v["_times"]),
            ("where", "muted", "regular", 34, {"max_lines": 1}, v["_where"])):
        y0, y1 = rows[name]
        if text and y1 > y0:
            d.texts.append((TextSpec(name, f.rect(m, y0, f.w - m, y1),
                                     _style(v, size, spacing=1.0 if name == "number" else 1.25,
                                            **extra), weight, role), text))
    return d


def _count_alt(v: dict[str, str], handle: str) -> str:
    head = f"{v['_number']} {v['_label']}".strip()
    return _join(head, f"{v['title']} · {v['date']}" if v["title"] else v["date"], v["_times"],
                 v["_where"], handle)


# --- watch-live -----------------------------------------------------------------------------

def _live_derive(v: dict[str, str], today: date) -> None:
    v["heading"] = v["heading"] or L.label("watch_live", v["lang"])
    v["_rows"] = "\n".join("\t".join(r) for r in _times(v))
    v["_date"] = _when(v["start"], v["tz"], "start").date().isoformat()
    v["_where"] = L.label("watch_on", v["lang"], where=v["where"]) if v["where"] else ""


def _live_design(v: dict[str, str], f: Frame) -> Design:
    d = Design()
    bottom = f.footer(d, v, v["_handle"])
    m = f.m
    rows = [r.split("\t") for r in v["_rows"].split("\n") if r]
    if f.square:
        left = (m, f.w - m)
        table_top = m + 340
        text_rows = stack(m, table_top - 24, [("heading", 64), ("title", None), ("where", 44)])
        table = (m, table_top, f.w - m, bottom)
    else:
        left = (m, f.w * 0.46)
        text_rows = stack(m, bottom, [("heading", 80), ("title", None), ("where", 100)])
        table = (f.w * 0.50, m, f.w - m, bottom)
    title = f"{v['title']}\n{v['_date']}" if v["title"] else v["_date"]
    for name, role, weight, size, extra, text in (
            ("heading", "accent", "bold", 64, {"max_lines": 1}, v["heading"]),
            ("title", "text", "bold", 64, {"valign": "middle"}, title),
            ("where", "muted", "regular", 36, {"max_lines": 2}, v["_where"])):
        y0, y1 = text_rows[name]
        if text:
            d.texts.append((TextSpec(name, f.rect(left[0], y0, left[1], y1), _style(v, size, **extra),
                                     weight, role), text))
    x0, y0, x1, y1 = table
    d.panels.append((f.rect(x0, y0, x1, y1), "surface"))
    pad = 28
    n = len(rows) + 1
    rh = (y1 - y0 - 2 * pad) / n
    has_end = any(r[2] for r in rows)
    head = [("", "name"), (L.label("start", v["lang"]), "start")]
    if has_end:
        head.append((L.label("end", v["lang"]), "end"))
    cols = _columns(x0 + pad, x1 - pad, has_end)
    for i, row in enumerate([[h for h, _ in head]] + [r[: len(head)] for r in rows]):
        ry = y0 + pad + i * rh
        for j, text in enumerate(row):
            if not text:
                continue
            cx0, cx1 = cols[j]
            role = "accent" if i == 0 else ("text" if j == 0 else "muted" if j == 2 else "text")
            st = _style(v, 48, 14, max_lines=1, valign="middle", align="start" if j == 0 else "end")
            d.texts.append((TextSpec(f"cell{i}.{j}", f.rect(cx0, ry + 4, cx1, ry + rh - 4), st,
                                     "bold" if i == 0 or j == 1 else "regular", role, "surface"),
                            text))
    return d


def _columns(x0: float, x1: float, has_end: bool) -> list[tuple[float, float]]:
    w = x1 - x0
    if has_end:
        return [(x0, x0 + w * 0.46), (x0 + w * 0.48, x0 + w * 0.73), (x0 + w * 0.75, x1)]
    return [(x0, x0 + w * 0.6), (x0 + w * 0.62, x1)]


def _live_alt(v: dict[str, str], handle: str) -> str:
    rows = [r.split("\t") for r in v["_rows"].split("\n") if r]
    times = "; ".join(f"{n} {s}" + (f"–{e}" if e else "") for n, s, e in rows)
    return _join(v["heading"], v["title"], v["_date"], times, v["_where"], handle)


# --- blog -----------------------------------------------------------------------------------

def _blog_derive(v: dict[str, str], today: date) -> None:
    pass


def _blog_design(v: dict[str, str], f: Frame) -> Design:
    d = Design(kind="photo" if v["image"] else "flat")
    m = f.m
    x0, top = m, m
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
            d.texts.append((TextSpec(name, f.rect(x0, y0, f.w - m, y1), _style(v, size, **extra),
                                     weight, role), text))
    return d


def _site(v: dict[str, str]) -> str:
    return v["site"] or v.get("_brand", "")


def _blog_alt(v: dict[str, str], handle: str) -> str:
    img = v["image_alt"].strip()
    return _join(_site(v), v["title"], v["excerpt"], img, handle)


def _join(*parts: str) -> str:
    out = []
    for p in parts:
        p = " ".join(p.split())
        if p:
            out.append(p if p[-1] in ".!?。！？:：" else p + ".")
    return " ".join(out)


TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("recommendation", "A UPR recommendation as it is made (live mode).", (
        Field("state", True, help="recommending State(s), '; '-separated"),
        Field("text", True, help="the recommendation's text"),
        Field("paragraph", help="paragraph number, e.g. 26.1"),
        Field("timestamp", help="offset into the webcast, e.g. 00:41:10"),
        Field("heading", help="label (default: 'Recommendation' in the card's language)")),
        _rec_derive, _rec_design, _rec_alt, "text"),
    Template("quote", "A statement and who said it.", (
        Field("quote", True, help="the statement"), Field("attribution", help="who said it"),
        Field("role", help="their role or affiliation")),
        _quote_derive, _quote_design, _quote_alt, "quote"),
    Template("countdown", "Days until the review, with the webcast time in several zones.", (
        Field("date", help="day of the review, YYYY-MM-DD (default: the date of start)"),
        Field("title", help="e.g. 'Review of the United States'"),
        Field("start", help="webcast start, e.g. 2020-11-09T14:30+01:00"),
        Field("tz", default="UTC", help="zone for a start without offset"),
        Field("zones", default="Europe/Zurich=Geneva; America/New_York=New York; "
              "America/Los_Angeles=Los Angeles", help="'Zone=Name; …'"),
        Field("where", help="where to watch, e.g. webtv.un.org"),
        Field("days", help="override the computed number of days"),
        Field("today", help="count from this day (default: today)"),
        Field("label", help="words under the number (default: 'days to go', localised)")),
        _count_derive, _count_design, _count_alt, "title"),
    Template("watch-live", "The event's times in a table of zones, and where to watch.", (
        Field("start", True, help="e.g. 2020-11-09T14:30+01:00"),
        Field("end", help="scheduled end, same form"), Field("title", help="what is on"),
        Field("tz", default="UTC", help="zone for times without offset"),
        Field("zones", default=DEFAULT_ZONES, help="'Zone=Name; …'"),
        Field("where", default="webtv.un.org", help="where to watch"),
        Field("heading", help="default: 'Watch live', localised")),
        _live_derive, _live_design, _live_alt, "title"),
    Template("blog", "A blog post: title, excerpt, optional feature image, site name.", (
        Field("title", True), Field("excerpt"), Field("site"),
        Field("image", help="feature image, path relative to the project root"),
        Field("image_alt", help="what the feature image shows (added to the alt text)"),
        Field("url", help="the post's address (not drawn; for the record)")),
        _blog_derive, _blog_design, _blog_alt, "title"),
)}


def get(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise TemplateError(f"unknown card template {name!r} "
                            f"(templates: {', '.join(sorted(TEMPLATES))})") from None


def is_rtl(v: dict[str, str], t: Template) -> bool:
    return L.base(v["lang"]) == "ar" or paragraph_rtl(v[t.main])
