"""The one currency of uprbuzz: a Post, whatever source made it.

Sources (queue files, campaigns, feeds, the live console) build Posts; checks judge them,
cards render their images, the publish loop sends them. Everything here is a frozen value:
nothing downstream mutates a Post, it derives a new one (``dataclasses.replace``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal, Mapping

PLATFORMS: tuple[str, ...] = ("x", "bluesky")
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


@dataclass(frozen=True)
class Part:
    """One post of a thread (a single post is a one-part thread)."""

    text: str
    media: tuple[Media, ...] = ()
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Override:
    """A per-platform variant from the ``x:`` / ``bluesky:`` blocks of a post file."""

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
    link: str | None = None  # URL for a Bluesky link card
    tags: tuple[str, ...] = ()
    overrides: Mapping[str, Override] = field(default_factory=dict)
    card: Card | None = None
    source: Loc | None = field(default=None, compare=False)
    origin: str = "queue"  # queue | campaign | feed | live: for display only

    def parts_for(self, platform: str) -> tuple[Part, ...] | None:
        """The thread as ``platform`` will receive it, or None when the post skips it."""
        if platform not in self.platforms:
            return None
        ov = self.overrides.get(platform)
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
        """Platforms this post will actually be sent to."""
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
    for part in data["parts"]:
        part.pop("loc", None)
        for m in part["media"]:
            for k in ("loc", "width", "height"):
                m.pop(k, None)
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
           path: str = "") -> "Diagnostic":
        if loc is None:
            return cls(path, 1, 1, severity, code, message)
        return cls(loc.path, loc.line, loc.column, severity, code, message)


# --- JSON round-trip (stored posts, parse cache) -------------------------------------------

def post_to_dict(post: Post) -> dict[str, object]:
    def media(m: Media) -> dict[str, object]:
        return {"path": m.path, "alt": m.alt, "decorative": m.decorative,
                "loc": _loc(m.loc), "width": m.width, "height": m.height}

    def part(p: Part) -> dict[str, object]:
        return {"text": p.text, "media": [media(m) for m in p.media], "loc": _loc(p.loc)}

    return {
        "id": post.id,
        "parts": [part(p) for p in post.parts],
        "at": post.at.isoformat() if post.at else None,
        "status": post.status,
        "platforms": list(post.platforms),
        "langs": list(post.langs),
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
    def media(m: Mapping[str, object]) -> Media:
        return Media(str(m["path"]), str(m.get("alt", "")), bool(m.get("decorative", False)),
                     _unloc(m.get("loc")), m.get("width"), m.get("height"))  # type: ignore[arg-type]

    def part(p: Mapping[str, object]) -> Part:
        return Part(str(p["text"]), tuple(media(m) for m in p.get("media", ())),  # type: ignore[union-attr]
                    _unloc(p.get("loc")))

    ovs = {}
    for k, o in dict(d.get("overrides") or {}).items():  # type: ignore[arg-type]
        ovs[k] = Override(
            None if o["parts"] is None else tuple(part(p) for p in o["parts"]),
            None if o["media"] is None else tuple(media(m) for m in o["media"]),
            bool(o["skip"]),
        )
    c = d.get("card")
    at = d.get("at")
    return Post(
        id=str(d["id"]),
        parts=tuple(part(p) for p in d["parts"]),  # type: ignore[union-attr]
        at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        status=d.get("status", "draft"),  # type: ignore[arg-type]
        platforms=tuple(d.get("platforms", PLATFORMS)),  # type: ignore[arg-type]
        langs=tuple(d.get("langs", ("en",))),  # type: ignore[arg-type]
        link=d.get("link"),  # type: ignore[arg-type]
        tags=tuple(d.get("tags", ())),  # type: ignore[arg-type]
        overrides=ovs,
        card=None if not c else Card(c["template"], dict(c.get("fields", {})),  # type: ignore[index,union-attr]
                                     c.get("size", "1600x900"), c.get("alt")),  # type: ignore[union-attr]
        source=_unloc(d.get("source")),
        origin=str(d.get("origin", "queue")),
    )


def _loc(loc: Loc | None) -> list[object] | None:
    return None if loc is None else [loc.path, loc.line, loc.column]


def _unloc(v: object) -> Loc | None:
    if not v:
        return None
    path, line, col = v  # type: ignore[misc]
    return Loc(str(path), int(line), int(col))
