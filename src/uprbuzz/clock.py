"""The one seam for "now". Tests and rehearsals pass a clock instead of patching time.

``UPRBUZZ_NOW`` (ISO 8601 with offset) freezes the clock of a whole process, so subprocess
tests can run ``uprbuzz tick`` "on" a given day; ``UPRBUZZ_NOW_RATE`` makes it run from there
at that speed instead of standing still.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FixedClock:
    """A clock that moves only when told to (``advance``) or when someone sleeps on it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | float) -> None:
        self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))


class OffsetClock:
    """Real time shifted to start at ``start`` and running ``rate`` times as fast."""

    def __init__(self, start: datetime, rate: float = 1.0) -> None:
        self._start, self._rate, self._t0 = start, rate, time.monotonic()

    @property
    def rate(self) -> float:
        """Clock seconds per real second (the daemon maps due times to the wall clock with it)."""
        return self._rate

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._rate)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self._rate)


def default_clock() -> Clock:
    fixed = os.environ.get("UPRBUZZ_NOW")
    if not fixed:
        return SystemClock()
    start = datetime.fromisoformat(fixed)
    if start.tzinfo is None:
        raise ValueError("UPRBUZZ_NOW needs a UTC offset, e.g. 2020-11-09T13:30:00+00:00")
    return OffsetClock(start, float(os.environ.get("UPRBUZZ_NOW_RATE", "1")))


def window_bound(value: str, zone: tzinfo, *, end: bool = False) -> datetime:
    """A ``--from``/``--to`` bound: a date is its whole day in ``zone`` (``--to 2020-11-09``
    includes the 9th: the bound is the next midnight, exclusive), an ISO time is taken in
    ``zone`` unless it names an offset. ValueError when it is neither."""
    from datetime import date, time

    v = value.strip()
    if len(v) == 10:
        d = date.fromisoformat(v)
        return datetime.combine(d + timedelta(days=1) if end else d, time(), zone)
    dt = datetime.fromisoformat(v.replace(" ", "T", 1))
    return dt if dt.tzinfo else dt.replace(tzinfo=zone)
