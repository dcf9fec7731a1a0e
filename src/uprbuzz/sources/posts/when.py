"""Times written by people: ISO 8601 with an offset, or a local wall time in an IANA zone.

A wall time that a daylight-saving change skips (spring forward) or repeats (fall back) is an
error, never a guess: zoneinfo gives both readings (``fold=0/1``); when they differ, the time
either round-trips through UTC (ambiguous, it happens twice) or does not (it does not exist).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

Problem = tuple[str, str, str]  # code, message, severity

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@lru_cache(maxsize=64)
def zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None


def localize(naive: datetime, zone: ZoneInfo, zone_name: str) -> tuple[datetime | None, Problem | None]:
    """Attach ``zone`` to a wall time, refusing times that do not exist or happen twice."""
    a = naive.replace(tzinfo=zone, fold=0)
    b = naive.replace(tzinfo=zone, fold=1)
    if a.utcoffset() == b.utcoffset():
        return a, None
    shown = naive.strftime("%Y-%m-%d %H:%M")
    back = a.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != naive:
        return None, ("nonexistent-time",
                      f"{shown} does not exist in {zone_name}: the clocks skip an hour "
                      f"({_off(a)} to {_off(b)}) when daylight-saving time starts; pick another "
                      f"time, e.g. {back:%H:%M}", "error")
    return None, ("ambiguous-time",
                  f"{shown} happens twice in {zone_name} (the clocks go back that night); "
                  f"write it with its offset: {naive.strftime('%Y-%m-%dT%H:%M')}{_off(a)} for "
                  f"the first or {naive.strftime('%Y-%m-%dT%H:%M')}{_off(b)} for the second",
                  "error")


def _off(dt: datetime) -> str:
    s = dt.strftime("%z")
    return f"{s[:3]}:{s[3:]}" if s else "+00:00"


def parse_at(value: str, zone_name: str, has_tz: bool = False) -> tuple[datetime | None, Problem | None]:
    """``2020-11-09T14:30:00+01:00`` or ``2020-11-09 14:30`` (in ``zone_name``) -> aware datetime."""
    s = value.strip()
    if _DATE_ONLY.match(s):
        return None, ("bad-time", f"'at' needs a time of day as well: e.g. '{s} 14:30'", "error")
    try:
        dt = datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        return None, ("bad-time", f"'{value}' is not a date and time; write e.g. "
                      "'2020-11-09 14:30' (local, in tz) or '2020-11-09T14:30:00+01:00'", "error")
    zone = zone_or_none(zone_name)
    if dt.tzinfo is not None:
        if has_tz and zone is not None:
            there = dt.astimezone(zone)
            if there.utcoffset() != dt.utcoffset():
                return dt, ("offset-mismatch",
                            f"'at' has offset {_off(dt)} but {zone_name} is at {_off(there)} "
                            f"then; the offset wins ({dt.astimezone(UTC):%H:%M} UTC, "
                            f"{there:%H:%M} in {zone_name})", "warning")
        return dt, None
    if zone is None:
        return None, None  # the unknown zone is reported on its own key
    return localize(dt, zone, zone_name)


def parse_user_time(value: str, zone_name: str) -> datetime:
    """A command-line time (``--from``): like ``at``, but raises ValueError with the reason."""
    value = value.strip()
    dt, problem = parse_at(value + " 00:00" if _DATE_ONLY.match(value) else value, zone_name)
    if problem and problem[2] == "error" or dt is None:
        raise ValueError(problem[1] if problem else f"'{value}' is not a date and time")
    return dt
