"""`uprbuzz live who` answers from the command line, with the console's marks."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.live.conftest import SAMPLE
from uprbuzz.cli import main


def project(tmp_path):
    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "t"\n', encoding="utf-8")
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "us-upr-2020.toml").write_text(SAMPLE.read_text(encoding="utf-8"),
                                                             encoding="utf-8")
    return tmp_path


def who(root, at: str, *extra: str):
    r = CliRunner().invoke(main, ["-C", str(root), "live", "who", "us-upr-2020", "--at", at, *extra])
    assert r.exit_code == 0, r.output
    return r.output


def test_live_who_json(tmp_path):
    root = project(tmp_path)
    assert json.loads(who(root, "00:30:05", "--json")) == {
        "offset": "00:30:05", "segment": "dialogue", "speaker": "Slovakia", "next": "Slovenia"}
    outside = json.loads(who(root, "00:10:00", "--json"))
    assert outside["segment"] == "presentation" and outside["speaker"] is None
    assert outside["next"] == "Slovakia"
    assert "now: Slovakia" in who(root, "00:30:05")


def test_live_who_follows_the_consoles_marks(tmp_path, live_env):
    config, store, fakes, make = live_env  # same root: the CLI reads the same state store
    root = project(tmp_path)
    con = make()
    con.mark("Cuba", 2 * 3600)
    assert json.loads(who(root, "02:00:30", "--json"))["speaker"] == "Cuba"
    assert json.loads(who(root, "02:00:30", "--json", "--no-marks"))["speaker"] != "Cuba"


def test_live_errors_are_plain(tmp_path):
    root = project(tmp_path)
    r = CliRunner().invoke(main, ["-C", str(root), "live", "who", "nope", "--at", "00:00:01"])
    assert r.exit_code != 0 and "no session 'nope'" in r.output
    (root / "schedules" / "bad.toml").write_text('[session]\ntitle = "t"\nstart = "x"\n',
                                                 encoding="utf-8")
    r = CliRunner().invoke(main, ["-C", str(root), "live", "who", "bad", "--at", "00:00:01"])
    assert r.exit_code != 0 and "schedules/bad.toml:3: error:" in r.output
    r = CliRunner().invoke(main, ["-C", str(root), "live", "who", "us-upr-2020", "--at", "soon"])
    assert r.exit_code != 0 and "hh:mm:ss" in r.output


def test_live_allow_host_takes_a_name_without_port_or_wildcard(tmp_path):
    root = project(tmp_path)
    for bad in ("evil.example:80", "*.lan", "http://console.lan", ""):
        r = CliRunner().invoke(main, ["-C", str(root), "live", "us-upr-2020", "--allow-host", bad])
        assert r.exit_code == 2 and "is not a host name or address" in r.output, (bad, r.output)
    r = CliRunner().invoke(main, ["-C", str(root), "live", "serve", "--help"])
    assert "--allow-host NAME" in r.output and "--post-rate" in r.output
