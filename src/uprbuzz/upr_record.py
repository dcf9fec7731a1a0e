"""A UPR recommendation as the official record names it, and the rules about it kept in one place.

- ``Record``: one recommendation, keyed by its report and paragraph (``A/HRC/46/15 ¶26.1``),
  with its recommending States, themes, SDGs, the State's position and the links to the record;
- ``document_link``: the UN document's address (``https://docs.un.org/en/A/HRC/46/15``);
- ``normalise_position``: every spelling of a position the sources use -> ``supported``,
  ``noted``, ``supported in part`` or None (pending);
- ``paragraph_order``: "26.2" before "26.10".

A root module (standard library only): the store keeps records, and the card and campaign
layers, which never touch the store, draw them with the same links and words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SUPPORTED, NOTED, SUPPORTED_IN_PART = "supported", "noted", "supported in part"
POSITIONS = (SUPPORTED, NOTED, SUPPORTED_IN_PART)
PENDING = "pending"  # no position yet: stored as NULL, counted under this name

# the languages docs.un.org serves a document in
DOC_LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
# the kinds of link a record may carry, best first for ``Record.link``
LINK_KINDS = ("uhri", "uprinfo", "document")

UHRI_PAGE = "https://uhri.ohchr.org/en/document/{id}"
UPRINFO_PAGE = "https://upr-info-database.uwazi.io/entity/{id}"

# Every spelling met in the sources, folded (lower case, "_" "-" "/" as spaces, one space):
# the project CSV ("supported_noted"), UHRI ("Supported", "Noted", "Supported/Noted"), UPR Info
# ("Supported", "Noted", "Not Supported"), the OHCHR thematic lists ("Supported in part").
# The UN has two positions, support or take note; a State "not supporting" a recommendation
# has noted it, so UPR Info's "Not Supported" (and older "rejected") is "noted" here. A split
# answer ("supported in part", "partially supported", "supported noted") is "supported in part".
_POSITION_WORDS: dict[str, str | None] = {
    "supported": SUPPORTED, "support": SUPPORTED, "accepted": SUPPORTED, "accept": SUPPORTED,
    "noted": NOTED, "note": NOTED, "not supported": NOTED, "taken note": NOTED,
    "rejected": NOTED, "reject": NOTED,
    "supported in part": SUPPORTED_IN_PART, "partially supported": SUPPORTED_IN_PART,
    "partly supported": SUPPORTED_IN_PART, "supported partially": SUPPORTED_IN_PART,
    "supported noted": SUPPORTED_IN_PART, "partially accepted": SUPPORTED_IN_PART,
    "": None, "pending": None, "no response": None, "not yet answered": None, "none": None,
}


def normalise_position(value: str | None) -> str | None:
    """``supported``, ``noted``, ``supported in part`` or None (pending) for any spelling the
    sources use (case, ``_``, ``/`` and ``-`` ignored). ValueError for anything else."""
    if value is None:
        return None
    folded = " ".join(re.sub(r"[_/\-]", " ", value).casefold().split())
    if folded in _POSITION_WORDS:
        return _POSITION_WORDS[folded]
    raise ValueError(f"unknown position {value!r}: use supported, noted or supported in part "
                     "(or leave it empty while the State has not answered)")


def document_link(symbol: str, language: str = "en") -> str:
    """The UN document's page: ``https://docs.un.org/en/A/HRC/46/15``."""
    if language not in DOC_LANGUAGES:
        raise ValueError(f"docs.un.org has no language {language!r}: one of "
                         f"{', '.join(DOC_LANGUAGES)}")
    return f"https://docs.un.org/{language}/{symbol.strip()}"


def document_links(symbol: str) -> dict[str, str]:
    """The document in every language docs.un.org serves, by language code."""
    return {lang: document_link(symbol, lang) for lang in DOC_LANGUAGES}


def normalise_paragraph(value: str) -> str:
    """"¶ 26.1", "para. 26.1", "26.1." -> "26.1" (what the key holds)."""
    p = value.strip().lstrip("¶").strip()
    p = re.sub(r"^(?:paragraph|para\.?|§)\s*", "", p, flags=re.I)
    return p.rstrip(".").strip()


def paragraph_order(paragraph: str) -> tuple[tuple[int, Any], ...]:
    """A sort key reading the numbers as numbers: "26.2" < "26.10" < "27.1" < "27.1bis"."""
    return tuple((0, int(p)) if p.isdigit() else (1, p)
                 for p in re.findall(r"\d+|[^\d.]+", paragraph))


def record_key(doc: str, paragraph: str) -> str:
    return f"{doc} ¶{paragraph}"


def split_key(key: str) -> tuple[str | None, str]:
    """``"A/HRC/46/15 ¶26.1"`` -> ("A/HRC/46/15", "26.1"); ``"26.1"`` -> (None, "26.1")."""
    if "¶" in key:
        doc, _, para = key.partition("¶")
        return (doc.strip() or None), normalise_paragraph(para)
    return None, normalise_paragraph(key)


def _names(values: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        v = " ".join(str(v).split())
        if v and v not in out:
            out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class Record:
    """One recommendation. ``links`` always holds ``"document"`` (the UN report); ``"uhri"``
    and ``"uprinfo"`` when a source gave the page. Lists become tuples, the position is
    normalised (ValueError for an unknown one)."""

    doc: str  # "A/HRC/46/15"
    paragraph: str  # "26.1"
    text: str
    states: tuple[str, ...] = ()  # recommending States
    themes: tuple[str, ...] = ()
    sdgs: tuple[str, ...] = ()
    position: str | None = None  # supported | noted | supported in part | None (pending)
    comment: str = ""  # the State's explanation of its position
    # read-only by convention (a dict, so excluded from the hash)
    links: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        doc, para = self.doc.strip(), normalise_paragraph(self.paragraph)
        if not doc or not para:
            raise ValueError("a record needs its document symbol and paragraph")
        set_ = object.__setattr__
        set_(self, "doc", doc)
        set_(self, "paragraph", para)
        for name in ("states", "themes", "sdgs"):
            set_(self, name, _names(getattr(self, name)))
        set_(self, "position", normalise_position(self.position))
        links = {k: v for k, v in dict(self.links).items() if v}
        links.setdefault("document", document_link(doc))
        set_(self, "links", links)

    @property
    def key(self) -> str:
        """``A/HRC/46/15 ¶26.1``"""
        return record_key(self.doc, self.paragraph)

    @property
    def link(self) -> str:
        """The best single link: the UHRI or UPR Info page when known, else the UN document."""
        for kind in LINK_KINDS:
            if self.links.get(kind):
                return self.links[kind]
        return document_link(self.doc)

    @property
    def status(self) -> str:
        """The position, or ``pending``."""
        return self.position or PENDING

    def as_json(self) -> dict[str, Any]:
        """The shape ``records list --json`` prints."""
        return {"key": self.key, "doc": self.doc, "paragraph": self.paragraph,
                "states": list(self.states), "themes": list(self.themes),
                "sdgs": list(self.sdgs), "position": self.position, "comment": self.comment,
                "link": self.link, "links": dict(self.links), "text": self.text}
