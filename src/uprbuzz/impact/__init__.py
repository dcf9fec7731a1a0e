"""``uprbuzz report``: what the coverage achieved, read back from the ledger.

``compute`` (``impact.compute``) draws every number once into an ``ImpactData``; it is then
written as a static HTML page (``html_page``: inline SVG ``charts``, no script), CSV or JSON
(``tabular``). Which posts cover which recommendation is ``impact.coverage``; the scope
(campaign, live session, time window) is ``impact.scope``; words and number formats in the
project's language are ``impact.words``.
"""

from __future__ import annotations

from uprbuzz.impact.compute import check_scope, compute
from uprbuzz.impact.data import ImpactData, tables
from uprbuzz.impact.scope import Scope, ScopeError, parse_when

FORMATS = ("html", "csv", "json")

__all__ = ["FORMATS", "ImpactData", "Scope", "ScopeError", "check_scope", "compute", "parse_when", "render",
           "tables"]


def render(data: ImpactData, fmt: str) -> str:
    if fmt == "html":
        from uprbuzz.impact.html_page import render as html

        return html(data)
    from uprbuzz.impact.tabular import to_csv, to_json

    return to_csv(data) if fmt == "csv" else to_json(data)
