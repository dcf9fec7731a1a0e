"""The broadcast clock: offset = wall time - actual start of the webcast.

The operator syncs it in one action ("the broadcast shows 00:42:10 now"); every live post
records the offset at which it was submitted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from uprbuzz.clock import Clock, SystemClock


def parse_hms(value: str | float | int) -> float:
    """Seconds from "00:42:10", "42:10", "1:02:03", "2530" or a number; ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    s = str(value).strip()
    neg = s.startswith("-")
    s = s.lstrip("+-")
    if not re.fullmatch(r"\d+(\.\d+)?|\d+(:\d{1,2}){1,2}(\.\d+)?", s):
        raise ValueError(f"not a broadcast time: {value!r} (use hh:mm:ss, e.g. 00:42:10)")
    pieces = s.split(":")
    for piece in pieces[1:]:  # minutes and seconds: 0-59 ("99:99" is no time on a clock)
        if float(piece) >= 60:
            raise ValueError(f"not a broadcast time: {value!r} (minutes and seconds go up to 59;"
                             " use hh:mm:ss, e.g. 00:42:10)")
    total = 0.0
    for piece in pieces:
        total = total * 60 + float(piece)
    return -total if neg else total


def format_hms(seconds: float) -> str:
    """00:42:10 (whole seconds, truncated); negative offsets (before the start) get a minus sign."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    return f"{sign}{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class BroadcastClock:
    """Maps wall time to broadcast offset; ``start`` is the wall time of offset 00:00:00."""

    def __init__(self, start: datetime, clock: Clock | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("BroadcastClock needs an aware start time")
        self.start = start
        self.clock = clock or SystemClock()

    def now(self) -> datetime:
        return self.clock.now()

    def offset(self, at: datetime | None = None) -> float:
        return ((at or self.clock.now()) - self.start).total_seconds()

    def wall(self, offset: float) -> datetime:
        return self.start + timedelta(seconds=offset)

    def sync(self, shown: str | float, at: datetime | None = None) -> datetime:
        """The broadcast shows ``shown`` at wall time ``at`` (default now): move the start."""
        self.start = (at or self.clock.now()) - timedelta(seconds=parse_hms(shown))
        return self.start
