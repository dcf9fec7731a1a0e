"""What a user-tester found in `uprbuzz records` (issue 14), end to end through the CLI on a real
store: numeric paragraphs in XLSX, a paragraph answered twice, a re-import undoing responses,
every bad row named, UHRI ids that make no link, `records list` filters that match nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.records.records_files import (
    DOC,
    UHRI_HEADER,
    make_root,
    run,
    small_rows,
    uhri_row,
    write_csv,
    write_uhri_xlsx,
)
from uprbuzz.store import Store

TEXT_HINT = "format the paragraph column as Text in Excel"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = make_root(tmp_path)
    r = run(root, "import", str(write_csv(tmp_path / "recs.csv", small_rows())), "--doc", DOC)
    assert r.exit_code == 0, r.output
    return root


def listed(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, dict]:
    r = run(root, "list", "--json", *args, env=env)
    assert r.exit_code == 0, r.output
    return {g["paragraph"]: g for g in json.loads(r.stdout)}


def workbook(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    book.save(path)
    return path


# --- 1. numeric paragraph cells ---------------------------------------------------------------

def test_respond_refuses_numeric_paragraphs_and_records_nothing(root, tmp_path):
    before = listed(root)
    # what Excel keeps when 26.2 and 26.10 are typed into a General column: numbers, 26.10 = 26.1
    path = workbook(tmp_path / "answers.xlsx", ["Paragraph", "Position", "Comment"],
                    [["26.1", "Noted", "as text: fine"], [26.2, "Noted", ""],
                     [26.10, "Supported", "meant for 26.10"]])
    r = run(root, "respond", str(path))
    assert r.exit_code == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"uprbuzz: {path}:3:1: row 3: paragraph 26.2 is a number")
    assert lines[1].startswith(f"{path}:4:1: row 4: paragraph 26.1 is a number")
    assert all(TEXT_HINT in line and "save the sheet as CSV" in line for line in lines[:2])
    assert lines[2] == f"{path}: 2 bad rows; nothing was imported"
    assert listed(root) == before  # not even the good text row 26.1


def test_respond_reads_paragraphs_stored_as_text_in_xlsx(root, tmp_path):
    path = workbook(tmp_path / "answers.xlsx", ["Paragraph", "Position"],
                    [["26.10", "Supported"], ["26.1", "Noted"]])
    r = run(root, "respond", str(path))
    assert r.exit_code == 0, r.output
    got = listed(root)
    assert (got["26.10"]["position"], got["26.1"]["position"]) == ("supported", "noted")


def test_import_refuses_numeric_paragraphs_instead_of_calling_them_duplicates(root, tmp_path):
    header = ["paragraph", "recommending_states", "position", "ohchr_primary_theme", "text"]
    path = workbook(tmp_path / "recs.xlsx", header,
                    [[26.1, "Somalia", "supported", "Migrants", "one"],
                     [26.10, "Chile", "noted", "Migrants", "ten"]])
    r = run(root, "import", str(path), "--doc", "A/HRC/46/99")
    assert r.exit_code == 2
    assert "listed twice" not in r.stderr
    assert r.stderr.startswith(f"uprbuzz: {path}:2:1: row 2: paragraph 26.1 is a number")
    assert TEXT_HINT in r.stderr and f"{path}:3:1: row 3: paragraph 26.1 is a number" in r.stderr


# --- 2. a paragraph answered twice --------------------------------------------------------------

def test_respond_refuses_a_paragraph_answered_twice(root, tmp_path):
    before = listed(root)
    answers = tmp_path / "answers.csv"
    answers.write_text("paragraph,position\n26.1,noted\n26.2,noted\n¶26.1,supported\n",
                       encoding="utf-8")
    r = run(root, "respond", str(answers))
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"uprbuzz: {answers}:4:1: ¶26.1 is answered twice (also at line 2): keep one row per "
        "recommendation; nothing was imported"]
    assert listed(root) == before


# --- 3. re-importing the list after `respond` ---------------------------------------------------

def test_reimport_keeps_responses_and_says_which_positions_it_changes(root, tmp_path):
    answers = tmp_path / "answers.csv"
    # 26.1 is "supported" in the list: the State's answer differs; 26.3 is pending in the list
    answers.write_text("paragraph,position,comment\n26.1,noted,Add.1 ¶3\n"
                       "26.3,supported,Add.1 ¶9\n26.11,noted,Add.1 ¶12\n", encoding="utf-8")
    assert run(root, "respond", str(answers)).exit_code == 0
    recs = tmp_path / "recs.csv"
    r = run(root, "import", str(recs), "--doc", DOC)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1] == (
        f"1 position changed by this file: {DOC} ¶26.1 noted -> supported (set by {answers}) "
        "(check them: `uprbuzz records respond` sets them back)")
    got = listed(root)
    # the file's own differing position is taken (and said); comments are never erased
    assert (got["26.1"]["position"], got["26.1"]["comment"]) == ("supported", "Add.1 ¶3")
    # a position the file leaves empty keeps the response; the same one keeps its comment
    assert (got["26.3"]["position"], got["26.3"]["comment"]) == ("supported", "Add.1 ¶9")
    assert (got["26.11"]["position"], got["26.11"]["comment"]) == ("noted", "Add.1 ¶12")
    # once more: nothing changes, nothing is said
    again = run(root, "import", str(recs), "--doc", DOC)
    assert again.stdout.strip() == (f"imported 6 recommendations (0 new, 0 updated, "
                                    f"6 unchanged) from {recs}")


def test_a_uhri_export_without_comments_keeps_them(root, tmp_path, store_url):
    env = {"UPRBUZZ_STATE": store_url}  # SQLite, then PostgreSQL
    rows = small_rows()
    assert run(root, "import", str(tmp_path / "recs.csv"), "--doc", DOC,
               env=env).exit_code == 0
    answers = tmp_path / "answers.csv"
    answers.write_text("paragraph,position,comment\n26.2,noted,Add.1 ¶4\n", encoding="utf-8")
    assert run(root, "respond", str(answers), env=env).exit_code == 0
    r = run(root, "import", str(write_uhri_xlsx(tmp_path / "u.xlsx", rows)), env=env)
    assert r.exit_code == 0, r.output
    assert "26.2 noted -> supported in part" in r.stdout
    got = listed(root, env=env)
    assert got["26.2"]["comment"] == "Add.1 ¶4" and "uhri" in got["26.2"]["links"]
    with Store.open(store_url) as store:
        [row] = store.db.query("SELECT position_source FROM records WHERE paragraph=?",
                               ("26.2",))
        assert row["position_source"] == str(tmp_path / "u.xlsx")


# --- 4. every bad row says what is wrong ------------------------------------------------------

def test_each_bad_row_is_named_with_its_problem_up_to_ten(root, tmp_path):
    answers = tmp_path / "answers.csv"
    bad = [f"26.{n},maybe" for n in range(1, 13)]  # 12 unknown positions, lines 2-13
    answers.write_text("paragraph,position\n" + "\n".join(bad) + "\n", encoding="utf-8")
    r = run(root, "respond", str(answers))
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 12
    assert lines[0].startswith(f"uprbuzz: {answers}:2:1: ¶26.1: unknown position 'maybe'")
    for n, line in zip(range(2, 11), lines[1:10], strict=True):
        assert line.startswith(f"{answers}:{n + 1}:1: ¶26.{n}: unknown position 'maybe'")
    assert lines[10:] == [f"{answers}: ... and 2 more bad rows",
                          f"{answers}: 12 bad rows; nothing was imported"]


# --- 5. UHRI ids that make no link ------------------------------------------------------------

def test_uhri_ids_that_are_not_uuids_are_warned_about(tmp_path):
    root = make_root(tmp_path)
    rows = small_rows()
    odd = [uhri_row(r) for r in rows[:2]]
    for values, uid in zip(odd, ("12345", "ann-7"), strict=True):
        values[UHRI_HEADER.index("Id")] = uid
    path = workbook(tmp_path / "u.xlsx", UHRI_HEADER, odd + [uhri_row(r) for r in rows[2:]])
    r = run(root, "import", str(path))
    assert r.exit_code == 0, r.output
    [warning] = r.stderr.splitlines()
    assert warning.startswith(f"warning: {path}: 2 rows have an Id that is not a UHRI "
                              "id (a UUID")
    assert "(e.g. row 2: '12345')" in warning
    got = listed(root)
    assert "uhri" not in got["26.1"]["links"] and "uhri" not in got["26.2"]["links"]
    assert got["26.10"]["link"].startswith("https://uhri.ohchr.org/en/document/")
    # UUIDs everywhere: no warning
    clean = run(root, "import", str(write_uhri_xlsx(tmp_path / "ok.xlsx", rows)))
    assert clean.exit_code == 0 and clean.stderr == ""


# --- 7. `records list` filters that match nothing -------------------------------------------

def test_theme_matches_part_of_a_name_and_an_unknown_one_lists_the_known(root):
    assert sorted(listed(root, "--theme", "death")) == ["26.2", "26.3"]
    assert sorted(listed(root, "--theme", "Death", "--position", "noted")) == []  # an answer
    r = run(root, "list", "--theme", "torture")
    assert r.exit_code == 2
    [line] = r.stderr.splitlines()
    assert line.startswith("uprbuzz: error: --theme 'torture': no theme contains that: known: "
                           "Death penalty; International criminal")
    r = run(root, "list", "--theme", "deth")
    assert r.exit_code == 2 and "did you mean 'Death penalty'?" in r.stderr


def test_unknown_doc_state_and_position_are_mistakes(root):
    r = run(root, "list", "--doc", "A/HRC/99/1")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("uprbuzz: error: --doc A/HRC/99/1: that report was never "
                                f"imported (the imported ones: {DOC}); uprbuzz records import "
                                "FILE --doc SYMBOL imports one")
    r = run(root, "list", "--state", "chil")
    assert r.exit_code == 2 and "did you mean 'Chile'?" in r.stderr
    assert sorted(listed(root, "--state", "CHILE")) == ["27.1"]
    r = run(root, "list", "--position", "bogus")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("uprbuzz: error: --position: unknown position 'bogus': use one "
                                "of supported, noted, supported in part or pending")


def test_a_upr_info_answer_with_numeric_paragraphs_is_refused(tmp_path):
    root = make_root(tmp_path)
    rows = [{"_id": f"id{i}", "sharedId": f"share{i}", "title": "t",
             "metadata": {"document": [{"value": DOC}], "paragraph": [{"value": para}],
                          "recommendation": [{"value": f"Recommendation {i} (Chile)"}],
                          "recommending_state": [{"value": "s", "label": "Chile"}]}}
            for i, para in enumerate((26.1, "26.10"))]
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"rows": rows, "totalRows": 2}, indent=1), encoding="utf-8")
    r = run(root, "import", str(path))
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"uprbuzz: {path}:3:1: rows[0]: paragraph 26.1 is a JSON number, not a string (26.10 "
        "reads as 26.1, so it cannot be trusted): write it as \"26.10\"; nothing was imported"]
    rows[0]["metadata"]["paragraph"] = [{"value": "26.1"}]
    path.write_text(json.dumps({"rows": rows, "totalRows": 2}, indent=1), encoding="utf-8")
    assert run(root, "import", str(path)).exit_code == 0
    assert sorted(listed(root)) == ["26.1", "26.10"]
