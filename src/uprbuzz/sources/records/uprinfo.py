"""A UPR Info database search answer (its Uwazi API, ``/api/search``): ``{"rows": [{"sharedId",
"title", "metadata": {"recommendation": [{"value": ...}], "recommending_state": [{"label":
...}], "response": [{"label": "Supported" | "Noted" | "Not Supported"}], "issues": [...]}}],
"totalRows": n}``. Each row's page is ``https://upr-info-database.uwazi.io/entity/{sharedId}``.

UPR Info does not always say which report and paragraph a recommendation is. When the row does
not (a ``document``/``paragraph`` field, or the number at the start of its text), it is matched
by its words to a recommendation already imported (from the project CSV or UHRI), and adds its
page and response to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from uprbuzz.sources.records.cells import (
    NumericParagraph,
    comparable,
    labelled,
    leading_paragraph,
    split_list,
    text,
    without_recommenders,
)
from uprbuzz.sources.records.parsed import Parsed
from uprbuzz.sources.records.tables import Row, folded
from uprbuzz.upr_record import UPRINFO_PAGE, Record, normalise_paragraph, normalise_position


def fits(row: Row) -> bool:
    return isinstance(row.cells.get("metadata"), dict) or "sharedId" in row.cells


@dataclass(frozen=True)
class Entry:
    """One row, as UPR Info gives it."""

    page: str
    text: str
    states: tuple[str, ...]
    themes: tuple[str, ...]
    sdgs: tuple[str, ...]
    position: str | None
    doc: str
    paragraph: str


def _field(metadata: dict[str, Any], *names: str) -> list[Any]:
    by_name = {folded(k): v for k, v in metadata.items()}
    for name in names:
        v = by_name.get(folded(name))
        if v:
            return v if isinstance(v, list) else [v]
    return []


def entry(row: Row) -> Entry:
    """ValueError for a response no position matches."""
    meta = row.cells.get("metadata") or {}
    if not isinstance(meta, dict):
        meta = {}
    shared = text(row.cells.get("sharedId") or row.cells.get("_id") or "")
    words = " ".join(labelled(v) for v in _field(meta, "recommendation", "text"))
    words = words or text(row.cells.get("title"))
    states = split_list(_field(meta, "recommending_state", "recommending_states"))
    doc = " ".join(labelled(v) for v in _field(meta, "document", "document_symbol", "symbol",
                                                "report"))
    numbers = _field(meta, "paragraph", "recommendation_number", "paragraph_number", "number")
    for v in numbers:  # a JSON number: 26.10 was read as 26.1 (refused, as in a spreadsheet)
        raw = v.get("label") or v.get("value") if isinstance(v, dict) else v
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raise NumericParagraph(f"paragraph {text(raw)} is a JSON number, not a string "
                                   "(26.10 reads as 26.1, so it cannot be trusted): write it "
                                   "as \"26.10\"")
    para = normalise_paragraph(" ".join(labelled(v) for v in numbers))
    found = leading_paragraph(words)
    if found:
        para = para or found[0]
        words = found[1]
    response = " ".join(labelled(v) for v in _field(meta, "response", "position"))
    return Entry(page=UPRINFO_PAGE.format(id=shared) if shared else "",
                 text=without_recommenders(words, states), states=states,
                 themes=split_list(_field(meta, "issues", "themes")),
                 sdgs=split_list(_field(meta, "sdgs", "sdg", "goals"), "goals"),
                 position=normalise_position(response or None), doc=doc, paragraph=para)


def parse(rows: Iterable[Row], doc: str | None, known: Sequence[Record], parsed: Parsed) -> None:
    """``known``: the stored recommendations a row without report and paragraph is matched to
    (those of ``doc`` when given)."""
    by_words: dict[str, list[Record]] = defaultdict(list)
    for r in known:
        by_words[comparable(r.text)].append(r)
    for row in rows:
        try:
            e = entry(row)
        except ValueError as err:
            parsed.bad(row, str(err))
            continue
        if not e.page:
            parsed.bad(row, "no sharedId: an Uwazi search answer names each row's entity")
            continue
        row_doc = e.doc or doc
        if doc and e.doc and e.doc != doc:
            parsed.skipped += 1
            continue
        if row_doc and e.paragraph:
            rec = Record(doc=row_doc, paragraph=e.paragraph, text=e.text, states=e.states,
                         themes=e.themes, sdgs=e.sdgs, position=e.position,
                         links={"uprinfo": e.page})
            parsed.records.append((row, rec))
            continue
        match = _match(by_words.get(comparable(e.text), []), e)
        if match is None:
            parsed.bad(row, f"{e.text[:50]!r} matches no recommendation already imported"
                       f"{' for ' + doc if doc else ''}: import the report's recommendations "
                       "first (its CSV or UHRI export), then this answer to add the UPR Info "
                       "pages and responses")
            continue
        # the report's own words, States and themes stay; UPR Info adds its page and response
        parsed.records.append((row, Record(
            doc=match.doc, paragraph=match.paragraph, text=match.text,
            states=() if match.states else e.states, themes=() if match.themes else e.themes,
            sdgs=() if match.sdgs else e.sdgs, position=e.position,
            links={"uprinfo": e.page})))


def _match(candidates: list[Record], e: Entry) -> Record | None:
    if len(candidates) > 1 and e.states:  # the same words from several States: theirs
        mine = {s.casefold() for s in e.states}
        candidates = [c for c in candidates if mine & {s.casefold() for s in c.states}]
    return candidates[0] if len(candidates) == 1 else None
