"""`uprbuzz render` and `uprbuzz preview`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from uprbuzz.cli import main

pytestmark = pytest.mark.usefixtures("card_fonts")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    from PIL import Image

    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "demo"\n[brand]\nhandle = "@uprwatch"\n')
    (tmp_path / "media").mkdir()
    (tmp_path / "posts").mkdir()
    Image.new("RGB", (640, 480), (30, 120, 60)).save(tmp_path / "media" / "photo.jpg")
    (tmp_path / "posts" / "rec.md").write_text(
        "---\nat: 2020-11-09T14:30:00+01:00\nplatforms: [bluesky]\n"
        "card:\n  template: recommendation\n  state: Somalia\n  paragraph: '26.1'\n"
        "  text: Consider ratifying all remaining human rights conventions\n"
        "media:\n  - path: media/photo.jpg\n    alt: Delegates in the Assembly Hall\n"
        "---\nSomalia recommends ratifying all remaining conventions.\n", encoding="utf-8")
    return tmp_path


def test_render_json(project: Path) -> None:
    out = project / "card.png"
    r = CliRunner().invoke(main, ["-C", str(project), "render", "recommendation",
                                  "--set", "state=Slovakia", "--set", "paragraph=26.1",
                                  "--set", "text=Consider ratifying all remaining conventions",
                                  "--size", "1080x1080", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["path"] == str(out) and (data["width"], data["height"]) == (1080, 1080)
    assert data["bytes"] == out.stat().st_size and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Consider ratifying all remaining conventions" in data["alt"]


def test_render_errors_are_plain_sentences(project: Path) -> None:
    r = CliRunner().invoke(main, ["-C", str(project), "render", "quote", "--set", "bogus=1",
                                  "-o", str(project / "x.png")])
    assert r.exit_code != 0 and "has no field bogus" in r.output
    r = CliRunner().invoke(main, ["-C", str(project), "render", "quote", "--set", "novalue",
                                  "-o", str(project / "x.png")])
    assert r.exit_code != 0 and "KEY=VALUE" in r.output


def test_preview_sheet_shows_every_image_with_alt(project: Path) -> None:
    from PIL import Image

    sheet = project / "sheet.png"
    r = CliRunner().invoke(main, ["-C", str(project), "preview", "-o", str(sheet)])
    assert r.exit_code == 0, r.output
    assert "2 image(s) from 1 post(s)" in r.output
    with Image.open(sheet) as im:
        assert im.width > 800 and im.height > 400
    assert list((project / "media" / "rendered").glob("*.png"))


def test_render_warns_when_a_text_is_too_long_for_a_phone(project: Path) -> None:
    text = ("Take all necessary measures to ensure accountability for human rights violations, "
            "including by law enforcement officials, and provide remedies to victims. ") * 4
    r = CliRunner().invoke(main, ["-C", str(project), "render", "recommendation",
                                  "--set", "state=Slovakia", "--set", f"text={text[:600]}",
                                  "--size", "1080x1080", "-o", str(project / "long.png"),
                                  "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert any(w.startswith("text: ") and "shorten it to about" in w for w in data["warnings"])
