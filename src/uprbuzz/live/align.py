"""Re-timing live posts to the transcript: which statement each post was about.

``uprbuzz live align SESSION TRANSCRIPT.json`` (cli/live_cmds.py) reads a UN Transcripts-style
statement list and stores, per live post, the start of its speaker's statement. This module is
the pure part: reading the transcript (:func:`load_transcript`) and matching posts to statements
(:func:`align`); the store and the command line are elsewhere.

Matching. A post's speaker (a State as the session names it) and a statement are the same
speaker when their ISO-3 codes agree (the statement's ``country_iso3``, else its speaker name
read as a country; live/countries.py), or, for speakers that are not States, when the names
agree. A State speaks once in a UPR dialogue, the State under review several times: a post goes
to its speaker's statement that contains or most recently precedes the post's offset (else, a
post made before its speaker's first statement, to that first one). Consecutive statements by
the same person of the same country, with at most a short pause between them, are one statement
(automatic transcripts split long ones).

The aligned offset is the statement's start, not the post's time mapped into the statement:
the post reports the statement, so its webcast link should start where the State takes the
floor, and the operator's delay (post's offset - statement's start) is a figure of its own.
The transcript's seconds are taken as broadcast offsets: the recording starts at the broadcast
clock's 00:00:00.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uprbuzz.errors import UprbuzzError
from uprbuzz.live.broadcast_clock import format_hms
from uprbuzz.live.countries import country_name, iso3, name_key
from uprbuzz.live.webcast import webcast_link

SHAPE = "{speaker, country_iso3, start, end, text}"
SPLIT_GAP = 5.0  # seconds: a pause this short between one person's statements is one statement


class TranscriptError(UprbuzzError):
    """A transcript file uprbuzz cannot read: ``path:line: statement N: what is wrong; what to do``."""

    code = "transcript"


@dataclass(frozen=True)
class Statement:
    index: int  # position in the file's list (counted from 0, as in the JSON)
    speaker: str
    country: str | None  # ISO-3, upper case
    start: float  # seconds from the video's start
    end: float | None
    text: str = ""
    line: int = field(default=1, compare=False)  # where it begins in the file (for warnings)

    @property
    def code(self) -> str | None:
        """The State who speaks: the ISO-3 tag, else the speaker's name read as a country."""
        return self.country or iso3(self.speaker)


@dataclass(frozen=True)
class PostRef:
    """What alignment needs of a live post."""

    n: int
    speaker: str | None
    offset: float | None
    kind: str = "text"


@dataclass(frozen=True)
class Move:
    """A post matched to a statement: moved from its console offset to the statement's start."""

    n: int
    speaker: str  # the aligned speaker: the State as the session names it
    from_offset: float
    to_offset: float
    statement: Statement

    @property
    def delay(self) -> float:
        """The operator's delay: the post's offset minus the statement's start."""
        return self.from_offset - self.to_offset


@dataclass(frozen=True)
class Unmatched:
    """A post left where it was (its offset kept), and why."""

    n: int
    speaker: str | None
    offset: float | None
    reason: str


@dataclass
class Alignment:
    moves: list[Move]
    unmatched: list[Unmatched]
    statements: int  # how many the transcript holds

    @property
    def median_delay(self) -> float | None:
        """Median over the matched posts of (post's offset - statement's start); None if none."""
        return statistics.median(m.delay for m in self.moves) if self.moves else None


# --- reading ---------------------------------------------------------------------------------

def load_transcript(path: str | Path, shown: str | None = None) -> list[Statement]:
    """Statements from a JSON file: a list of ``{speaker, country_iso3, start, end, text}``, or
    an object holding that list under ``"statements"``. ``shown`` names the file in errors."""
    p = Path(path)
    name = shown or str(p)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a BOM is no reason to refuse a file
    except FileNotFoundError:
        raise TranscriptError("no such file: give the path of the transcript's JSON file",
                              name) from None
    except (OSError, UnicodeDecodeError) as e:
        raise TranscriptError(f"cannot read the transcript ({e}): save it as UTF-8 JSON",
                              name) from None
    return parse_transcript(text, name)


def parse_transcript(text: str, path: str = "<transcript>") -> list[Statement]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TranscriptError(f"not JSON: {e.msg}; fix the file or download the transcript again",
                              path, e.lineno, e.colno) from None
    if isinstance(data, dict) and isinstance(data.get("statements"), list):
        items, where = data["statements"], _array_after_key(text, "statements")
    elif isinstance(data, list):
        items, where = data, text.index("[")
    else:
        got = f"an object with keys {', '.join(sorted(data))[:80]}" if isinstance(data, dict) \
            else f"a JSON {type(data).__name__}"
        raise TranscriptError(f"expected a list of statements {SHAPE} (or an object with a "
                              f"\"statements\" list), got {got}", path, 1)
    if not items:
        raise TranscriptError("the transcript holds no statements: is it the right file?", path, 1)
    lines = _item_lines(text, where, len(items))
    return [_statement(i, item, path, lines[i]) for i, item in enumerate(items)]


def _statement(i: int, item: Any, path: str, line: int) -> Statement:
    def fail(msg: str) -> TranscriptError:
        return TranscriptError(f"statement {i}: {msg}", path, line)

    if not isinstance(item, dict):
        raise fail(f"is {_json_type(item)}, not an object {SHAPE}; fix or remove it")
    speaker = item.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise fail(f"'speaker' is {_json_type(speaker)}, not a name; write the speaker's name "
                   "as a string (or null)")
    country = item.get("country_iso3")
    if country is not None and not isinstance(country, str):
        raise fail(f"'country_iso3' is {_json_type(country)}; write a 3-letter code such as "
                   "\"SVK\" (or null for a speaker who is not a State)")
    country = (country or "").strip().upper() or None
    if country is not None and not re.fullmatch(r"[A-Z]{3}", country):
        raise fail(f"'country_iso3' is {item['country_iso3']!r}, not an ISO-3 code; write a "
                   "3-letter code such as \"SVK\" (or null)")
    if "start" not in item:
        raise fail("has no 'start'; every statement needs its start, in seconds from the "
                   "video's start")
    start = _seconds(item["start"], "start", fail)
    end = None if item.get("end") is None else _seconds(item["end"], "end", fail)
    if end is not None and end < start:
        raise fail(f"'end' ({end:g}) is before 'start' ({start:g}); fix the times")
    body = item.get("text")
    if body is not None and not isinstance(body, str):
        raise fail(f"'text' is {_json_type(body)}, not a string")
    return Statement(i, (speaker or "").strip(), country, start, end, body or "", line)


def _seconds(value: Any, key: str, fail: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = (f"a string {json.dumps(value)[:40]}" if isinstance(value, str) else
                 json.dumps(value) if value is None or isinstance(value, bool) else
                 _json_type(value))
        raise fail(f"{key!r} is {shown}, not a number of seconds from the video's start; "
                   "write e.g. 1865 for 0:31:05")
    if not math.isfinite(value) or value < 0:
        raise fail(f"{key!r} is {value}: seconds from the video's start are 0 or more")
    return float(value)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _array_after_key(text: str, key: str) -> int:
    """Where the list under ``"key":`` begins (best effort: the first such key in the text)."""
    m = re.search(r'(?<!\\)"' + re.escape(key) + r'"\s*:\s*\[', text)  # not an escaped \"key\"
    return m.end() - 1 if m else 0


def _item_lines(text: str, at: int, count: int) -> list[int]:
    """The 1-based line on which each item of the JSON list starting at ``text[at]`` begins
    (json keeps no positions: walk the list with raw_decode); line 1 for any not found."""
    out: list[int] = []
    dec = json.JSONDecoder()
    ws = re.compile(r"[\s,]*")
    try:
        pos = ws.match(text, at + 1).end()  # type: ignore[union-attr]
        while len(out) < count and pos < len(text) and text[pos] != "]":
            out.append(text.count("\n", 0, pos) + 1)
            _, pos = dec.raw_decode(text, pos)
            pos = ws.match(text, pos).end()  # type: ignore[union-attr]
    except (ValueError, IndexError):
        pass
    return out + [1] * (count - len(out))


def transcript_warnings(statements: Sequence[Statement], path: str) -> list[str]:
    """What reads but can align nothing, one line each (``path:line:1: warning: ...``): a
    ``country_iso3`` no State has (its statements, listed by index, match no post) and
    statements that name neither a speaker nor a State. A statement without ``speaker`` but
    with a known ``country_iso3`` is fine: it matches that State's posts."""
    unknown: dict[str, list[Statement]] = {}
    nobody: list[Statement] = []
    for s in statements:
        if s.country is not None and country_name(s.country) is None:
            unknown.setdefault(s.country, []).append(s)
        elif s.country is None and not s.speaker:
            nobody.append(s)
    out = [f"{path}:{sts[0].line}:1: warning: country_iso3 {code!r} is not a State's ISO-3 "
           f"code ({_statements(sts)}): {_it_they(sts)} no post; write the State's code "
           "(e.g. \"SVK\"), or null to match by the speaker's name"
           for code, sts in unknown.items()]
    if nobody:
        out.append(f"{path}:{nobody[0].line}:1: warning: {_statements(nobody)} name"
                   f"{'s' * (len(nobody) == 1)} neither a speaker nor a country_iso3: "
                   f"{_it_they(nobody)} no post; give the speaker's name or the State's code")
    return out


def _statements(sts: Sequence[Statement]) -> str:
    """'statement 3', 'statements 3, 7 and 9' (indexes counted from 0, as in the list)."""
    idx = [str(s.index) for s in sts]
    if len(idx) == 1:
        return f"statement {idx[0]}"
    return f"statements {', '.join(idx[:-1])} and {idx[-1]}"


def _it_they(sts: Sequence[Statement]) -> str:
    return "it matches" if len(sts) == 1 else "they match"


def count(n: int, word: str, plural: str | None = None) -> str:
    """'1 statement', '12 statements' (the command line speaks English)."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


# --- matching --------------------------------------------------------------------------------

def _merged(statements: Iterable[Statement]) -> list[Statement]:
    """In time order; consecutive statements by the same person of the same country as one."""
    out: list[Statement] = []
    for s in sorted(statements, key=lambda s: (s.start, s.index)):
        prev = out[-1] if out else None
        if (prev is not None and prev.code == s.code
                and name_key(prev.speaker) == name_key(s.speaker)
                and (prev.end is None or s.start <= prev.end + SPLIT_GAP)):
            ends = [e for e in (prev.end, s.end) if e is not None]
            out[-1] = Statement(prev.index, prev.speaker, prev.country, prev.start,
                                max(ends) if ends else None, f"{prev.text} {s.text}".strip(),
                                prev.line)
        else:
            out.append(s)
    return out


def _same_speaker(name: str, code: str | None, s: Statement) -> bool:
    if code is not None:
        return s.code == code
    return bool(s.speaker) and name_key(s.speaker) == name_key(name)


def pick(statements: list[Statement], offset: float) -> Statement:
    """Of one speaker's statements (in time order): the one that contains or most recently
    precedes ``offset``; the first one if the post came before all of them."""
    before = [s for s in statements if s.start <= offset]
    return before[-1] if before else statements[0]


def align(posts: Iterable[PostRef], statements: Iterable[Statement]) -> Alignment:
    """Match each post (the anchor post excepted) to its speaker's statement."""
    given = list(statements)
    turns = _merged(given)
    moves: list[Move] = []
    unmatched: list[Unmatched] = []
    for p in posts:
        if p.kind == "anchor":
            continue  # the thread's root, not about a statement: left as it is
        if not p.speaker:
            unmatched.append(Unmatched(p.n, p.speaker, p.offset,
                                       "no speaker (posted outside the session's timeline)"))
            continue
        if p.offset is None:
            unmatched.append(Unmatched(p.n, p.speaker, p.offset, "no broadcast offset stored"))
            continue
        code = iso3(p.speaker)
        mine = [s for s in turns if _same_speaker(p.speaker, code, s)]
        if not mine:
            why = (f"no statement by {p.speaker} ({code}) in the transcript" if code else
                   "not a State uprbuzz knows, and no statement is by that name")
            unmatched.append(Unmatched(p.n, p.speaker, p.offset, why))
            continue
        moves.append(Move(p.n, p.speaker, p.offset, (s := pick(mine, p.offset)).start, s))
    return Alignment(moves, unmatched, len(given))


# --- the report ------------------------------------------------------------------------------

def report(result: Alignment, *, session: str, transcript: str, webtv: str,
           stored: bool, warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The alignment as JSON (``live align --json``): each post moved (from -> to, its new
    webcast link), the operator's median delay in seconds, the posts that kept their offset."""
    median = result.median_delay
    return {
        "session": session, "transcript": transcript, "statements": result.statements,
        "stored": stored, "warnings": list(warnings),
        "median_delay": None if median is None else round(median, 3),
        "moved": [{"n": m.n, "speaker": m.speaker,
                   "from": format_hms(m.from_offset), "to": format_hms(m.to_offset),
                   "from_seconds": m.from_offset, "to_seconds": m.to_offset,
                   "delay": round(m.delay, 3), "webcast": webcast_link(webtv, m.to_offset),
                   "statement": {"index": m.statement.index, "speaker": m.statement.speaker,
                                 "country_iso3": m.statement.code}}
                  for m in result.moves],
        "unmatched": [{"n": u.n, "speaker": u.speaker,
                       "offset": None if u.offset is None else format_hms(u.offset),
                       "offset_seconds": u.offset, "reason": u.reason}
                      for u in result.unmatched],
    }


def _delay(seconds: float) -> str:
    return f"{seconds:+.0f} s" if seconds == round(seconds) else f"{seconds:+.1f} s"


def format_report(data: dict[str, Any]) -> str:
    """The same as a readable table."""
    moved, kept = data["moved"], data["unmatched"]
    out = [f"{data['session']}: {count(len(moved), 'post')} aligned to {data['transcript']} "
           f"({count(data['statements'], 'statement')}); {len(kept)} kept "
           f"{'its' if len(kept) == 1 else 'their'} offset."]
    if moved:
        rows = [("#", "posted", "", "statement", "delay", "speaker", "statement by")]
        rows += [(str(m["n"]), m["from"], "->", m["to"], _delay(m["delay"]), m["speaker"],
                  _who(m["statement"])) for m in moved]
        out += ["", *_table(rows, right=(0, 4))]
        out += ["", f"Operator's median delay: {_delay(data['median_delay'])} (the post's "
                f"offset minus the statement's start, over {count(len(moved), 'post')})."]
    if kept:
        out += ["", f"Kept {'its' if len(kept) == 1 else 'their'} offset (no statement of "
                f"{'its' if len(kept) == 1 else 'their'} speaker in the transcript):"]
        out += _table([("#", "offset", "speaker", "why")] + [
            (str(u["n"]), u["offset"] or "-", u["speaker"] or "-", u["reason"]) for u in kept])
    out += ["", "Dry run: nothing stored." if not data["stored"] else
            "Stored: `uprbuzz recap` now shows the aligned times and links."]
    return "\n".join(out) + "\n"


def _who(statement: dict[str, Any]) -> str:
    """"Ms. Jane Doe (SVK)", "Slovakia (SVK)", "President"."""
    code = statement["country_iso3"]
    who = statement["speaker"] or (country_name(code) if code else "") or "unnamed speaker"
    return f"{who} ({code})" if code and code not in who else who


def _table(rows: Sequence[Sequence[str]], right: tuple[int, ...] = (0,)) -> list[str]:
    """Columns padded to their widest cell; the ``right`` ones (numbers) aligned right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in
                      enumerate(zip(r, widths, strict=True))).rstrip() for r in rows]
