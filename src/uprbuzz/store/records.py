"""The UPR recommendations and the State's positions (table ``records``, migration 5).

One row per recommendation, keyed by (doc, paragraph). ``states``, ``themes``, ``sdgs`` are
JSON lists, ``links`` a JSON object (``document``, ``uhri``, ``uprinfo``); ``position`` NULL
means the State has not answered yet. The value type and its rules (links, positions, paragraph
order) live in ``uprbuzz.upr_record`` and are re-exported here::

    added, updated = store.records.upsert(records, source="recs.csv")
    store.records.respond(None, "26.1", "noted", "see Add.1 ¶5", source="answers.csv")
    store.records.list(theme="death penalty", position="pending")
    store.records.summary()   # {"total", "by_position", "by_theme", "by_state"}
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from uprbuzz.store.db import Database, utcnow_iso
from uprbuzz.upr_record import (
    PENDING,
    POSITIONS,
    Record,
    document_link,
    normalise_paragraph,
    normalise_position,
    paragraph_order,
)

__all__ = ["Records", "Record", "PositionChange", "Response", "document_link", "normalise_position",
           "paragraph_order"]

_COLUMNS = ("doc, paragraph, text, states, themes, sdgs, position, comment, links, source, "
            "position_source, imported_at, updated_at")


@dataclass(frozen=True)
class Response:
    """The State's position on one recommendation (``doc`` None: see ``Records.resolve``)."""

    doc: str | None
    paragraph: str
    position: str
    comment: str = ""


@dataclass(frozen=True)
class PositionChange:
    """A stored position an import replaced: ``A/HRC/46/15 ¶26.1 noted -> supported``."""

    key: str
    before: str
    after: str
    before_source: str  # the file that had set it (a ``respond`` file, an earlier import)

    def __str__(self) -> str:
        return f"{self.key} {self.before} -> {self.after}"


def _from_row(r: Any) -> Record:
    return Record(doc=r["doc"], paragraph=r["paragraph"], text=r["text"],
                  states=tuple(json.loads(r["states"])), themes=tuple(json.loads(r["themes"])),
                  sdgs=tuple(json.loads(r["sdgs"])), position=r["position"],
                  comment=r["comment"], links=json.loads(r["links"]))


def _sorted(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: (r.doc, paragraph_order(r.paragraph)))


def _fold(s: str) -> str:
    return " ".join(s.casefold().split())


class Records:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- writing -----------------------------------------------------------------------------

    def upsert(self, records: Iterable[Record], source: str,
               changed: list[PositionChange] | None = None) -> tuple[int, int]:
        """Add or refresh records in one transaction: (added, updated); a record that changes
        nothing counts in neither. What the new record lacks is kept from the stored one: a
        None position, an empty comment (a comment is replaced, never erased: it may be the
        State's explanation from ``respond``), empty States, themes or SDGs, and each kind of
        link (so a UHRI import after the CSV adds the UHRI page and keeps the rest). A position
        the new record gives replaces a different stored one; each such change is appended to
        ``changed`` so the caller can say so (a pending one answered is not listed)."""
        batch: dict[tuple[str, str], Record] = {}
        for rec in records:
            batch[(rec.doc, rec.paragraph)] = rec  # the last of duplicates wins, as a re-import
        if not batch:
            return 0, 0
        now = utcnow_iso()
        added = updated = 0
        with self.db.transaction() as c:
            stored = self._stored(c, {doc for doc, _ in batch})
            inserts: list[tuple[Any, ...]] = []
            updates: list[tuple[Any, ...]] = []
            for k, new in batch.items():
                old = stored.get(k)
                if old is None:
                    inserts.append(_insert_row(new, source, now))
                    continue
                merged = _merge(old[0], new)
                if merged == old[0]:
                    continue
                if merged.position != old[0].position:
                    pos_source = source
                    if changed is not None and old[0].position is not None:
                        changed.append(PositionChange(new.key, old[0].position,
                                                      merged.status, old[1]))
                else:
                    pos_source = old[1]
                updates.append((merged.text, _dump(merged.states), _dump(merged.themes),
                                _dump(merged.sdgs), merged.position, merged.comment,
                                _dump_links(merged), source, pos_source, now, *k))
            if inserts:
                c.executemany(f"INSERT INTO records ({_COLUMNS}) VALUES "
                              "(?,?,?,?,?,?,?,?,?,?,?,?,?)", inserts)
            if updates:
                c.executemany("UPDATE records SET text=?, states=?, themes=?, sdgs=?, position=?, "
                              "comment=?, links=?, source=?, position_source=?, updated_at=? "
                              "WHERE doc=? AND paragraph=?", updates)
            added, updated = len(inserts), len(updates)
        return added, updated

    def respond(self, doc: str | None, paragraph: str, position: str, comment: str,
                source: str) -> bool:
        """Record the State's position on one recommendation; False if there is none such."""
        try:
            self.respond_all([Response(doc, paragraph, position, comment)], source)
        except LookupError:
            return False
        return True

    def respond_all(self, responses: Sequence[Response], source: str) -> int:
        """Every position in one transaction, all or nothing: LookupError names the first
        recommendation not stored (nothing is written then), ValueError a bad position."""
        now = utcnow_iso()
        rows = []
        for r in responses:
            position = normalise_position(r.position)
            if position is None:
                raise ValueError(f"{r.paragraph}: a response needs a position "
                                 f"({', '.join(POSITIONS)})")
            rows.append((position, r.comment.strip(), source, now, r.doc, r.paragraph))
        with self.db.transaction() as c:
            for position, comment, src, at, doc, para in rows:
                doc = self._resolve(_run_in(c), doc, para)
                if doc is None:
                    raise LookupError(f"no recommendation ¶{normalise_paragraph(para)} is stored")
                c.execute("UPDATE records SET position=?, comment=?, position_source=?, "
                          "updated_at=? WHERE doc=? AND paragraph=?",
                          (position, comment, src, at, doc, normalise_paragraph(para)))
        return len(rows)

    # --- reading -----------------------------------------------------------------------------

    def resolve(self, doc: str | None, paragraph: str) -> str | None:
        """The document a paragraph belongs to: ``doc`` itself when it holds the paragraph;
        with ``doc`` None, the only document holding it, or the most recently imported of
        several. None if no stored document has that paragraph."""
        return self._resolve(self.db.query, doc, paragraph)

    def get(self, doc: str | None, paragraph: str) -> Record | None:
        """One record (``doc`` None: see ``resolve``)."""
        found = self.resolve(doc, paragraph)
        if found is None:
            return None
        rows = self.db.query("SELECT * FROM records WHERE doc=? AND paragraph=?",
                             (found, normalise_paragraph(paragraph)))
        return _from_row(rows[0]) if rows else None

    def docs(self) -> list[str]:
        """The stored documents, the most recently imported first."""
        rows = self.db.query("SELECT doc, MAX(imported_at) AS latest FROM records GROUP BY doc "
                             "ORDER BY latest DESC, doc")
        return [r["doc"] for r in rows]

    def list(self, theme: str | None = None, state: str | None = None,
             position: str | None = None, doc: str | None = None) -> list[Record]:
        """Records in document and paragraph order (26.2 before 26.10). Filters ignore case;
        ``theme`` matches any theme containing it ("death" finds "Death penalty"), ``state``
        a whole name ("Niger" is not "Nigeria"); ``position`` takes any spelling ``normalise_position`` does, or ``pending``."""
        if doc is None:
            rows = self.db.query("SELECT * FROM records")
        else:
            rows = self.db.query("SELECT * FROM records WHERE doc=?", (doc.strip(),))
        out = [_from_row(r) for r in rows]
        if theme is not None:
            out = [r for r in out if any(_fold(theme) in _fold(t) for t in r.themes)]
        if state is not None:
            out = [r for r in out if _fold(state) in {_fold(s) for s in r.states}]
        if position is not None:
            want = None if _fold(position) == PENDING else normalise_position(position)
            out = [r for r in out if r.position == want]
        return _sorted(out)

    def summary(self, doc: str | None = None) -> dict[str, Any]:
        """``{"total": N, "by_position": {"supported": n, "noted": n, "supported in part": n,
        "pending": n}, "by_theme": {...}, "by_state": {...}}``. A recommendation counts once
        under each of its themes and each of its States; themes and States are listed by
        count, then name."""
        records = self.list(doc=doc)
        by_position = {p: 0 for p in (*POSITIONS, PENDING)}
        themes: Counter[str] = Counter()
        states: Counter[str] = Counter()
        for r in records:
            by_position[r.status] += 1
            themes.update(r.themes)
            states.update(r.states)
        return {"total": len(records), "by_position": by_position,
                "by_theme": _by_count(themes), "by_state": _by_count(states)}

    # --- helpers -------------------------------------------------------------------------------

    def _stored(self, c: Any, docs: set[str]) -> dict[tuple[str, str], tuple[Record, str]]:
        out: dict[tuple[str, str], tuple[Record, str]] = {}
        for doc in sorted(docs):
            for r in c.execute("SELECT * FROM records WHERE doc=?", (doc,)).fetchall():
                out[(r["doc"], r["paragraph"])] = (_from_row(r), r["position_source"])
        return out

    @staticmethod
    def _resolve(run: Callable[[str, tuple[Any, ...]], Sequence[Any]], doc: str | None,
                 paragraph: str) -> str | None:
        para = normalise_paragraph(paragraph)
        if doc is not None:
            hit = run("SELECT doc FROM records WHERE doc=? AND paragraph=?", (doc.strip(), para))
        else:  # the most recently imported document holding the paragraph
            hit = run("SELECT doc FROM records WHERE paragraph=? ORDER BY imported_at DESC, doc",
                      (para,))
        return str(hit[0]["doc"]) if hit else None


def _run_in(c: Any) -> Callable[[str, tuple[Any, ...]], list[Any]]:
    """A query function over a transaction's handle."""
    return lambda sql, params: list(c.execute(sql, params).fetchall())


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _dump(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _dump_links(r: Record) -> str:
    return json.dumps(dict(sorted(r.links.items())), ensure_ascii=False)


def _insert_row(r: Record, source: str, now: str) -> tuple[Any, ...]:
    return (r.doc, r.paragraph, r.text, _dump(r.states), _dump(r.themes), _dump(r.sdgs),
            r.position, r.comment, _dump_links(r), source, source if r.position else "", now, now)


def _merge(old: Record, new: Record) -> Record:
    return Record(
        doc=old.doc, paragraph=old.paragraph, text=new.text or old.text,
        states=new.states or old.states, themes=new.themes or old.themes,
        sdgs=new.sdgs or old.sdgs, position=new.position or old.position,
        comment=new.comment or old.comment, links={**old.links, **new.links},
    )
