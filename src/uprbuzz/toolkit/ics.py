"""An iCalendar file (RFC 5545) of the key moments: webcast starts and countdown days.

Written by hand (times in UTC, text escaped, lines folded at 75 octets) so that building a
toolkit needs no calendar library; the tests read it back with ``icalendar``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Moment:
    uid: str
    start: datetime  # aware
    summary: str
    end: datetime | None = None
    description: str = ""
    url: str = ""


def _utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(s: str) -> str:
    return (s.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\n").replace("\n", "\\n"))


def _fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continuation lines starting with a space (never splitting
    a UTF-8 sequence)."""
    out: list[str] = []
    cur, size = "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > (75 if not out else 74):
            out.append(cur)
            cur, size = "", 0
        cur += ch
        size += n
    out.append(cur)
    return [out[0]] + [" " + x for x in out[1:]]


def calendar(moments: Iterable[Moment], name: str, stamp: datetime, lang: str = "") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//uprbuzz//partners toolkit//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{_text(name)}"]
    for m in sorted(moments, key=lambda m: (m.start, m.uid)):
        lines += ["BEGIN:VEVENT", f"UID:{m.uid}", f"DTSTAMP:{_utc(stamp)}",
                  f"DTSTART:{_utc(m.start)}"]
        if m.end is not None and m.end > m.start:
            lines.append(f"DTEND:{_utc(m.end)}")
        summary = f"SUMMARY;LANGUAGE={lang}:" if lang else "SUMMARY:"
        lines.append(summary + _text(m.summary))
        if m.description:
            lines.append(("DESCRIPTION;LANGUAGE=" + lang + ":" if lang else "DESCRIPTION:")
                         + _text(m.description))
        if m.url:
            lines.append(f"URL:{m.url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(x + "\r\n" for line in lines for x in _fold(line))
