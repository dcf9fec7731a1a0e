"""The readers under `records import`: where each row is (CSV lines across quoted new lines,
JSON elements by index and line), how multi-valued cells split, the recommenders taken off a
text."""

from __future__ import annotations

import json

import pytest

from uprbuzz.sources.records.cells import (
    comparable,
    leading_paragraph,
    split_list,
    without_recommenders,
)
from uprbuzz.sources.records.tables import RecordFileError, csv_rows, json_rows


def test_csv_rows_start_at_their_own_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('\ufeffparagraph,text\n26.1,"two\nlines"\n\n26.2,one\n', encoding="utf-8")
    rows = list(csv_rows(path))
    assert [(r.line, r.label, r.cells["paragraph"]) for r in rows] == [
        (2, "line 2", "26.1"), (5, "line 5", "26.2")]
    assert rows[0].cells["text"] == "two\nlines"
    semi = tmp_path / "s.csv"
    semi.write_text("paragraph;text\n26.1;Excel, in Europe\n", encoding="utf-8")
    assert next(csv_rows(semi)).cells == {"paragraph": "26.1", "text": "Excel, in Europe"}


def test_json_rows_are_named_by_index_and_line(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[\n  {"a": 1},\n\n  {"a": "x\\ny",\n   "b": [1, 2]}\n]', encoding="utf-8")
    assert [(r.label, r.line, r.cells["a"]) for r in json_rows(path)] == [
        ("[0]", 2, 1), ("[1]", 4, "x\ny")]
    answer = tmp_path / "u.json"
    answer.write_text(json.dumps({"totalRows": 2, "aggregations": {"all": {}},
                                  "rows": [{"sharedId": "a"}, {"sharedId": "b"}]}, indent=1))
    assert [(r.label, r.cells["sharedId"]) for r in json_rows(answer)] == [
        ("rows[0]", "a"), ("rows[1]", "b")]
    for text, needle in [('[{"a": 1}, 7]', r"\[1\]: expected an object"),
                         ('[{"a": 1} {"a": 2}]', "expected ',' or ']'"),
                         ('"text"', "expected a JSON array"),
                         ('[{"a": }]', "not valid JSON")]:
        path.write_text(text)
        with pytest.raises(RecordFileError, match=needle):
            list(json_rows(path))


@pytest.mark.parametrize(("value", "kind", "want"), [
    ("Chile, Peru", "names", ("Chile", "Peru")),
    ("Rwanda; Bahamas;Namibia", "names", ("Rwanda", "Bahamas", "Namibia")),
    ("Venezuela (Bolivarian Republic of), Nicaragua", "names",
     ("Venezuela (Bolivarian Republic of)", "Nicaragua")),
    ("Economic, social & cultural rights - general measures of implementation", "names",
     ("Economic, social & cultural rights - general measures of implementation",)),
    ("International criminal & humanitarian law (including crimes against humanity, War "
     "crimes)", "names",
     ("International criminal & humanitarian law (including crimes against humanity, War "
      "crimes)",)),
    ("Chile\nPeru | Chile", "names", ("Chile", "Peru")),
    ("16 - PEACE, JUSTICE AND STRONG INSTITUTIONS, 5 - GENDER EQUALITY", "goals",
     ("16 - PEACE, JUSTICE AND STRONG INSTITUTIONS", "5 - GENDER EQUALITY")),
    ([{"value": "x", "label": "Chile"}, {"value": "Peru"}], "names", ("Chile", "Peru")),
    ("", "names", ()),
])
def test_multi_valued_cells_split_as_they_are_written(value, kind, want):
    assert split_list(value, kind) == want


def test_paragraphs_and_recommenders_come_off_the_text():
    assert leading_paragraph("26.1 Consider ratifying") == ("26.1", "Consider ratifying")
    assert leading_paragraph("26.12. Ratify") == ("26.12", "Ratify")
    assert leading_paragraph("Consider 26.1") is None
    assert leading_paragraph("2020 was a year") is None
    assert without_recommenders("Ratify it (Somalia);", ["Somalia"]) == "Ratify it"
    assert without_recommenders("Abolish it (Rwanda, Bahamas)", ["Rwanda", "Bahamas"]) == \
        "Abolish it"
    assert without_recommenders("Ratify (Bolivarian Republic of Venezuela);",
                                ["Venezuela (Bolivarian Republic of)"]) == "Ratify"
    # brackets that are part of the recommendation stay
    assert without_recommenders("Join the code (ACT Group) (Liechtenstein);",
                                ["Liechtenstein"]) == "Join the code (ACT Group)"
    assert without_recommenders("Cooperate (Bolivarian Republic of) (Nicaragua)",
                                ["Nicaragua"]) == "Cooperate (Bolivarian Republic of)"
    assert comparable("26.1 Consider ratifying all “core” conventions (Somalia);") == \
        comparable("Consider  ratifying all \"core\" Conventions")


def test_the_header_decides_the_delimiter(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("paragraph,position,comment\n26.1,noted,\"a; b; c, d\"\n", encoding="utf-8")
    assert next(csv_rows(path)).cells == {"paragraph": "26.1", "position": "noted",
                                          "comment": "a; b; c, d"}
    path.write_text("paragraph\tposition\n26.1\tnoted\n", encoding="utf-8")
    assert next(csv_rows(path)).cells == {"paragraph": "26.1", "position": "noted"}


def test_long_imports_report_progress(tmp_path, monkeypatch):
    from tests.records.records_files import small_rows, write_uhri_json
    from uprbuzz.sources.records import importing
    from uprbuzz.store import Store

    monkeypatch.setattr(importing, "PROGRESS_EVERY", 2)
    path = write_uhri_json(tmp_path / "u.json", small_rows())
    lines: list[str] = []
    with Store.open(tmp_path / "s.sqlite") as store:
        done = importing.import_records(store, path, progress=lines.append)
    assert done.added == 6
    assert lines == ["... 2 rows read from u.json", "... 4 rows read from u.json",
                     "... 6 rows read from u.json", "... storing 6 recommendations"]
