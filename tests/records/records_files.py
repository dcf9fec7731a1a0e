"""Building record files for the tests: the project CSV's rows (a small one written here, and the
shared 347), and the same recommendations as a UHRI export (XLSX with openpyxl, JSON), a UPR
Info search answer and a responses file. Expected counts are computed from the rows here, with
the csv module, never by uprbuzz."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import Counter
from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import SHARED
from uprbuzz.cli import main

DOC = "A/HRC/46/15"
SHARED_CSV = SHARED / "data" / "upr2020" / "us_upr2020_recommendations.csv"
HEADER = ["paragraph", "recommending_states", "recommending_states_as_in_source", "position",
          "ohchr_primary_theme", "text", "note"]

# a small table in the project's shape: several States, a theme with commas, every position
SMALL = [
    ["26.1", "Somalia", "Somalia", "supported", "Ratification of & accession to international "
     "instruments", "Consider ratifying all remaining human rights conventions", ""],
    ["26.2", "Rwanda; Bahamas; Namibia", "Rwanda; Bahamas; Namibia", "supported_noted",
     "Death penalty", "Abolish the death penalty", ""],
    ["26.10", "Liechtenstein", "ACT Group; Liechtenstein", "noted",
     "International criminal & humanitarian law (including crimes against humanity, war "
     "crimes, genocide)", "Join the code of conduct (ACT Group)", "corrected"],
    ["26.11", "Venezuela (Bolivarian Republic of)", "Bolivarian Republic of Venezuela", "noted",
     "Unilateral coercive measures", "Lift the unilateral coercive measures", ""],
    ["26.3", "Côte d'Ivoire", "Côte d’Ivoire", "", "Death penalty",
     "Establish a moratorium on executions, with a view to abolition", ""],
    ["27.1", "Mexico; Chile", "Mexico; Chile", "supported", "Migrants",
     "Guarantee the rights of migrants, including children", ""],
]


def small_rows() -> list[dict[str, str]]:
    return [dict(zip(HEADER, r, strict=True)) for r in SMALL]


def shared_rows() -> list[dict[str, str]]:
    with SHARED_CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header or list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def states_of(row: dict[str, str]) -> list[str]:
    return [s.strip() for s in row["recommending_states"].split(";") if s.strip()]


POSITION = {"supported": "supported", "noted": "noted", "supported_noted": "supported in part",
            "": "pending"}
UHRI_POSITION = {"supported": "Supported", "noted": "Noted", "supported_noted": "Supported/Noted",
                 "": ""}


def expected_summary(rows: list[dict[str, str]]) -> dict[str, object]:
    by_position = Counter({"supported": 0, "noted": 0, "supported in part": 0, "pending": 0})
    themes: Counter[str] = Counter()
    states: Counter[str] = Counter()
    for r in rows:
        by_position[POSITION[r["position"]]] += 1
        themes[r["ohchr_primary_theme"]] += 1
        states.update(states_of(r))
    return {"total": len(rows), "by_position": dict(by_position), "by_theme": dict(themes),
            "by_state": dict(states)}


def uhri_id(paragraph: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"uhri/{DOC}/{paragraph}"))


UHRI_HEADER = ["Document Symbol", "UPR Session", "UPR Reccomending States", "UPR Position",
               "Themes", "Sdgs", "Affected Persons", "OHCHR Annotation Id", "Id", "Text"]
SDGS = "16 - PEACE, JUSTICE AND STRONG INSTITUTIONS; 5 - GENDER EQUALITY"


def uhri_row(r: dict[str, str]) -> list[str]:
    """A row as UHRI exports it: the paragraph first in Text, the States after it in brackets,
    lists joined with ", " (States) and "; " (SDGs)."""
    states = states_of(r)
    text = f"{r['paragraph']} {r['text']} ({') ('.join(states)});"
    return [DOC, "36", ", ".join(states), UHRI_POSITION[r["position"]],
            r["ohchr_primary_theme"], SDGS, "Children", f"ann-{r['paragraph']}",
            uhri_id(r["paragraph"]), text]


def write_uhri_xlsx(path: Path, rows: list[dict[str, str]], extra: list[list[str]] = ()) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(UHRI_HEADER)
    for r in rows:
        sheet.append(uhri_row(r))
    for values in extra:
        sheet.append(values)
    book.save(path)
    return path


def write_uhri_json(path: Path, rows: list[dict[str, str]], extra: list[dict] = ()) -> Path:
    """UHRI's JSON export: an array of objects, lists as JSON lists, one object a line."""
    objs = []
    for r in rows:
        values = dict(zip(UHRI_HEADER, uhri_row(r), strict=True))
        values["UPR Reccomending States"] = states_of(r)
        values["Sdgs"] = [s.strip() for s in SDGS.split(";")]
        values["Themes"] = [r["ohchr_primary_theme"]]
        objs.append(values)
    objs.extend(extra)
    path.write_text("[\n" + ",\n".join(json.dumps(o, ensure_ascii=False) for o in objs)
                    + "\n]\n", encoding="utf-8")
    return path


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["-C", str(root), "records", *args], env=env)


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "uprbuzz.toml").write_text('[project]\nname = "records"\n', encoding="utf-8")
    return root
