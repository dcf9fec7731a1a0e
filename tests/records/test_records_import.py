"""`uprbuzz records import / list / respond / summary` end to end: the project CSV (a small one
here, and the shared 347), UHRI-shaped XLSX and JSON built by the tests, UPR Info search
answers; on SQLite and a real PostgreSQL where the store is involved."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import needs_shared
from tests.records.records_files import (
    DOC,
    POSITION,
    SHARED_CSV,
    expected_summary,
    make_root,
    run,
    shared_rows,
    small_rows,
    states_of,
    uhri_id,
    write_csv,
    write_uhri_json,
    write_uhri_xlsx,
)
from uprbuzz.store import Store
from uprbuzz.upr_record import paragraph_order

DOC_LINK = "https://docs.un.org/en/A/HRC/46/15"


def source_rows(which: str) -> list[dict[str, str]]:
    return shared_rows() if which == "shared" else small_rows()


# the shared 347 as a parameter: marked and skipped as needs_shared does
BOTH = pytest.mark.parametrize("which", ["small", pytest.param("shared", marks=[
    pytest.mark.shared, pytest.mark.skipif(not SHARED_CSV.exists(),
                                           reason="needs ../shared/data/upr2020")])])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path)


def listed(root: Path, *args: str, env: dict[str, str] | None = None) -> list[dict]:
    r = run(root, "list", "--json", *args, env=env)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def summary(root: Path, env: dict[str, str] | None = None) -> dict:
    r = run(root, "summary", "--json", env=env)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@needs_shared(SHARED_CSV)
def test_the_shared_csv_imports_347_with_document_links(root):
    rows = shared_rows()
    assert len(rows) == 347  # counted with the csv module, not by uprbuzz
    r = run(root, "import", str(SHARED_CSV), "--doc", DOC)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == (f"imported 347 recommendations (347 new, 0 updated) from "
                                f"{SHARED_CSV}")
    got = listed(root)
    assert [g["paragraph"] for g in got] == [row["paragraph"] for row in rows]
    assert {g["link"] for g in got} == {DOC_LINK}
    assert all(g["key"] == f"{DOC} ¶{g['paragraph']}" for g in got)
    by_para = {g["paragraph"]: g for g in got}
    for row in rows:
        g = by_para[row["paragraph"]]
        assert g["states"] == states_of(row) and g["text"] == row["text"]
        assert (g["position"] or "pending") == POSITION[row["position"]]
    assert summary(root) == expected_summary(rows)
    again = run(root, "import", str(SHARED_CSV), "--doc", DOC)
    assert "(0 new, 0 updated, 347 unchanged)" in again.stdout


@BOTH
def test_a_uhri_xlsx_export_imports_with_its_pages(root, tmp_path, which):
    rows = source_rows(which)
    path = write_uhri_xlsx(tmp_path / "uhri.xlsx", rows, extra=[
        ["A/HRC/45/1", "35", "Chile", "Supported", "Migrants", "", "", "", "", "9.1 Other"]])
    r = run(root, "import", str(path), "--doc", DOC)
    assert r.exit_code == 0, r.output
    n = len(rows)
    assert r.stdout.strip() == (f"imported {n} recommendations ({n} new, 0 updated) from "
                                f"{path}; 1 row of other documents skipped")
    _check_uhri_import(root, rows)


@BOTH
def test_a_uhri_json_export_imports_with_its_pages(root, tmp_path, which, store_url):
    env = {"UPRBUZZ_STATE": store_url}  # SQLite, then PostgreSQL
    rows = source_rows(which)
    path = write_uhri_json(tmp_path / "export-full-en.json", rows)
    r = run(root, "import", str(path), env=env)
    assert r.exit_code == 0, r.output
    assert f"imported {len(rows)} recommendations ({len(rows)} new, 0 updated)" in r.stdout
    _check_uhri_import(root, rows, env)


def _check_uhri_import(root: Path, rows: list[dict[str, str]],
                       env: dict[str, str] | None = None) -> None:
    got = listed(root, env=env)
    assert [g["paragraph"] for g in got] == sorted((r["paragraph"] for r in rows),
                                                   key=paragraph_order)
    by_para = {g["paragraph"]: g for g in got}
    for row in rows:
        g = by_para[row["paragraph"]]
        page = f"https://uhri.ohchr.org/en/document/{uhri_id(row['paragraph'])}"
        assert g["link"] == page and g["links"] == {"document": DOC_LINK, "uhri": page}
        assert g["states"] == states_of(row), row  # "A, B" in the cell -> two States
        assert g["text"] == row["text"]  # paragraph and "(States);" taken off
        assert g["themes"] == [row["ohchr_primary_theme"]]
        assert g["sdgs"] == ["16 - PEACE, JUSTICE AND STRONG INSTITUTIONS", "5 - GENDER EQUALITY"]
    assert summary(root, env) == expected_summary(rows)


def test_csv_then_uhri_keeps_positions_and_adds_pages(root, tmp_path):
    rows = small_rows()
    run(root, "import", str(write_csv(tmp_path / "recs.csv", rows)), "--doc", DOC)
    for r in rows:
        r["position"] = ""  # an export made before the State answered
    path = write_uhri_xlsx(tmp_path / "uhri.xlsx", rows)
    r = run(root, "import", str(path))
    assert r.exit_code == 0, r.output
    assert f"(0 new, {len(rows)} updated)" in r.stdout
    assert summary(root)["by_position"] == dict(Counter(
        {"supported": 2, "noted": 2, "supported in part": 1, "pending": 1}))
    assert all(g["link"].startswith("https://uhri.ohchr.org/") for g in listed(root))


def test_the_small_csv_imports_and_lists_with_filters(root, tmp_path):
    path = write_csv(tmp_path / "recs.csv", small_rows())
    r = run(root, "import", str(path), "--doc", DOC)
    assert r.stdout.strip() == f"imported 6 recommendations (6 new, 0 updated) from {path}"
    # no --doc, no doc column: the one report already stored
    assert run(root, "import", str(path)).exit_code == 0
    assert [g["paragraph"] for g in listed(root)] == ["26.1", "26.2", "26.3", "26.10", "26.11",
                                                      "27.1"]
    assert [g["paragraph"] for g in listed(root, "--theme", "DEATH PENALTY")] == ["26.2",
                                                                                  "26.3"]
    assert [g["paragraph"] for g in listed(root, "--state", "bahamas")] == ["26.2"]
    assert [g["paragraph"] for g in listed(root, "--position", "pending")] == ["26.3"]
    assert [g["paragraph"] for g in listed(root, "--position", "Supported in part")] == ["26.2"]
    [one] = listed(root, "--state", "chile")
    assert set(one) == {"key", "doc", "paragraph", "states", "themes", "sdgs", "position",
                        "comment", "link", "links", "text"}
    assert one["key"] == "A/HRC/46/15 ¶27.1" and one["states"] == ["Mexico", "Chile"]
    table = run(root, "list", "--theme", "migrants")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0] == "A/HRC/46/15 ¶27.1  [supported]  Mexico; Chile"
    assert DOC_LINK in table.stdout
    bad = run(root, "list", "--position", "maybe")
    assert bad.exit_code == 2 and "unknown position 'maybe'" in bad.output


def test_respond_then_summary_gives_the_exact_counts(root, tmp_path, store_url):
    env = {"UPRBUZZ_STATE": store_url}
    rows = small_rows()
    for r in rows:
        r["position"] = ""  # imported before the State answered: all pending
    path = write_csv(tmp_path / "recs.csv", rows)
    assert run(root, "import", str(path), "--doc", DOC, env=env).exit_code == 0
    assert summary(root, env)["by_position"] == {"supported": 0, "noted": 0,
                                                 "supported in part": 0, "pending": 6}
    answers = tmp_path / "answers.csv"
    answers.write_text("paragraph,position,comment\n"
                       "26.1,Supported,\"Add.1 ¶3: already, in part, done\"\n"
                       "A/HRC/46/15 ¶26.2,supported in part,\n"
                       "26.10,Not Supported,see ¶7\n"
                       "¶26.11,noted,\n", encoding="utf-8")
    r = run(root, "respond", str(answers), env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"recorded 4 responses from {answers} (2 recommendations still " \
                               "pending)"
    got = summary(root, env)
    assert got["total"] == 6
    assert got["by_position"] == {"supported": 1, "noted": 2, "supported in part": 1,
                                  "pending": 2}
    assert got["by_state"] == {"Bahamas": 1, "Chile": 1, "Côte d'Ivoire": 1, "Liechtenstein": 1,
                               "Mexico": 1, "Namibia": 1, "Rwanda": 1, "Somalia": 1,
                               "Venezuela (Bolivarian Republic of)": 1}
    assert got["by_theme"]["Death penalty"] == 2
    [first] = listed(root, "--position", "supported", env=env)
    assert first["comment"] == "Add.1 ¶3: already, in part, done"
    with Store.open(store_url) as store:
        row = store.db.query("SELECT position_source FROM records WHERE paragraph=?",
                             ("26.10",))[0]
        assert row["position_source"] == str(answers)


@needs_shared(SHARED_CSV)
def test_respond_xlsx_over_the_shared_347(root, tmp_path):
    import openpyxl

    rows = shared_rows()
    assert run(root, "import", str(SHARED_CSV), "--doc", DOC).exit_code == 0
    # the State changes its mind on every tenth recommendation: supported <-> noted
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Paragraph", "Position", "Comment"])
    flip = {"supported": "noted", "noted": "supported", "supported_noted": "supported"}
    for row in rows[::10]:
        row["position"] = flip[row["position"]]
        sheet.append([row["paragraph"], row["position"].title(), "revised"])
    book.save(tmp_path / "answers.xlsx")
    r = run(root, "respond", str(tmp_path / "answers.xlsx"))
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"recorded {len(rows[::10])} responses")
    assert summary(root) == expected_summary(rows)


def test_a_bad_row_names_its_line_and_stores_nothing(root, tmp_path):
    rows = small_rows()
    run(root, "import", str(write_csv(tmp_path / "recs.csv", rows)), "--doc", DOC)
    before = listed(root)
    changed = [dict(r, text=r["text"] + " (changed)") for r in rows]
    changed[3]["position"] = "maybe"  # line 5 (the header is line 1)
    changed[5]["paragraph"] = ""  # line 7
    path = write_csv(tmp_path / "bad.csv", changed)
    r = run(root, "import", str(path), "--doc", DOC)
    assert r.exit_code == 2 and r.stdout == ""
    # one line per bad row, each saying what is wrong, then the count
    first, second, last = r.stderr.splitlines()
    assert first.startswith(f"uprbuzz: {path}:5:1: unknown position 'maybe'")
    assert second == f"{path}:7:1: a recommendation needs its paragraph"
    assert last == f"{path}: 2 bad rows; nothing was imported"
    assert listed(root) == before  # the good rows were not stored either


def test_bad_xlsx_and_json_rows_are_named_by_row_and_index(root, tmp_path):
    rows = small_rows()
    xlsx = write_uhri_xlsx(tmp_path / "u.xlsx", rows, extra=[
        ["A/HRC/46/15", "36", "Chile", "Supported", "", "", "", "", "", "No number here"]])
    r = run(root, "import", str(xlsx))
    assert r.exit_code == 2
    assert f"{xlsx}:8:1: row 8: Text does not start with a paragraph number" in r.stderr
    js = write_uhri_json(tmp_path / "u.json", rows, extra=[
        {"Document Symbol": DOC, "Text": "26.1 Again", "UPR Position": "Supported"}])
    r = run(root, "import", str(js))
    assert r.exit_code == 2
    # element [6] is on line 8 (the "[" is line 1); 26.1 is there twice
    assert f"{js}:8:1: [6]: A/HRC/46/15 ¶26.1 is listed twice (also at [0])" in r.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('[\n{"Document Symbol": "A/HRC/46/15", "Text": "26.1 x"},\n{"Text": }\n]')
    r = run(root, "import", str(broken))
    assert r.exit_code == 2 and f"{broken}:3:" in r.stderr and "not valid JSON" in r.stderr
    assert listed(root) == []


def test_unreadable_files_are_one_clear_line(root, tmp_path):
    for name, content, needle in [
        ("x.pdf", b"%PDF", "cannot tell its format from its name: give --format"),
        ("e.csv", b"", "no rows"),
        ("w.csv", b"a,b\n1,2\n", "cannot tell what these rows are (columns: a, b)"),
        ("l.csv", "paragraph,text\n26.1,x\n".encode("utf-16"), "not UTF-8"),
        ("z.xlsx", b"not a zip", "not readable as an .xlsx workbook"),
        ("o.json", b'{"total": 3}', 'no "rows" array in this JSON object (keys: total)'),
    ]:
        (tmp_path / name).write_bytes(content)
        r = run(root, "import", str(tmp_path / name), "--doc", DOC)
        assert r.exit_code == 2, (name, r.output)
        [line] = r.stderr.splitlines()
        assert needle in line and "Traceback" not in r.output, (name, line)
    r = run(root, "import", str(tmp_path / "missing.csv"))
    assert r.exit_code == 2 and "missing.csv: no such file" in r.stderr
    r = run(root, "import", str(write_csv(tmp_path / "r.csv", small_rows())))
    assert r.exit_code == 2
    assert "it has no doc column: say which report it lists with --doc" in r.stderr


def test_respond_is_all_or_nothing_and_names_the_line(root, tmp_path):
    run(root, "import", str(write_csv(tmp_path / "recs.csv", small_rows())), "--doc", DOC)
    before = summary(root)
    answers = tmp_path / "answers.csv"
    answers.write_text("paragraph,position\n26.1,noted\n26.99,noted\n26.2,perhaps\n26.3,\n")
    r = run(root, "respond", str(answers))
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith(f"uprbuzz: {answers}:3:1: ¶26.99: no such recommendation is "
                               "stored")
    assert lines[1].startswith(f"{answers}:4:1: ¶26.2: unknown position 'perhaps'")
    assert lines[2] == (f"{answers}:5:1: ¶26.3: no position: write one of supported, noted, "
                        "supported in part")
    assert lines[3] == f"{answers}: 3 bad rows; nothing was imported"
    assert summary(root) == before  # 26.1 was not changed either
    (tmp_path / "nohead.csv").write_text("26.1,noted\n")
    r = run(root, "respond", str(tmp_path / "nohead.csv"))
    assert r.exit_code == 2
    assert "the first row must name the columns paragraph,position[,comment]" in r.stderr
    r = run(root, "respond", str(answers), "--doc", "A/HRC/1/1")
    assert "¶26.1: no such recommendation in A/HRC/1/1 is stored" in r.stderr


def uwazi_answer(rows: list[dict[str, str]], with_paragraph: bool) -> dict:
    """An Uwazi search answer as UPR Info's returns it: the text (with the States in brackets)
    in metadata.recommendation, selects as [{"value": id, "label": name}]."""
    response = {"supported": "Supported", "noted": "Not Supported", "supported_noted": "Noted",
                "": ""}
    out = []
    for i, r in enumerate(rows):
        words = f"{r['text']} ({', '.join(states_of(r))})"
        if with_paragraph:
            words = f"{r['paragraph']} {words}"
        meta = {"recommendation": [{"value": words}],
                "state_under_review": [{"value": "u1", "label": "United States of America"}],
                "recommending_state": [{"value": f"s{j}", "label": s}
                                       for j, s in enumerate(states_of(r))],
                "issues": [{"value": "i1", "label": "Death penalty"},
                           {"value": "i2", "label": "Right to life"}],
                "cycle": [{"value": "c3", "label": "Cycle 3"}]}
        if response[r["position"]]:
            meta["response"] = [{"value": "r", "label": response[r["position"]]}]
        out.append({"_id": f"id{i}", "sharedId": f"share{i:03d}", "title": f"Rec {i}",
                    "template": "5d8ce04361cde0408222e9a8", "metadata": meta})
    return {"rows": out, "totalRows": len(out)}


def test_a_upr_info_answer_is_matched_to_imported_recommendations(root, tmp_path):
    rows = small_rows()
    pending = [dict(r, position="") for r in rows]
    run(root, "import", str(write_csv(tmp_path / "recs.csv", pending)), "--doc", DOC)
    path = tmp_path / "search.json"
    path.write_text(json.dumps(uwazi_answer(rows, with_paragraph=False)), encoding="utf-8")
    r = run(root, "import", str(path))
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"imported 6 recommendations (0 new, 6 updated) from {path}"
    got = {g["paragraph"]: g for g in listed(root)}
    assert got["26.1"]["link"] == "https://upr-info-database.uwazi.io/entity/share000"
    assert got["26.1"]["links"]["document"] == DOC_LINK
    assert got["26.10"]["position"] == "noted"  # UPR Info's "Not Supported"
    assert got["26.2"]["themes"] == ["Death penalty"]  # the report's theme is kept
    assert got["26.3"]["position"] is None  # no response in the answer: still pending
    # a row nothing matches
    stray = uwazi_answer([dict(rows[0], text="Something never recommended")], False)
    path.write_text(json.dumps(stray), encoding="utf-8")
    r = run(root, "import", str(path), "--format", "uprinfo-json")
    assert r.exit_code == 2
    assert f"{path}:1:1: rows[0]: 'Something never recommended' matches no recommendation" \
        in r.stderr


def test_a_upr_info_answer_naming_its_paragraphs_imports_on_its_own(root, tmp_path):
    rows = small_rows()
    path = tmp_path / "search.json"
    path.write_text(json.dumps(uwazi_answer(rows, with_paragraph=True), indent=1))
    r = run(root, "import", str(path), "--doc", DOC)
    assert r.exit_code == 0, r.output
    got = listed(root)
    assert len(got) == 6 and all("uwazi.io/entity/share" in g["link"] for g in got)
    assert {g["paragraph"]: g["states"] for g in got}["26.2"] == ["Rwanda", "Bahamas", "Namibia"]
    assert {g["paragraph"]: g["text"] for g in got}["26.2"] == "Abolish the death penalty"
    assert summary(root)["by_position"] == {"supported": 2, "noted": 3,
                                            "supported in part": 0, "pending": 1}
