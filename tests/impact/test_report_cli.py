"""`uprbuzz report` from the command line: the filters, the project's language (French headings
and number formats), the empty ledger, mistakes a user can fix (one line, exit 2), and the
catalogs (every word the report uses is translated in French and Spanish)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.impact.ledger import DOC, csv_tables, expected, fill, html_tables, project
from uprbuzz.cli import main
from uprbuzz.store import Store

IMPACT = Path(__file__).resolve().parents[2] / "src" / "uprbuzz" / "impact"


def _run(root: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["-C", str(root), "report", *args])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    root = tmp_path / "network"
    config = project(root)
    with Store.open(config) as store:
        fill(store)
    return root


def test_filters(filled: Path, tmp_path: Path) -> None:
    code, out, err = _run(filled, "--campaign", "followup", "--format", "json", "-o", "-")
    assert code == 0, err
    d = json.loads(out)
    assert (d["posts"], d["publications"]) == (3, 6)
    assert all(p["post_id"].startswith("followup/") for p in d["top_posts"])
    assert d["scope"]["campaign"] == "followup"
    assert err.strip() == "wrote standard output: 3 post(s), 3 channel(s), 17 interaction(s)"
    # the live session: its card's paragraph (a stored post) covers 26.2
    code, out, _ = _run(filled, "--session", "wg36", "--format", "json", "-o", "-")
    d = json.loads(out)
    assert (d["posts"], d["publications"]) == (2, 3)
    assert [r["record"] for r in d["coverage"]] == [f"{DOC} ¶26.2"]
    # a window in the project's zone (New York): the 4th holds 23:30 local on the 4th
    code, out, _ = _run(filled, "--from", "2021-03-04", "--to", "2021-03-04", "-o",
                        str(tmp_path / "day.csv"))
    assert code == 0
    assert out.strip() == f"wrote {tmp_path / 'day.csv'}: 2 post(s), 3 channel(s), 17 interaction(s)"
    c = csv_tables((tmp_path / "day.csv").read_text(encoding="utf-8"))
    assert [r["day"] for r in c["posts_per_day"]] == ["2021-03-04"]
    with Store.open(project(filled)) as store:
        from uprbuzz.impact import parse_when

        z = project(filled).zone
        e = expected(store, since=parse_when("2021-03-04", z),
                     until=parse_when("2021-03-04", z, end=True))
    assert int(c["posts_per_day"][0]["total"]) == e.publications == 5
    # both filters: a campaign's posts and the session's
    code, out, _ = _run(filled, "--campaign", "review", "--session", "wg36", "--format", "json",
                        "-o", "-")
    assert json.loads(out)["posts"] == 3


def test_french_project_gives_french_words_and_numbers(tmp_path: Path) -> None:
    root = tmp_path / "reseau"
    config = project(root, lang="fr")
    with Store.open(config) as store:
        fill(store)
        # enough likes on one post for a thousands separator
        store.db.execute("UPDATE engagement SET likes = 1200 WHERE post_id = 'live/wg36/1'")
    out = tmp_path / "rapport.html"
    code, _, err = _run(root, "-o", str(out))
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert '<html lang="fr" dir="ltr">' in page
    assert "<h1>Rapport d’impact\u00a0: network</h1>" in page
    for h in ("En bref", "Publications par jour et par canal", "Engagement au fil du temps",
              "Publications les plus suivies", "Couverture par recommandation et par thème",
              "Positions de l’État", "Dépenses sur X"):
        assert f">{h}</h2>" in page
    from babel.numbers import format_decimal

    def fr(n: int) -> str:  # CLDR's French grouping (a no-break space)
        return str(format_decimal(n, locale="fr"))

    assert fr(1200) != "1,200" and fr(1200) != "1200"
    tabs = html_tables(page)
    top = tabs["top_posts"]
    assert top[0][:3] == ["Rang", "Publication", "Texte"]
    assert top[1][1] == "live/wg36/1" and top[1][3] == fr(1200)
    assert top[1][7] == fr(1207)
    assert "4 mars 2021" in [r[0] for r in tabs["posts_per_day"]]
    spend = {r[0]: r for r in tabs["x_spend"][1:]}
    assert spend["4 mars 2021"][-1].replace("\u00a0", " ") == "0,236 $US"
    assert {r[0] for r in tabs["positions"][1:]} == {"Acceptée", "Notée", "Acceptée en partie",
                                                     "En attente"}
    # plural-aware words from the catalog: 34 - 10 + 1,200 likes, CLDR's "other" in French
    assert f"{fr(1224)} interactions" in page and f"{fr(1210)} j’aime" in page


def test_empty_ledger_is_a_report_not_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "new"
    project(root, lang="es")
    for fmt in ("html", "csv", "json"):
        out = tmp_path / f"r.{fmt}"
        code, stdout, err = _run(root, "-o", str(out))
        assert code == 0, err
        assert stdout.strip() == f"wrote {out}: nothing published yet in this scope"
    assert "Todavía no se ha publicado nada" in (tmp_path / "r.html").read_text(encoding="utf-8")
    d = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert (d["posts"], d["per_day"], d["top_posts"], d["x_usd"]) == (0, [], [], 0)
    rows = csv_tables((tmp_path / "r.csv").read_text(encoding="utf-8"))
    assert {r["metric"]: r["value"] for r in rows["summary"]}["posts"] == "0"


@pytest.mark.parametrize("args, says", [
    (["--campaign", "folowup"], "--campaign 'folowup': no campaign of that name (did you mean 'followup'?)"),
    (["--session", "wg99"], "--session 'wg99': no live session of that name (known: wg36)"),
    (["--from", "March 4"], "--from 'March 4' is not a date or a time"),
    (["--to", "2021-02-30"], "--to '2021-02-30' is not a date or a time"),
])
def test_mistakes_are_one_line_and_exit_2(filled: Path, args: list[str], says: str) -> None:
    code, out, err = _run(filled, *args, "-o", "-")
    assert code == 2 and out == ""
    assert err.startswith("uprbuzz: error: " + says) and err.count("\n") == 1


def test_every_word_is_in_the_french_and_spanish_catalogs() -> None:
    from babel.messages.pofile import read_po

    used: set[str] = set()
    for f in ("html_page.py", "data.py"):
        for node in ast.walk(ast.parse((IMPACT / f).read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            i = {"w": 0, "n": 0, "Column": 1}.get(str(name))
            if i is not None and len(node.args) > i and isinstance(node.args[i], ast.Constant):
                used.add(node.args[i].value)
    from uprbuzz.impact.html_page import POSITION, SUMMARY

    used |= set(POSITION.values()) | set(SUMMARY.values())
    used |= {k.capitalize() for k in ("likes", "reposts", "replies", "quotes", "interactions")}
    for lang in ("fr", "es"):
        with (IMPACT / "locales" / f"{lang}.po").open("rb") as fh:
            cat = read_po(fh)
        have = {m.id[0] if isinstance(m.id, tuple) else m.id: m.string for m in cat if m.id}
        missing = sorted(u for u in used if not have.get(u))
        assert not missing, f"{lang}.po lacks {missing}"
        for k, v in have.items():  # placeholders kept
            forms = v if isinstance(v, tuple) else (v,)
            for form in forms:
                assert set(_fields(form)) == set(_fields(k)), (lang, k, form)
    with (IMPACT / "locales" / "messages.pot").open("rb") as fh:
        template = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(fh) if m.id}
    assert used <= template


def _fields(s: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(s) if f]


def test_coverage_rule_by_hand() -> None:
    from uprbuzz.impact.coverage import covering
    from uprbuzz.upr_record import Record

    recs = [Record(DOC, "26.1", "a"), Record(DOC, "26.10", "b"),
            Record("A/HRC/31/12", "26.1", "c", links={"uprinfo": "https://u.example/e/7"})]
    found = covering(recs, {
        "a": ["see 26.1."], "b": ["126.1, 26.1.2, 26.10x"], "c": ["A/HRC/46/15 ¶26.10"],
        "d": ["link https://u.example/e/7"], "e": ["https://u.example/e/77"],
        "f": ["¶26.1 of A/HRC/31/12"]})
    assert found == {f"{DOC} ¶26.1": ["a"], f"{DOC} ¶26.10": ["c"],
                     "A/HRC/31/12 ¶26.1": ["a", "d", "f"]}
