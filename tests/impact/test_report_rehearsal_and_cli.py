"""`uprbuzz report`: a rehearsal is not coverage (left out unless named), sessions the project
defines but has not run give an empty report, and mistakes about the window and the output
file are one line and exit 2 (not a traceback, not a silent wrong file)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT
from tests.impact.ledger import fill, project, send, t
from uprbuzz.cli import main
from uprbuzz.store import Store
from uprbuzz.store.engagement import Snapshot
from uprbuzz.store.live_keys import rehearsal_key

REHEARSAL = rehearsal_key("wg36", t("2021-03-04T10:00:00"))


def _run(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["-C", str(root), "report", *args], env=env)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def with_rehearsal(tmp_path: Path) -> Path:
    """The test ledger plus a rehearsal of wg36: three live posts on X (paid reads) and
    Bluesky, with snapshots, all on the 4th."""
    root = tmp_path / "network"
    with Store.open(project(root)) as store:
        fill(store)
        at = t("2021-03-04T16:00:00")
        for n in (1, 2, 3):
            for ch in ("x", "bluesky"):
                send(store, f"live/{REHEARSAL}/{n}", ch, [f"Rehearsal post {n}"],
                     at + timedelta(minutes=n))
        store.engagement.record([Snapshot(f"live/{REHEARSAL}/{n}", ch, 0, "now",
                                          at + timedelta(hours=2), 50, 50, 0, 0, None)
                                 for n in (1, 2, 3) for ch in ("x", "bluesky")])
        store.engagement.record_x_reads("x", [(f"live/{REHEARSAL}/{n}", 0, 0.001)
                                              for n in (1, 2, 3)], at + timedelta(hours=2))
    return root


def _json(root: Path, *args: str) -> dict:
    code, out, err = _run(root, *args, "--format", "json", "-o", "-")
    assert code == 0, err
    return json.loads(out)


def test_a_rehearsal_is_left_out_unless_named(with_rehearsal: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    with Store.open(project(plain)) as store:
        fill(store)
    # with or without the rehearsal in the ledger, the report is the same
    got, want = _json(with_rehearsal), _json(plain)
    for k in ("posts", "publications", "parts", "totals", "per_day", "engagement", "top_posts",
              "x_spend", "x_usd"):
        assert got[k] == want[k], k
    assert not any(REHEARSAL in p["post_id"] for p in got["top_posts"])
    # --session wg36 is the day's coverage only
    assert _json(with_rehearsal, "--session", "wg36")["posts"] == 2
    # named by its key, the rehearsal has a report of its own
    d = _json(with_rehearsal, "--session", REHEARSAL)
    assert (d["posts"], d["publications"], d["totals"]["interactions"]) == (3, 6, 600)
    assert d["x_usd"] == pytest.approx(3 * 0.015 + 3 * 0.001)  # 3 X posts (no link), 3 reads
    # not offered among the known sessions when a name is mistyped
    code, _, err = _run(with_rehearsal, "--session", "wg99", "-o", "-")
    assert code == 2 and "(known: wg36)" in err


def test_a_session_the_project_defines_but_has_not_run_is_an_empty_report(tmp_path: Path) -> None:
    root = tmp_path / "network"
    with Store.open(project(root)) as store:
        fill(store)
    (root / "schedules").mkdir()
    (root / "schedules" / "us-upr-2020.toml").write_text(
        (ROOT / "schedules" / "us-upr-2020.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (root / "schedules" / "countdown.toml").write_text(
        (ROOT / "schedules" / "countdown.toml").read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = _run(root, "--session", "us-upr-2020", "--format", "json", "-o", "-")
    assert code == 0, err
    assert json.loads(out)["posts"] == 0
    assert err.strip() == "wrote standard output: nothing published yet in this scope"
    # a campaign file is not a session: neither accepted nor offered as one
    code, _, err = _run(root, "--session", "countdown", "-o", "-")
    assert code == 2
    assert err.strip() == ("uprbuzz: error: --session 'countdown': no live session of that "
                           "name (known: us-upr-2020, wg36)")
    # the one discovery of session files, which `uprbuzz live` also names in its errors
    from uprbuzz.live.session_file import find_session, session_names

    assert session_names(root) == ["us-upr-2020"]
    with pytest.raises(FileNotFoundError, match=r"sessions here: us-upr-2020$"):
        find_session("zzz", root)


@pytest.mark.parametrize("args, says", [
    (["--from", "2021-03-20", "--to", "2021-03-10"],
     "--to '2021-03-10' is before --from '2021-03-20'"),
    (["-o", "report.pdf"], "-o report.pdf: the report cannot write .pdf files"),
    (["-o", "r.csv", "--format", "json"], "-o r.csv is a .csv file but --format is json"),
    (["-o", "/nonexistent/dir/r.html"],
     "cannot write /nonexistent/dir/r.html: the folder /nonexistent/dir does not exist"),
])
def test_mistakes_are_one_line_and_exit_2(with_rehearsal: Path, args: list[str],
                                          says: str) -> None:
    code, out, err = _run(with_rehearsal, *args)
    assert code == 2, err
    assert err.startswith("uprbuzz: error: " + says) and err.count("\n") == 1, err
    assert not (with_rehearsal / "report.pdf").exists()


def test_a_file_that_cannot_be_written_is_one_line(with_rehearsal: Path, tmp_path: Path) -> None:
    taken = tmp_path / "r.html"
    taken.mkdir()  # a folder where the file should go: the write fails with an OSError
    code, _, err = _run(with_rehearsal, "-o", str(taken))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"uprbuzz: error: cannot write {taken}: Is a directory"), err


def test_the_format_follows_the_extension(with_rehearsal: Path, tmp_path: Path) -> None:
    for name, starts in (("r.json", "{"), ("r.csv", "section,row,column,value"),
                         ("r.HTM", "<!DOCTYPE html>")):
        code, _, err = _run(with_rehearsal, "-o", str(tmp_path / name))
        assert code == 0, err
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(starts), name


def test_made_on_the_project_clock(with_rehearsal: Path) -> None:
    code, out, err = _run(with_rehearsal, "--format", "json", "-o", "-",
                          env={"UPRBUZZ_NOW": "2021-03-20T17:00:00+00:00"})
    assert code == 0, err
    assert json.loads(out)["generated_at"].startswith("2021-03-20T13:00:00")  # New York
