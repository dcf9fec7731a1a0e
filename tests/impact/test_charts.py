"""The engagement chart's lines stay apart when their values are equal: each series has its own
dash pattern and marker shape (colour is never the only cue), in the legend too."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from uprbuzz.impact import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_equal_series_differ_by_dash_and_marker() -> None:
    same = [0.0, 3.0, 3.0, 5.0]
    svg = charts.lines("c", "Engagement", "Likes and reposts", ["1", "2", "3", "4"],
                       [("Likes", same), ("Reposts", same), ("Replies", [0, 1, 1, 1]),
                        ("Quotes", [0, 0, 0, 0])], str)
    root = ET.fromstring(svg)
    polylines = root.findall(f"{SVG}polyline")
    assert len(polylines) == 4
    dashes = [p.get("stroke-dasharray") for p in polylines]
    assert len(set(dashes)) == 4 and dashes[0] is None  # the first solid, the others dashed
    assert polylines[0].get("points") == polylines[1].get("points")  # equal: on top of each other
    # a marker per point, a different shape per series, drawn after (over) every line
    kinds = [el.tag.removeprefix(SVG) for el in root if el.tag != f"{SVG}polyline"]
    last_line = max(i for i, el in enumerate(root) if el.tag == f"{SVG}polyline")
    first_mark = min(i for i, el in enumerate(root) if el.tag in (f"{SVG}circle",
                                                                  f"{SVG}polygon"))
    assert first_mark > last_line
    assert kinds.count("circle") == 4 + 1  # Likes' four points and its legend sample
    assert len(root.findall(f"{SVG}polygon")) == 2 * (4 + 1)  # Replies' triangles, Quotes' diamonds
    # the legend draws each line's sample with its dash
    legend = [el for el in root.findall(f"{SVG}line") if el.get("stroke") != charts.GRID]
    assert [el.get("stroke-dasharray") for el in legend] == dashes
    assert re.search(r">Reposts</text>", svg)
