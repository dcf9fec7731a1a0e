"""The one currency of uprbuzz: a Post, whatever source made it.

Sources (queue files, campaigns, feeds, the live console) build Posts; checks judge them,
cards render their images, the publish loop sends them. Everything here is a frozen value:
nothing downstream mutates a Post, it derives a new one (``dataclasses.replace``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal

PLATFORMS: tuple[str, ...] = ("x", "bluesky", "mastodon")
Status = Literal["draft", "approved"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Loc:
    """Where something came from in a source file (1-based line and column)."""

    path: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Card:
    """A share graphic to render (cards package) before publishing."""

    template: str
    fields: Mapping[str, str] = field(default_factory=dict)
    size: str = "1600x900"
    alt: str | None = None  # overrides the generated alt text


@dataclass(frozen=True)
class Media:
    """An image attached to a post part; ``path`` is relative to the project root."""

    path: str
    alt: str = ""
    decorative: bool = False
    loc: Loc | None = field(default=None, compare=False)
    # Filled in once known (rendered cards know it; files are measured by checks/publish).
    width: int | None = field(default=None, compare=False)
    height: int | None = field(default=None, compare=False)
    focus: tuple[float, float] | None = None  # Mastodon's crop focus point, x and y in -1..1


@dataclass(frozen=True)
class Part:
    """One post of a thread (a single post is a one-part thread)."""

    text: str
    media: tuple[Media, ...] = ()
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Override:
    """A variant from a post file's ``x:`` / ``bluesky:`` / ``mastodon:`` block (per platform)
    or from a block named after a channel (per channel; it wins over its platform's)."""

    parts: tuple[Part, ...] | None = None  # None: use the post's parts
    media: tuple[Media, ...] | None = None  # replaces the first part's media
    skip: bool = False


@dataclass(frozen=True)
class Post:
    id: str
    parts: tuple[Part, ...]
    at: datetime | None = None  # timezone-aware; None = unscheduled (publish on demand only)
    status: Status = "draft"
    platforms: tuple[str, ...] = PLATFORMS
    langs: tuple[str, ...] = ("en",)
    # Channels chosen by name (``channels:``); empty: routed by language (Config.route).
    channels: tuple[str, ...] = ()
    content_warning: str = ""  # Mastodon's spoiler text, shown before every part
    sensitive: bool = False  # Mastodon: media hidden behind a warning
    link: str | None = None  # URL for a Bluesky link card
    tags: tuple[str, ...] = ()
    overrides: Mapping[str, Override] = field(default_factory=dict)
    card: Card | None = None
    source: Loc | None = field(default=None, compare=False)
    origin: str = "queue"  # queue | campaign | feed | live: for display only

    def parts_for(self, platform: str) -> tuple[Part, ...] | None:
        """The thread as ``platform`` will receive it, or None when the post skips it."""
        return self._variant(platform, self.overrides.get(platform))

    def parts_on(self, channel: str, platform: str) -> tuple[Part, ...] | None:
        """The thread as ``channel`` (an account on ``platform``) will receive it: the
        channel's own block if the post has one, else its platform's; None: skipped there."""
        ov = self.overrides.get(channel) if channel != platform else None
        return self._variant(platform, ov if ov is not None else self.overrides.get(platform))

    def _variant(self, platform: str, ov: Override | None) -> tuple[Part, ...] | None:
        if platform not in self.platforms:
            return None
        if ov is None:
            return self.parts
        if ov.skip:
            return None
        parts = ov.parts if ov.parts is not None else self.parts
        if ov.media is not None and parts:
            first = parts[0]
            parts = (Part(first.text, ov.media, first.loc), *parts[1:])
        return parts

    @property
    def targets(self) -> tuple[str, ...]:
        """Platforms this post may be sent to (its channels are chosen by Config.route)."""
        return tuple(p for p in self.platforms if self.parts_for(p) is not None)

    def content_hash(self) -> str:
        """Stable hash of everything that affects what is published (not where it came from)."""
        return content_hash(self)


def _jsonable(obj: object) -> object:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (tuple, list)):
        return [_jsonable(o) for o in obj]
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items())}
    return obj


def content_hash(post: Post) -> str:
    data = asdict(post)
    data.pop("source", None)
    data.pop("origin", None)
    # Fields left at their defaults are dropped: a post written before they existed keeps its
    # hash, so stores from before channels see no post as edited.
    for key in ("channels", "content_warning", "sensitive"):  # defaults: (), "", False
        if not data[key]:
            data.pop(key)
    for part in data["parts"]:
        part.pop("loc", None)
        for m in part["media"]:
            for k in ("loc", "width", "height"):
                m.pop(k, None)
            if m.get("focus") is None:
                m.pop("focus", None)
    blob = json.dumps(_jsonable(data), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in a source file: rendered as ``path:line:col: severity: message``."""

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def at(cls, loc: Loc | None, severity: Severity, code: str, message: str,
           path: str = "") -> Diagnostic:
        if loc is None:
            return cls(path, 1, 1, severity, code, message)
        return cls(loc.path, loc.line, loc.column, severity, code, message)


# --- JSON round-trip (stored posts, parse cache) -------------------------------------------

def post_to_dict(post: Post) -> dict[str, object]:
    def media(m: Media) -> dict[str, object]:
        return {"path": m.path, "alt": m.alt, "decorative": m.decorative,
                "loc": _loc(m.loc), "width": m.width, "height": m.height,
                "focus": list(m.focus) if m.focus else None}

    def part(p: Part) -> dict[str, object]:
        return {"text": p.text, "media": [media(m) for m in p.media], "loc": _loc(p.loc)}

    return {
        "id": post.id,
        "parts": [part(p) for p in post.parts],
        "at": post.at.isoformat() if post.at else None,
        "status": post.status,
        "platforms": list(post.platforms),
        "langs": list(post.langs),
        "channels": list(post.channels),
        "content_warning": post.content_warning,
        "sensitive": post.sensitive,
        "link": post.link,
        "tags": list(post.tags),
        "overrides": {
            k: {"parts": None if o.parts is None else [part(p) for p in o.parts],
                "media": None if o.media is None else [media(m) for m in o.media],
                "skip": o.skip}
            for k, o in post.overrides.items()
        },
        "card": None if post.card is None else {
            "template": post.card.template, "fields": dict(post.card.fields),
            "size": post.card.size, "alt": post.card.alt},
        "source": _loc(post.source),
        "origin": post.origin,
    }


def post_from_dict(d: Mapping[str, object]) -> Post:
    """The inverse of ``post_to_dict`` (the JSON of stored posts and the parse cache)."""
    def media(m: object) -> Media:
        m = _obj(m)
        f = m.get("focus")
        focus = (float(f[0]), float(f[1])) if isinstance(f, list) and len(f) == 2 else None
        return Media(str(m["path"]), str(m.get("alt", "")), bool(m.get("decorative", False)),
                     _unloc(m.get("loc")), _opt_int(m.get("width")), _opt_int(m.get("height")),
                     focus)

    def part(p: object) -> Part:
        p = _obj(p)
        return Part(str(p["text"]), tuple(media(m) for m in _arr(p.get("media", ()))),
                    _unloc(p.get("loc")))

    ovs = {}
    for k, o in _obj(d.get("overrides") or {}).items():
        o = _obj(o)
        ovs[k] = Override(
            None if o["parts"] is None else tuple(part(p) for p in _arr(o["parts"])),
            None if o["media"] is None else tuple(media(m) for m in _arr(o["media"])),
            bool(o["skip"]),
        )
    c = _obj(d.get("card") or {})
    at = d.get("at")
    alt = c.get("alt")
    return Post(
        id=str(d["id"]),
        parts=tuple(part(p) for p in _arr(d["parts"])),
        at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        status=_status(d.get("status", "draft")),
        platforms=_strs(d.get("platforms", PLATFORMS)),
        langs=_strs(d.get("langs", ("en",))),
        channels=_strs(d.get("channels", ())),
        content_warning=str(d.get("content_warning", "")),
        sensitive=bool(d.get("sensitive", False)),
        link=_opt_str(d.get("link")),
        tags=_strs(d.get("tags", ())),
        overrides=ovs,
        card=None if not c else Card(str(c["template"]), _str_map(c.get("fields", {})),
                                     str(c.get("size", "1600x900")), _opt_str(alt)),
        source=_unloc(d.get("source")),
        origin=str(d.get("origin", "queue")),
    )


# Narrowing helpers for decoded JSON: stored data is uprbuzz's own, so a wrong type means a
# corrupt row and is reported, not coerced.

def _obj(v: object) -> Mapping[str, object]:
    if not isinstance(v, Mapping):
        raise TypeError(f"stored post: expected a JSON object, got {type(v).__name__}")
    return v


def _arr(v: object) -> Sequence[object]:
    if not isinstance(v, (list, tuple)):
        raise TypeError(f"stored post: expected a JSON array, got {type(v).__name__}")
    return v


def _strs(v: object) -> tuple[str, ...]:
    items = _arr(v)
    if not all(isinstance(x, str) for x in items):
        raise TypeError("stored post: expected an array of strings")
    return tuple(str(x) for x in items)


def _str_map(v: object) -> dict[str, str]:
    m = _obj(v)
    if not all(isinstance(x, str) for x in m.values()):
        raise TypeError("stored post: card fields must be strings")
    return {str(k): str(x) for k, x in m.items()}


def _opt_str(v: object) -> str | None:
    if v is not None and not isinstance(v, str):
        raise TypeError(f"stored post: expected a string, got {type(v).__name__}")
    return v


def _opt_int(v: object) -> int | None:
    if v is not None and not isinstance(v, int):
        raise TypeError(f"stored post: expected an integer, got {type(v).__name__}")
    return v


def _status(v: object) -> Status:
    if v == "draft" or v == "approved":
        return v
    raise ValueError(f"stored post: unknown status {v!r}")


def _loc(loc: Loc | None) -> list[object] | None:
    return None if loc is None else [loc.path, loc.line, loc.column]


def _unloc(v: object) -> Loc | None:
    if not v:
        return None
    path, line, col = _arr(v)
    if not isinstance(line, int) or not isinstance(col, int):
        raise TypeError("stored post: a location's line and column must be integers")
    return Loc(str(path), line, col)


@dataclass
class Loaded:
    """What a source gives: its Posts and the Diagnostics met while reading them."""

    posts: list[Post] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def extend(self, other: Loaded) -> None:
        self.posts.extend(other.posts)
        self.diagnostics.extend(other.diagnostics)
