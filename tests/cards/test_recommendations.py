"""All 347 recommendations to the USA (UPR 2020) render as cards without overflow (CI test)."""

from __future__ import annotations

import csv
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from tests.cards.golden import outside
from tests.conftest import SHARED

CSV = SHARED / "data" / "upr2020" / "us_upr2020_recommendations.csv"
pytestmark = [pytest.mark.shared, pytest.mark.usefixtures("card_fonts"),
              pytest.mark.skipif(not CSV.exists(), reason="shared data absent")]


def _rows() -> list[dict[str, str]]:
    with CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _check(rows: list[dict[str, str]]) -> list[str]:
    """Render each row; return the problems found (empty = all fine)."""
    from uprbuzz.cards import render

    problems = []
    for i, r in enumerate(rows):
        fields = {"state": r["recommending_states"], "text": r["text"],
                  "paragraph": r["paragraph"], "timestamp": f"00:{i // 60:02d}:{i % 60:02d}"}
        out = render("recommendation", fields, "1600x900", {"handle": "@uprwatch"}, inspect=True)
        p = r["paragraph"]
        for name, box in out.report["boxes"].items():
            if box["truncated"] or box["removed"] or not box["inside"]:
                problems.append(f"{p} {name}: {box}")
        text_box = out.report["boxes"]["text"]
        if outside(out.layers["text"], text_box["box"]):
            problems.append(f"{p}: text pixels outside the box")
        if r["text"] not in out.alt or p not in out.alt:
            problems.append(f"{p}: alt text lacks the recommendation: {out.alt!r}")
        for state in r["recommending_states"].split("; "):
            if state not in out.alt:
                problems.append(f"{p}: alt text lacks {state}")
    return problems


def test_all_347_recommendations_fit() -> None:
    rows = _rows()
    assert len(rows) == 347
    workers = min(2, os.cpu_count() or 1)
    chunks = [rows[i::workers] for i in range(workers)]
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        problems = [p for part in pool.map(_check, chunks) for p in part]
    assert not problems, "\n".join(problems[:20])
