"""Card templates about when: days until the review, and the webcast's times in several zones.

Times are written with an offset (``2020-11-09T14:30+01:00``) or in the zone of the ``tz`` field;
``zones`` lists ``Zone=Name`` pairs, and a time on another day there is marked (+1)/(−1).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

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

DEFAULT_ZONES = ("Europe/Zurich=Geneva; UTC=UTC; America/New_York=New York; "
                 "America/Chicago=Chicago; America/Denver=Denver; America/Los_Angeles=Los Angeles")


# --- time helpers (both templates) ---------------------------------------------------------

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
        e = end.astimezone(ZoneInfo(zone)).strftime("%H:%M") + _shift(end, zone, ref) if end else ""
        rows.append((name, s.strftime("%H:%M") + _shift(start, zone, ref), e))
    return rows


def _unbroken(text: str) -> str:
    """A zone's name and its time as one unit a line never breaks inside ('Los Angeles 05:30')."""
    return text.replace(" ", "\u00a0")


def _shift(t: datetime, zone: str, ref: date) -> str:
    """' (+1)' / ' (−1)' when ``t`` falls on another day in ``zone`` than the event's day."""
    shift = (t.astimezone(ZoneInfo(zone)).date() - ref).days
    return f" ({'+' if shift > 0 else '−'}{abs(shift)})" if shift else ""


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
    v["_day"] = L.date_text(day, v["lang"])
    times = _times(v) if v["start"] else []
    line = " · ".join(_unbroken(f"{name} {s}") for name, s, _ in times)
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
            ("title", "text", "regular", 72, {"valign": "middle"}, f"{v['title']}\n{v['_day']}"
             if v["title"] else v["_day"]),
            ("times", "muted", "regular", 40, {"max_lines": 2}, v["_times"]),
            ("where", "muted", "regular", 34, {"max_lines": 1}, v["_where"])):
        y0, y1 = rows[name]
        if text and y1 > y0:
            d.texts.append((TextSpec(name, f.rect(m, y0, f.w - m, y1),
                                     text_style(v, size, spacing=1.0 if name == "number" else 1.25,
                                            **extra), weight, role), text))
    return d


def _count_alt(v: dict[str, str], handle: str) -> str:
    head = f"{v['_number']} {v['_label']}".strip()
    times = v["_times"].replace("\u00a0", " ")
    return sentences(head, f"{v['title']} · {v['_day']}" if v["title"] else v["_day"], times,
                 v["_where"], handle)


# --- watch-live -----------------------------------------------------------------------------

def _live_derive(v: dict[str, str], today: date) -> None:
    v["heading"] = v["heading"] or L.label("watch_live", v["lang"])
    v["_rows"] = "\n".join("\t".join(r) for r in _times(v))
    v["_date"] = L.date_text(_when(v["start"], v["tz"], "start").date(), v["lang"])
    v["_where"] = L.label("watch_on", v["lang"], where=v["where"]) if v["where"] else ""


def _live_design(v: dict[str, str], f: Frame) -> Design:
    d = Design()
    bottom = f.footer(d, v, v["_handle"])
    m = f.m
    rows = [r.split("\t") for r in v["_rows"].split("\n") if r]
    left: tuple[float, float]
    table: tuple[float, float, float, float]
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
            d.texts.append((TextSpec(name, f.rect(left[0], y0, left[1], y1),
                                     text_style(v, size, **extra), weight, role), text))
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
            st = text_style(v, 48, 14, max_lines=1, valign="middle",
                            align="start" if j == 0 else "end")
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
    return sentences(v["heading"], v["title"], v["_date"], times, v["_where"], handle)


COUNTDOWN = Template("countdown", "Days until the review, with the webcast time in several zones.", (
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
    _count_derive, _count_design, _count_alt, "title")

WATCH_LIVE = Template("watch-live", "The event's times in a table of zones, and where to watch.", (
    Field("start", True, help="e.g. 2020-11-09T14:30+01:00"),
    Field("end", help="scheduled end, same form"), Field("title", help="what is on"),
    Field("tz", default="UTC", help="zone for times without offset"),
    Field("zones", default=DEFAULT_ZONES, help="'Zone=Name; …'"),
    Field("where", default="webtv.un.org", help="where to watch"),
    Field("heading", help="default: 'Watch live', localised")),
    _live_derive, _live_design, _live_alt, "title")
