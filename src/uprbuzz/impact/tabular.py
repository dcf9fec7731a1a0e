"""The report as CSV and JSON, from the same ``ImpactData`` as the page.

CSV: every cell of every table in one long file, ``section,row,column,value`` (rows counted
from 1; dates ISO, dollars as decimals, links ``channel=url`` joined by spaces), so a
spreadsheet's pivot gives back any table. JSON: ``ImpactData.as_dict()``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from uprbuzz.impact.data import Cell, ImpactData, tables


def _raw(v: Cell) -> str:
    if v is None:
        return ""
    if isinstance(v, tuple):
        return " ".join(f"{label}={url}" for label, url in v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:.6f}".rstrip("0").rstrip(".") if v else "0"
    return str(v)


def to_csv(d: ImpactData) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["section", "row", "column", "value"])
    for t in tables(d):
        for i, row in enumerate(t.rows, 1):
            for c, v in zip(t.columns, row, strict=True):
                out.writerow([t.name, i, c.key, _raw(v)])
    return buf.getvalue()


def to_json(d: ImpactData) -> str:
    return json.dumps(d.as_dict(), indent=2, ensure_ascii=False) + "\n"
