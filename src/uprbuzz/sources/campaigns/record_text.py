"""A record's words in a post: the placeholders of a records rule, and ``{text}`` shortened so
that the post fits each platform.

``{states}`` is a list in the post's language (the States as imported, joined as the language
joins them: "Slovakia and Slovenia", "Slovakia et Slovenia"), ``{position}`` the State's
position in that language (the cards' gettext catalogs). The length of a post is measured as
each platform measures it (:mod:`uprbuzz.platforms.text_measure`: X's weighted length with
URLs as 23, Bluesky's graphemes and bytes, Mastodon's count against the instance's limit);
no limit is restated here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from uprbuzz.sources.campaigns import campaign_rules as R
from uprbuzz.upr_record import PENDING, POSITIONS, Record

RECORD_FIELDS = ("key", "doc", "paragraph", "text", "states", "themes", "position", "comment",
                 "link")
SUMMARY_FIELDS = ("total", "supported", "noted", "supported_in_part", "pending", "counts")
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_]+)(?::([^{}]+))?\}")
_SPLIT = re.compile(r"^---\s*$", re.M)
ELLIPSIS = "…"


def position_words(position: str | None, lang: str) -> str:
    """``noted`` in the post's language (the cards' catalogs, context ``position``)."""
    from uprbuzz.cards import labels as L

    return L.position(position or PENDING, lang)


def record_values(rec: Record, lang: str) -> dict[str, str]:
    """Every record placeholder's value for a post in ``lang`` (``text`` in full)."""
    from uprbuzz.cards.i18n import format_list

    return {"key": rec.key, "doc": rec.doc, "paragraph": rec.paragraph, "text": rec.text,
            "states": format_list(list(rec.states), lang),
            "themes": format_list(list(rec.themes), lang),
            "position": position_words(rec.position, lang), "comment": rec.comment,
            "link": rec.link}


def summary_values(records: list[Record], lang: str) -> dict[str, str]:
    """The counts by position of ``records`` (``{counts}``: '183 supported, 140 noted …')."""
    from uprbuzz.cards import labels as L

    counts = position_counts(records)
    out = {"total": str(len(records)),
           **{k.replace(" ", "_"): str(n) for k, n in counts.items()}}
    out["counts"] = L.counts_sentence(counts, lang)
    return out


def position_counts(records: list[Record]) -> dict[str, int]:
    """Records by position (pending included), in the positions' order."""
    counts = {p: 0 for p in (*POSITIONS, PENDING)}
    for r in records:
        counts[r.status] += 1
    return counts


def counts_field(counts: Mapping[str, int]) -> str:
    """The summary card's ``counts`` field: 'supported=183; noted=140; …'."""
    return "; ".join(f"{k}={n}" for k, n in counts.items())


def fill(template: str, values: Mapping[str, str], ctx: R.Context, known: tuple[str, ...]) -> str:
    """``template`` with record (or summary) placeholders from ``values`` and the calendar's
    (``{date}``, ``{weekday}`` …) from ``ctx``; an unknown one is a RuleError."""

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok in ("{{", "}}"):
            return tok[0]
        name = m.group(1)
        if name in known:
            return values.get(name, "")
        if name in R.FIELDS:
            return R.render(tok, ctx)
        raise R.RuleError(f"unknown placeholder {{{name}}}; known: "
                          + ", ".join("{" + f + "}" for f in (*known, *R.FIELDS)))

    return _TOKEN.sub(sub, template)


def parts_of(text: str) -> list[str]:
    """A filled text's thread parts (a line with only ``---`` splits), blank ones dropped."""
    return [c.strip() for c in _SPLIT.split(text) if c.strip()]


def fits(platform: str, text: str, max_characters: int | None = None) -> bool:
    """Does ``text`` fit one post on ``platform`` (as the platform counts)?"""
    from uprbuzz.platforms import text_measure as M

    if platform == "x":
        return M.x_length(text).valid
    if platform == "bluesky":
        return M.bluesky_count(text).valid
    if max_characters is None:
        return M.mastodon_count(text).valid
    return M.mastodon_count(text, limit=max_characters).valid


def shortened(full: str | list[str], keep: int) -> str:
    """The first ``keep`` graphemes of ``full`` (a text or its graphemes), cut back to a word
    end when one is near, with an ellipsis (an emoji or an accented letter stays whole)."""
    g = graphemes(full) if isinstance(full, str) else full
    if keep >= len(g):
        return "".join(g)
    head = "".join(g[:keep])
    space = max(head.rfind(" "), head.rfind("\u3000"))
    if space >= len(head) * 0.6:  # a word end in the last 40 %: don't cut a word in two
        head = head[:space]
    return head.rstrip(" ,;:.-–—\u3000、，；：") + ELLIPSIS


def graphemes(text: str) -> list[str]:
    import regex

    return list(regex.findall(r"\X", text))


def fit_text(make: Callable[[str], str], full: str, ok: Callable[[str], bool]) -> str | None:
    """``make(text)`` for the longest shortening of ``full`` whose every part is ``ok``
    (``make(full)`` when it fits as it is); None when not even an empty ``{text}`` fits."""

    def good(t: str) -> bool:
        return all(ok(p) for p in parts_of(make(t)))

    if good(full):
        return make(full)
    g = graphemes(full)
    if not good(shortened(g, 0)):
        return None
    lo, hi = 0, len(g) - 1  # graphemes kept: lo fits, more than hi does not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if good(shortened(g, mid)):
            lo = mid
        else:
            hi = mid - 1
    return make(shortened(g, lo))
