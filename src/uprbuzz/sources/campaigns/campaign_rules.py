"""Campaign rule grammar and the calendar arithmetic behind it (no files, no Posts).

``every = "daily 09:00"``, ``"weekdays 12:30"``, ``"weekends 10:00"``, ``"mon,wed,fri 18:00"``,
``"daily 09:00,18:00"``; ``dates = ["12-10", "2020-11-13"]`` with ``time = "09:00"``.
Times are wall-clock times in the campaign zone, so a 09:00 rule stays 09:00 local across a
daylight-saving change. A local time that does not exist (spring gap) is moved forward by the
gap and reported; an ambiguous one (autumn overlap) is the first of the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from uprbuzz.errors import UprbuzzError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class RuleError(UprbuzzError, ValueError):
    """A rule a user wrote wrongly; the message is a plain sentence."""


def parse_time(s: str) -> time:
    m = _TIME.match(s.strip())
    if not m:
        raise RuleError(f"{s.strip()!r} is not a time; write 24-hour HH:MM, e.g. 09:00")
    return time(int(m.group(1)), int(m.group(2)))


def parse_every(spec: str) -> tuple[frozenset[int], tuple[time, ...]]:
    """``"mon,wed,fri 18:00"`` -> ({0, 2, 4}, (18:00,))."""
    bits = spec.strip().split(None, 1)
    if len(bits) != 2:
        raise RuleError(
            f"every = {spec!r} needs days and a time, e.g. \"daily 09:00\", "
            "\"weekdays 12:30\" or \"mon,wed,fri 18:00\""
        )
    days_s, times_s = bits[0].lower(), bits[1]
    if days_s in DAY_SETS:
        days = DAY_SETS[days_s]
    else:
        days_l = []
        for d in days_s.split(","):
            d = d.strip()[:3]
            if d not in DAY_NAMES:
                raise RuleError(
                    f"unknown day {d!r} in every = {spec!r}; use daily, weekdays, weekends "
                    "or names like mon,wed,fri"
                )
            days_l.append(DAY_NAMES.index(d))
        days = frozenset(days_l)
    times = tuple(sorted({parse_time(t) for t in times_s.replace(" ", "").split(",") if t}))
    if not times:
        raise RuleError(f"every = {spec!r} has no time")
    return days, times


def parse_date_spec(s: str) -> tuple[int | None, int, int]:
    """``"12-10"`` (every year) -> (None, 12, 10); ``"2020-11-13"`` -> (2020, 11, 13)."""
    m = re.match(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})$", str(s).strip())
    if not m:
        raise RuleError(f"{s!r} is not a date; write MM-DD (every year) or YYYY-MM-DD")
    y = int(m.group(1)) if m.group(1) else None
    mo, d = int(m.group(2)), int(m.group(3))
    try:
        date(y or 2000, mo, d)  # 2000 is a leap year: "02-29" is allowed for annual dates
    except ValueError as e:
        raise RuleError(f"{s!r} is not a valid date ({e})") from None
    return y, mo, d


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(f"unknown time zone {name!r}; use an IANA name like Europe/Zurich") from None


def localize(day: date, t: time, tz: ZoneInfo) -> tuple[datetime, str | None]:
    """The aware datetime for wall time ``t`` on ``day``; a warning when it had to move."""
    naive = datetime.combine(day, t)
    at = naive.replace(tzinfo=tz, fold=0)  # fold=0: the first of two ambiguous times
    real = at.astimezone(UTC).astimezone(tz)
    if real.replace(tzinfo=None) != naive:
        # A spring-forward gap: fold=0 resolves with the pre-gap offset, which lands
        # after the gap by exactly its length; keep that instant and say so.
        return real, (f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key} (clocks go forward); "
                      f"posting at {real:%H:%M} instead")
    return at, None


def days_in(start: date, end: date) -> Iterator[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def every_dates(days: frozenset[int], start: date, end: date) -> Iterator[date]:
    for d in days_in(start, end):
        if d.weekday() in days:
            yield d


def fixed_dates(specs: list[tuple[int | None, int, int]], start: date, end: date) -> list[date]:
    out: set[date] = set()
    for y, mo, d in specs:
        years = [y] if y else range(start.year, end.year + 1)
        for yy in years:
            try:
                dd = date(yy, mo, d)
            except ValueError:  # 02-29 in a common year
                continue
            if start <= dd <= end:
                out.add(dd)
    return sorted(out)


# --- text templates --------------------------------------------------------------------------

_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_]+)(?::([^{}]+))?\}")
FIELDS = ("days", "days_label", "event_time", "event_date", "time", "date", "weekday", "campaign")


@dataclass(frozen=True)
class Context:
    """What a template can refer to for one occurrence."""

    at: datetime  # the occurrence, in the campaign zone
    campaign: str
    event: datetime | None = None  # in the event zone

    @property
    def days(self) -> int | None:
        if self.event is None:
            return None
        return (self.event.date() - self.at.astimezone(self.event.tzinfo).date()).days


def _fmt_date(d: datetime) -> str:
    return f"{d.day} {d:%B %Y}"


def render(template: str, ctx: Context) -> str:
    """Fill ``{days}``, ``{event_time}``, ``{time:America/New_York}``, ``{date}`` ... ."""

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok in ("{{", "}}"):
            return tok[0]
        name, arg = m.group(1), m.group(2)
        ev = ctx.event
        if name == "days":
            if ctx.days is None:
                raise RuleError("{days} needs an event = \"YYYY-MM-DD HH:MM\" in the rule")
            return str(ctx.days)
        if name == "days_label":
            return "day" if ctx.days == 1 else "days"
        if name == "campaign":
            return ctx.campaign
        if name in ("event_time", "event_date"):
            if ev is None:
                raise RuleError(f"{{{name}}} needs an event = \"YYYY-MM-DD HH:MM\" in the rule")
            ev_z = ev.astimezone(zone(arg)) if arg else ev
            return f"{ev_z:%H:%M}" if name == "event_time" else _fmt_date(ev_z)
        if name == "time":
            base = ev if ev is not None else ctx.at  # countdowns: the event's time elsewhere
            return f"{(base.astimezone(zone(arg)) if arg else base):%H:%M}"
        if name == "date":
            return ctx.at.strftime(arg) if arg else _fmt_date(ctx.at)
        if name == "weekday":
            return f"{ctx.at:%A}"
        raise RuleError(f"unknown placeholder {{{name}}}; known: "
                        + ", ".join("{" + f + "}" for f in FIELDS))

    return _FIELD.sub(sub, template)


def render_fields(fields: Mapping[str, object], ctx: Context) -> dict[str, str]:
    return {k: render(str(v), ctx) for k, v in fields.items()}


def rotation_index(k: int, n: int, seed: str, shuffled: bool) -> int:
    """Which pool item occurrence number ``k`` uses: every item once per cycle of ``n``.

    Listed order is plain round robin. Shuffled order permutes each cycle with a seed derived
    from (campaign, rule, cycle), so it is the same on every machine and every run, and a
    cycle never starts with the item the previous one ended with.
    """
    if not shuffled or n < 3:  # with 2 items the only repeat-free order is alternation
        return k % n
    cycle, pos = divmod(k, n)
    perm = _perm(n, f"{seed}:{cycle}")
    if cycle > 0:
        prev_last = _perm(n, f"{seed}:{cycle - 1}")[-1]
        if perm[0] == prev_last:
            perm[0], perm[1] = perm[1], perm[0]
    return perm[pos]


def _perm(n: int, seed: str) -> list[int]:
    import random

    r = random.Random(seed)  # str seeds hash with SHA-512: stable across runs/platforms
    p = list(range(n))
    r.shuffle(p)
    return p
