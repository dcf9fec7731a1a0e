"""Who is speaking at a broadcast offset, predicted from the list and the allotted times.

The session becomes a timeline of entries (presentation, one entry per speaker, the reply
blocks of the State under review after given speakers, concluding remarks). With no marks,
entry k starts at the sum of the durations before it. Each "now speaking: X" mark pins entry X
at an offset; the entries after it follow from there (until the next mark), so later
predictions shift with the real schedule. A mark earlier than the prediction of an earlier
entry shrinks that entry (it was cut short or skipped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from uprbuzz.live.broadcast_clock import format_hms
from uprbuzz.live.session_file import LiveSession


class WhoEntry(TypedDict):
    index: int
    kind: str
    name: str
    start: str  # hh:mm:ss
    end: str


class Who(TypedDict):
    """``Timeline.who``: the segment and speaker at an offset (JSON for the console page)."""

    offset: str  # hh:mm:ss
    segment: str | None
    speaker: str | None
    next: str | None
    entry: WhoEntry | None


@dataclass(frozen=True)
class Entry:
    index: int
    kind: str  # presentation | speaker | reply | concluding | opening | other
    name: str  # the State (speaker) or who speaks in the segment
    segment: str  # the segment kind this entry belongs to
    duration: float
    speaker_no: int | None = None  # 0-based position in the speakers list


@dataclass(frozen=True)
class Slot:
    entry: Entry
    start: float
    end: float


def build_entries(session: LiveSession) -> list[Entry]:
    out: list[Entry] = []
    for seg in session.segments:
        if seg.kind != "dialogue":
            kind = seg.kind if seg.kind in ("presentation", "concluding", "opening") else "other"
            out.append(Entry(len(out), kind, seg.speaker or seg.title, seg.kind, seg.duration))
            continue
        replies: dict[str, list[float]] = {}
        for after, secs in seg.replies:
            replies.setdefault(after.casefold(), []).append(secs)
        for no, sp in enumerate(session.speakers):
            out.append(Entry(len(out), "speaker", sp.name, "dialogue", sp.seconds + session.gap, no))
            for secs in replies.get(sp.name.casefold(), []):
                out.append(Entry(len(out), "reply", session.state_under_review or "State under review",
                                 "dialogue", secs))
    return out


class Timeline:
    def __init__(self, session: LiveSession, marks: Mapping[int, float] | None = None) -> None:
        self.session = session
        self.entries = build_entries(session)
        self.marks: dict[int, float] = dict(marks or {})
        self._slots = self._compute()

    # --- marks -----------------------------------------------------------------------------
    def find(self, name: str) -> Entry:
        """The entry for a speaker's name (case-insensitive), or a segment kind."""
        key = name.strip().casefold()
        for e in self.entries:
            if e.kind == "speaker" and e.name.casefold() == key:
                return e
        for e in self.entries:  # a segment: its first entry (the dialogue's first speaker)
            if e.segment.casefold() == key:
                return e
        raise KeyError(f"{name!r} is neither a speaker in the list nor a segment")

    def mark(self, entry: int | str, offset: float) -> Entry:
        """"Now speaking": pin ``entry`` (index or name) at broadcast ``offset``."""
        e = self.entries[entry] if isinstance(entry, int) else self.find(entry)
        self.marks[e.index] = offset
        self._slots = self._compute()
        return e

    def set_marks(self, marks: Mapping[int, float]) -> None:
        """All the marks at once (as stored: another console may have added some)."""
        self.marks = dict(marks)
        self._slots = self._compute()

    def _compute(self) -> list[Slot]:
        starts: list[float] = []
        t = 0.0
        for e in self.entries:
            if e.index in self.marks:
                t = self.marks[e.index]
            starts.append(t)
            t += e.duration
        # A later mark wins over an earlier prediction: clamp backwards so starts never decrease
        # (an entry overtaken by a later mark was cut short or skipped).
        for i in range(len(starts) - 2, -1, -1):
            starts[i] = min(starts[i], starts[i + 1])
        # Entries run until the next one starts: one that is followed by a late mark overran.
        ends = starts[1:] + ([starts[-1] + self.entries[-1].duration] if starts else [])
        slots = [Slot(e, starts[i], ends[i]) for i, e in enumerate(self.entries)]
        return slots

    @property
    def slots(self) -> list[Slot]:
        return list(self._slots)

    @property
    def end(self) -> float:
        return self._slots[-1].end if self._slots else 0.0

    # --- questions -------------------------------------------------------------------------
    def slot_at(self, offset: float) -> Slot | None:
        for s in self._slots:
            if s.start <= offset < s.end:
                return s
        return None

    def start_of(self, name: str) -> float:
        e = self.find(name)
        return self._slots[e.index].start

    def next_speaker(self, offset: float) -> Entry | None:
        cur = self.slot_at(offset)
        if cur is None and offset < 0:
            after = -1
        elif cur is None:
            return None
        else:
            after = cur.entry.index
        for s in self._slots[after + 1:]:
            if s.entry.kind == "speaker" and s.end > s.start:
                return s.entry
        return None

    def who(self, offset: float) -> Who:
        """``{offset, segment, speaker, next, entry}`` — speaker only during the dialogue."""
        slot = self.slot_at(offset)
        nxt = self.next_speaker(offset)
        entry: WhoEntry | None = None
        if slot is not None:
            e = slot.entry
            entry = {"index": e.index, "kind": e.kind, "name": e.name,
                     "start": format_hms(slot.start), "end": format_hms(slot.end)}
        return {
            "offset": format_hms(offset),
            "segment": slot.entry.segment if slot else None,
            "speaker": slot.entry.name if slot and slot.entry.kind == "speaker" else None,
            "next": nxt.name if nxt else None,
            "entry": entry,
        }

    def as_json(self) -> list[dict[str, object]]:
        """The whole predicted timeline, for the console page (it ticks between pushes)."""
        return [{"index": s.entry.index, "kind": s.entry.kind, "name": s.entry.name,
                 "segment": s.entry.segment, "start": s.start, "end": s.end,
                 "marked": s.entry.index in self.marks} for s in self._slots]
