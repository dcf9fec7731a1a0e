"""Review-day session files: ``schedules/<session>.toml`` with a ``[session]`` table.

A session file describes one webcast: when it starts, where it is streamed, the segments
(presentation, interactive dialogue with the reply blocks of the State under review, concluding
remarks), the speakers list with allotted seconds, the anchor post, a cue sheet of pre-approved
posts and, optionally, the recommendations (CSV import or inline). See docs/live.md.

Errors carry the file and line (``SessionError``), found by a small locator over the raw text
because ``tomllib`` does not keep positions.
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from uprbuzz.errors import UprbuzzError

SEGMENT_KINDS = ("opening", "presentation", "dialogue", "concluding", "other")
DEFAULT_TEMPLATE = "{speaker}: {cursor} {hashtags}"


class SessionError(UprbuzzError):
    """A problem in a session file a user can fix: ``path:line: error: message``."""

    def __init__(self, message: str, path: str, line: int = 1) -> None:
        super().__init__(message, path, line)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: error: {self.message}"


@dataclass(frozen=True)
class Segment:
    kind: str
    title: str
    duration: float  # seconds; for the dialogue: the reply blocks are added from `replies`
    speaker: str = ""  # who speaks in a non-dialogue segment (default: the State under review)
    replies: tuple[tuple[str, float], ...] = ()  # (after speaker, seconds): SuR reply blocks


@dataclass(frozen=True)
class Speaker:
    name: str
    seconds: float


@dataclass(frozen=True)
class Cue:
    id: str
    text: str
    segment: str | None = None  # fire when this segment starts ...
    speaker: str | None = None  # ... or when this speaker starts ...
    at: float | None = None  # ... or at this broadcast offset
    delay: float = 0.0  # seconds after the segment/speaker start
    card: dict[str, str] | None = None  # {template, ...fields}


@dataclass(frozen=True)
class Recommendation:
    paragraph: str
    states: tuple[str, ...]
    text: str
    theme: str = ""


@dataclass(frozen=True)
class LiveSession:
    id: str
    path: str
    title: str
    start: datetime  # scheduled start, aware
    timezone: str
    webtv: str
    hashtags: tuple[str, ...]
    anchor: str
    segments: tuple[Segment, ...]
    speakers: tuple[Speaker, ...]
    cues: tuple[Cue, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    state_under_review: str = ""
    template: str = DEFAULT_TEMPLATE
    gap: float = 0.0  # transition seconds added to each speaker's slot
    # ``channels`` (or ``platforms``) in the file: channel names, a platform's name standing
    # for all its channels; None: every enabled channel (Config.pick)
    platforms: tuple[str, ...] | None = None
    langs: tuple[str, ...] = ("en",)
    extra: dict[str, Any] = field(default_factory=dict)

    def recommendations_by(self, state: str) -> list[Recommendation]:
        key = state.casefold()
        return [r for r in self.recommendations if key in (s.casefold() for s in r.states)]

    def speaker_index(self, name: str) -> int | None:
        key = name.strip().casefold()
        for i, s in enumerate(self.speakers):
            if s.name.casefold() == key:
                return i
        return None


class _Locator:
    """Finds the line of a key or value in the raw TOML text (best effort, 1-based)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def header(self, name: str, nth: int = 0) -> int:
        pat = re.compile(r"^\s*\[{1,2}\s*" + re.escape(name) + r"\s*\]{1,2}\s*(#.*)?$")
        hits = [i for i, ln in enumerate(self.lines) if pat.match(ln)]
        return hits[nth] + 1 if nth < len(hits) else (hits[-1] + 1 if hits else 1)

    def key(self, key: str, table: str = "session", nth: int = 0) -> int:
        start = self.header(table, nth) - 1 if table else 0
        pat = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(start, len(self.lines)):
            if i > start and self.lines[i].lstrip().startswith("["):
                break
            if pat.match(self.lines[i]):
                return i + 1
        return start + 1

    def value(self, needle: str, default: int = 1) -> int:
        for i, ln in enumerate(self.lines):
            if needle in ln:
                return i + 1
        return default


def parse_span(value: Any) -> float:
    """Seconds from 55, "55s", "25m", "1h30m", "00:25:00" or "25:00"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip().lower()
    if re.fullmatch(r"\d+(:\d{1,2}){1,2}", s):
        total = 0
        for piece in s.split(":"):
            total = total * 60 + int(piece)
        return float(total)
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?", s)
    if not s or not m or not any(m.groups()):
        raise ValueError(f"not a duration: {value!r} (use 55s, 25m, 1h30m or 00:25:00)")
    h, mi, se = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + se


_SESSION_KEYS = {"title", "start", "timezone", "webtv", "hashtags", "anchor", "segments", "speakers",
                 "speaker_seconds", "gap_seconds", "cues", "recommendations", "state_under_review",
                 "template", "platforms", "channels", "lang", "extra"}


def load_session(path: str | Path, root: Path | None = None) -> LiveSession:
    """Parse a session file; ``root`` (project root) resolves relative CSV paths and names."""
    p = Path(path)
    shown = str(p.relative_to(root)) if root and p.is_relative_to(root) else str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise SessionError(f"cannot read the session file: {e.strerror}", shown) from e
    return parse_session(text, shown, session_id=p.stem, base=p.parent, root=root)


def parse_session(text: str, path: str = "<session>", *, session_id: str = "session",
                  base: Path | None = None, root: Path | None = None) -> LiveSession:
    loc = _Locator(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise SessionError(f"TOML syntax error: {e}", path, int(m.group(1)) if m else 1) from e
    s = data.get("session")
    if not isinstance(s, dict):
        raise SessionError("no [session] table: a live session file starts with [session]", path)

    def fail(msg: str, line: int) -> SessionError:
        return SessionError(msg, path, line)

    for k in s:
        if k not in _SESSION_KEYS:
            raise fail(f"unknown key {k!r} in [session] (known: {', '.join(sorted(_SESSION_KEYS))})",
                       loc.key(k))
    for k in ("title", "start"):
        if not s.get(k):
            raise fail(f"[session] needs {k!r}", loc.header("session"))
    tz = str(s.get("timezone", "UTC"))
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown time zone {tz!r}", loc.key("timezone")) from None
    start_raw = s["start"]
    try:
        start = start_raw if isinstance(start_raw, datetime) else datetime.fromisoformat(str(start_raw))
    except ValueError:
        raise fail(f"start {start_raw!r} is not a date and time like 2020-11-09 14:30",
                   loc.key("start")) from None
    start = start.replace(tzinfo=zone) if start.tzinfo is None else start

    def span(v: Any, line: int) -> float:
        try:
            secs = parse_span(v)
        except ValueError as e:
            raise fail(str(e), line) from None
        if secs < 0:
            raise fail(f"duration {v!r} is negative", line)
        return secs

    default_secs = span(s.get("speaker_seconds", 55), loc.key("speaker_seconds"))
    gap = span(s.get("gap_seconds", 0), loc.key("gap_seconds"))
    speakers: list[Speaker] = []
    seen: set[str] = set()
    for item in s.get("speakers", []):
        name, secs = (item, default_secs) if isinstance(item, str) else (None, default_secs)
        if isinstance(item, dict):
            name = item.get("name")
            secs = span(item.get("seconds", default_secs), loc.value(str(name), loc.key("speakers")))
        if not name or not isinstance(name, str):
            raise fail(f"a speaker needs a name (got {item!r})", loc.key("speakers"))
        if name.casefold() in seen:
            raise fail(f"speaker {name!r} is listed twice", loc.value(f'"{name}"', loc.key("speakers")))
        seen.add(name.casefold())
        speakers.append(Speaker(name, secs))
    names = {sp.name.casefold() for sp in speakers}
    sur = str(s.get("state_under_review", ""))

    segments: list[Segment] = []
    for i, seg in enumerate(s.get("segments", [])):
        line = loc.header("session.segments", i)
        kind = str(seg.get("kind", ""))
        if kind not in SEGMENT_KINDS:
            raise fail(f"segment kind {kind!r} is not one of {', '.join(SEGMENT_KINDS)}", line)
        replies = []
        for r in seg.get("replies", []):
            after = str(r.get("after", ""))
            if after.casefold() not in names:
                raise fail(f"reply block after {after!r}: no such speaker in the list",
                           loc.value(after, line) if after else line)
            replies.append((after, span(r.get("duration", "5m"), loc.value(after, line))))
        if kind == "dialogue":
            dur = 0.0
        elif "duration" not in seg:
            raise fail(f"segment {kind!r} needs a duration (e.g. duration = \"20m\")", line)
        else:
            dur = span(seg["duration"], line)
        segments.append(Segment(kind, str(seg.get("title", kind.capitalize())), dur,
                                str(seg.get("speaker", sur)), tuple(replies)))
    if speakers and not any(g.kind == "dialogue" for g in segments):
        raise fail("a speakers list needs a segment with kind = \"dialogue\"", loc.key("speakers"))
    if sum(g.kind == "dialogue" for g in segments) > 1:
        raise fail("only one dialogue segment is supported", loc.header("session.segments", 1))

    seg_kinds = {g.kind for g in segments}
    cues: list[Cue] = []
    for i, c in enumerate(s.get("cues", [])):
        line = loc.header("session.cues", i)
        cid = str(c.get("id") or f"cue-{i + 1}")
        keys = [k for k in ("segment", "speaker", "at") if k in c]
        if len(keys) != 1:
            raise fail(f"cue {cid!r} needs exactly one of segment, speaker or at", line)
        if not c.get("text"):
            raise fail(f"cue {cid!r} has no text", line)
        if "segment" in c and c["segment"] not in seg_kinds:
            raise fail(f"cue {cid!r}: no segment of kind {c['segment']!r}", line)
        if "speaker" in c and str(c["speaker"]).casefold() not in names:
            raise fail(f"cue {cid!r}: speaker {c['speaker']!r} is not in the speakers list", line)
        at = span(c["at"], line) if "at" in c else None
        card = c.get("card")
        if card is not None and (not isinstance(card, dict) or "template" not in card):
            raise fail(f"cue {cid!r}: card needs a template", line)
        if any(x.id == cid for x in cues):
            raise fail(f"cue id {cid!r} is used twice", line)
        cues.append(Cue(cid, str(c["text"]), c.get("segment"), c.get("speaker"), at,
                        span(c.get("delay", 0), line),
                        None if card is None else {k: str(v) for k, v in card.items()}))

    recs = _recommendations(s.get("recommendations"), loc, fail, base, root)
    hashtags = s.get("hashtags", [])
    if isinstance(hashtags, str):
        hashtags = hashtags.split()
    anchor = s.get("anchor", "")
    if isinstance(anchor, dict):
        anchor = anchor.get("text", "")
    if not anchor:
        raise fail("[session] needs an anchor post (anchor = \"...\" or [session.anchor] text)",
                   loc.header("session"))
    langs = s.get("lang", ["en"])
    return LiveSession(
        id=session_id, path=path, title=str(s["title"]), start=start, timezone=tz,
        webtv=str(s.get("webtv", "")), hashtags=tuple(str(h) for h in hashtags),
        anchor=str(anchor).strip(), segments=tuple(segments), speakers=tuple(speakers),
        cues=tuple(cues), recommendations=recs, state_under_review=sur,
        template=str(s.get("template", DEFAULT_TEMPLATE)), gap=gap,
        platforms=(tuple(s["channels"]) if "channels" in s
                   else tuple(s["platforms"]) if "platforms" in s else None),
        langs=tuple([langs] if isinstance(langs, str) else langs), extra=dict(s.get("extra", {})),
    )


def _recommendations(spec: Any, loc: _Locator, fail: Any, base: Path | None,
                     root: Path | None) -> tuple[Recommendation, ...]:
    if spec is None:
        return ()
    line = loc.key("recommendations")
    if isinstance(spec, list):  # inline: [{paragraph, states, text}]
        out = []
        for r in spec:
            states = r.get("states", r.get("state", []))
            states = [states] if isinstance(states, str) else states
            if not r.get("paragraph") or not r.get("text") or not states:
                raise fail("an inline recommendation needs paragraph, states and text", line)
            out.append(Recommendation(str(r["paragraph"]), tuple(states), str(r["text"]),
                                      str(r.get("theme", ""))))
        return tuple(out)
    candidates = [Path(spec)] if Path(spec).is_absolute() else [
        d / spec for d in (root, base) if d is not None]
    for path in candidates:
        if path.is_file():
            return read_recommendations_csv(path)
    raise fail(f"recommendations file {spec!r} not found (relative to the project root)", line)


def read_recommendations_csv(path: Path) -> tuple[Recommendation, ...]:
    """Columns ``paragraph, recommending_states ("; "-separated), text[, ohchr_primary_theme]``."""
    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            states = row.get("recommending_states") or row.get("states") or ""
            out.append(Recommendation(
                row["paragraph"].strip(),
                tuple(x.strip() for x in states.split(";") if x.strip()),
                row["text"].strip(), (row.get("ohchr_primary_theme") or "").strip()))
    return tuple(out)


def find_session(name: str, root: Path, schedules_dir: str = "schedules") -> Path:
    """``us-upr-2020`` -> ``schedules/us-upr-2020.toml``; a path to a .toml is taken as is."""
    p = Path(name)
    if p.suffix == ".toml" and (p.is_file() or (root / p).is_file()):
        return p if p.is_file() else root / p
    cand = root / schedules_dir / f"{name}.toml"
    if cand.is_file():
        return cand
    known = session_names(root, schedules_dir)
    import difflib

    near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = (f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else
            f"; sessions here: {', '.join(known)}" if known else "")
    raise FileNotFoundError(f"no session {name!r}: looked for {cand}{hint}")


def session_names(root: Path, schedules_dir: str = "schedules") -> list[str]:
    """The live sessions the project defines: the files under ``schedules/`` with a
    ``[session]`` table (campaign files, ``[campaign]``, share the folder but are not sessions).
    A file that is not valid TOML is left out here; ``load_session`` names its error."""
    out = []
    for f in sorted((root / schedules_dir).glob("*.toml")):
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if isinstance(data.get("session"), dict):
            out.append(f.stem)
    return out
