"""Which posts cover which recommendation: the rule, in one place.

A post covers the record ``A/HRC/46/15 ¶26.1`` when something it published names it:

- a sent part's text, or its card's ``doc`` / ``paragraph`` / ``record`` / ``link`` fields
  (read as one text), or its link card's URL, holds the paragraph number ``26.1`` as a number of its own (not inside ``126.1``,
  ``26.10`` or ``26.1.2``); when that text also names document symbols (``A/HRC/46/15``), only
  records of those documents match, so two reports' ``26.1`` are told apart; or
- it holds one of the record's own links (its UHRI or UPR Info page; the UN document's link is
  shared by every paragraph of a report, so it names none of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from uprbuzz.upr_record import Record

PARAGRAPH = re.compile(r"(?<![\d.])(\d{1,3}\.\d{1,3}(?:bis|ter)?)(?!\w|\.\d)")
SYMBOL = re.compile(r"\b([A-Z]/HRC/\d+/\d+)(?:/Add\.\d+)?")
CARD_FIELDS = ("doc", "paragraph", "record", "link")  # read together: doc narrows paragraph
SHARED_LINKS = ("document",)  # a link every paragraph of a report has (Record.links)


def covering(records: Iterable[Record], texts: Mapping[str, Iterable[str]]
             ) -> dict[str, list[str]]:
    """Record key -> the ids of the posts covering it (sorted), for each record some post covers.
    ``texts``: post id -> what it published (parts, card fields, link)."""
    by_para: dict[str, list[Record]] = {}
    by_link: dict[str, list[Record]] = {}
    for r in records:
        by_para.setdefault(r.paragraph.strip(), []).append(r)
        for name, url in r.links.items():
            if url and name not in SHARED_LINKS:
                by_link.setdefault(url, []).append(r)
    out: dict[str, set[str]] = {}
    for post_id, chunks in texts.items():
        for text in chunks:
            docs = set(SYMBOL.findall(text))
            for para in PARAGRAPH.findall(text):
                for r in by_para.get(para, ()):
                    if not docs or r.doc in docs:
                        out.setdefault(r.key, set()).add(post_id)
            for url, recs in by_link.items():
                if url in text and re.search(re.escape(url) + r"(?![\w/-])", text):
                    for r in recs:
                        out.setdefault(r.key, set()).add(post_id)
    return {k: sorted(v) for k, v in out.items()}
