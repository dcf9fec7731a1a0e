"""`uprbuzz check` over a whole project: one planted fault of each kind, the sample project,
the parse cache, and the CLI (CliRunner and one real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures.queue import BASE_TOML, SAMPLE_NOW, write_png
from uprbuzz.checks import check_project
from uprbuzz.cli import main
from uprbuzz.config import load_config
from uprbuzz.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.fromisoformat("2020-11-02T09:00:00-05:00")

OK = "---\nat: 2020-11-09 08:30\nstatus: approved\n---\nA valid post about the review. #UPR36\n"
IMG_OK = ("---\nat: 2020-11-09 09:00\nstatus: approved\nmedia:\n  - path: media/ok.png\n"
          "    alt: A blue square\n---\nWith a picture\n")

# file -> (its text, the line the one message must name); each file holds exactly one fault.
FAULTS: dict[str, tuple[str, int]] = {
    "yaml-syntax.md": ("---\nstatus: approved\nat: [2020-11-09\n---\nText\n", 4),
    "unknown-key.md": ("---\nstatus: draft\nplatfroms: [x]\n---\nText\n", 3),
    "wrong-type.md": ("---\nstatus: draft\ntags: 42\n---\nText\n", 3),
    "nonexistent-time.md": ("---\nstatus: draft\nat: 2021-03-14 02:30\n---\nText\n", 3),
    "ambiguous-time.md": ("---\nstatus: draft\nat: 2020-11-01 01:15\n---\nText\n", 3),
    "missed.md": ("---\nstatus: approved\nat: 2020-10-30 12:00\n---\nToo late\n", 3),
    "media-missing.md": ("---\nstatus: draft\nmedia:\n  - path: media/nope.png\n    alt: x\n---\nT\n", 4),
    "media-escape.md": ("---\nstatus: draft\nmedia:\n  - path: ../outside.png\n    alt: x\n---\nT\n", 4),
    "media-symlink.md": ("---\nstatus: draft\nmedia:\n  - path: media/link.png\n    alt: x\n---\nT\n", 4),
    "alt-missing.md": ("---\nstatus: draft\nmedia:\n  - path: media/ok.png\n---\nT\n", 4),
    "alt-missing-inline.md": ("---\nstatus: draft\n---\nText\n\n![](media/ok.png)\n", 6),
    "dup-a.md": ("---\nid: same\nstatus: draft\n---\nFirst\n", 0),  # the first use is fine
    "dup-b.md": ("---\nid: same\nstatus: draft\n---\nSecond\n", 2),
    "empty-post.md": ("---\nstatus: draft\n---\n\n", 3),
    "empty-part.md": ("---\nstatus: draft\n---\nOne\n---\n\n---\nThree\n", 5),
    "x-too-long.md": ("---\nstatus: draft\nplatforms: [x]\n---\n" + "word " * 60 + "\n", 5),
    "x-alt-too-long.md": ("---\nstatus: draft\nplatforms: [x]\nmedia:\n  - path: media/ok.png\n"
                          "    alt: " + "a" * 1001 + "\n---\nT\n", 5),
    "x-too-many-images.md": ("---\nstatus: draft\nplatforms: [x]\n---\nFive\n"
                             + "![one](media/ok.png)\n" * 5, 5),
    "x-format.md": ("---\nstatus: draft\nplatforms: [x]\nmedia:\n  - path: media/pic.bmp\n"
                    "    alt: a picture\n---\nT\n", 5),
    "bsky-too-long.md": ("---\nstatus: draft\nplatforms: [bluesky]\n---\n" + "é" * 301 + "\n", 5),
    "bsky-bytes.md": ("---\nstatus: draft\nplatforms: [bluesky]\n---\n"
                      + "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466" * 130 + "\n", 5),
    "bsky-langs.md": ("---\nstatus: draft\nplatforms: [bluesky]\nlang: [en, es, fr, ar]\n---\nT\n", 4),
}


def faulty_project(root: Path) -> Path:
    (root / "posts").mkdir(parents=True)
    (root / "uprbuzz.toml").write_text(BASE_TOML)
    write_png(root / "media" / "ok.png")
    write_png(root.parent / "outside.png")
    (root / "media" / "link.png").symlink_to(root.parent / "outside.png")
    from PIL import Image

    Image.new("RGB", (8, 8)).save(root / "media" / "pic.bmp")
    for name, (text, _) in FAULTS.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    (root / "posts" / "valid").mkdir()
    (root / "posts" / "valid" / "ok.md").write_text(OK)
    (root / "posts" / "valid" / "img.md").write_text(IMG_OK)
    return root


def test_one_message_per_planted_fault_and_none_for_valid_files(tmp_path: Path) -> None:
    root = faulty_project(tmp_path / "proj")
    res = check_project(load_config(root, env={}), None, now=NOW)
    by_file: dict[str, list] = {}
    for d in res.diagnostics:
        by_file.setdefault(d.path, []).append(d)
    for name, (_, line) in FAULTS.items():
        got = by_file.pop(f"posts/{name}", [])
        if line == 0:
            assert got == [], got
            continue
        assert [d.line for d in got] == [line], (name, [str(d) for d in got])
        assert got[0].severity == "error"
    assert by_file == {}, by_file  # nothing against the valid files, nothing elsewhere
    assert not res.ok


def test_missed_depends_on_the_clock_and_the_ledger(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "posts").mkdir(parents=True)
    (root / "uprbuzz.toml").write_text(BASE_TOML)
    (root / "posts" / "m.md").write_text(FAULTS["missed.md"][0])
    cfg = load_config(root, env={})
    before = datetime.fromisoformat("2020-10-30T12:20:00-04:00")  # inside the 30 min late limit
    assert check_project(cfg, None, now=before).ok
    res = check_project(cfg, None, now=NOW)
    assert [d.code for d in res.diagnostics] == ["missed"]
    with Store.open(cfg) as store:
        store.db.execute(
            "INSERT INTO publications (post_id, platform, part, content_hash, state, updated_at) "
            "VALUES ('m', 'x', 0, 'h', 'sent', '2020-10-30T16:00:00+00:00')")
        assert check_project(cfg, store, now=NOW).ok


def test_sample_project_is_clean() -> None:
    cfg = load_config(ROOT, env={})
    res = check_project(cfg, None, now=NOW)
    assert res.diagnostics == [], [str(d) for d in res.diagnostics]
    assert res.files >= 10


def test_warm_cache_gives_the_same_answer_and_notices_changes(tmp_path: Path) -> None:
    root = faulty_project(tmp_path / "proj")
    cfg = load_config(root, env={})
    with Store.open(cfg) as store:
        cold = check_project(cfg, store, now=NOW)
        warm = check_project(cfg, store, now=NOW)
        assert warm.collected.hits == len(FAULTS) + 2 and cold.collected.hits == 0
        assert warm.diagnostics == cold.diagnostics
        # a media file appears: the file that named it is re-checked, not served stale
        write_png(root / "media" / "nope.png")
        again = check_project(cfg, store, now=NOW)
        assert not any(d.path == "posts/media-missing.md" for d in again.diagnostics)
        assert again.collected.hits == len(FAULTS) + 1
        # an edit re-checks that file only
        (root / "posts" / "valid" / "ok.md").write_text(OK.replace("A valid", "x" * 300))
        edited = check_project(cfg, store, now=NOW)
        assert any(d.path == "posts/valid/ok.md" for d in edited.diagnostics)
        assert edited.collected.hits == len(FAULTS) + 1
        # a different config (here: the default zone) invalidates everything
        (root / "uprbuzz.toml").write_text(BASE_TOML.replace("America/New_York", "Europe/Zurich"))
        zurich = check_project(load_config(root, env={}), store, now=NOW)
        assert zurich.collected.hits == 0
        assert not any(d.path == "posts/ambiguous-time.md" for d in zurich.diagnostics)


def test_cli_check_text_and_json(tmp_path: Path) -> None:
    root = faulty_project(tmp_path / "proj")
    runner = CliRunner()
    env = {"UPRBUZZ_NOW": SAMPLE_NOW}
    r = runner.invoke(main, ["-C", str(root), "check"], env=env)
    assert r.exit_code == 1
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(FAULTS) - 1
    assert "posts/unknown-key.md:3:1: error: unknown key 'platfroms' (did you mean 'platforms'?)" in lines
    assert "errors" in r.stderr and "posts/" not in r.stderr
    r = runner.invoke(main, ["-C", str(root), "check", "--json"], env=env)
    data = json.loads(r.stdout)
    assert r.exit_code == 1 and len(data) == len(FAULTS) - 1
    assert set(data[0]) == {"path", "line", "column", "severity", "code", "message"}
    # only the named paths
    r = runner.invoke(main, ["-C", str(root), "check", str(root / "posts" / "valid")], env=env)
    assert r.exit_code == 0, r.output


def test_config_error_is_reported_with_its_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "posts").mkdir(parents=True)
    (root / "uprbuzz.toml").write_text('[project]\ntimezone = "America/New_York"\nname = \n')
    r = CliRunner().invoke(main, ["-C", str(root), "check"])
    assert r.exit_code == 1 and r.stdout.startswith("uprbuzz.toml:3:")


def test_missing_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.md").write_text(OK)
    res = check_project(load_config(tmp_path, env={}), None, now=NOW)
    assert [d.code for d in res.diagnostics] == ["no-config"]


def test_real_subprocess_on_the_sample_project(tmp_path: Path) -> None:
    env = {**os.environ, "UPRBUZZ_NOW": SAMPLE_NOW, "UPRBUZZ_STATE": str(tmp_path / "s.sqlite")}
    env.pop("UPRBUZZ_ROOT", None)
    p = subprocess.run([sys.executable, "-m", "uprbuzz", "check"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout == "" and "0 errors" in p.stderr
    # and as the real clock sees it (years later) the approved 2020 posts were missed
    env.pop("UPRBUZZ_NOW")
    p = subprocess.run([sys.executable, "-m", "uprbuzz", "check", "--json"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert {d["code"] for d in json.loads(p.stdout)} == {"missed"}


def test_config_typos_and_secrets(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "posts").mkdir(parents=True)
    (root / "uprbuzz.toml").write_text(
        '[project]\ntimezone = "America/New_York"\ntimzone = "x"\n\n'
        '[platforms.bluesky]\nhandle = "a.test"\npassword = "hunter2"\n')
    res = check_project(load_config(root, env={}), None, now=NOW)
    got = [(d.path, d.line, d.severity, d.code) for d in res.diagnostics]
    assert got == [("uprbuzz.toml", 3, "warning", "config-unknown-key"),
                   ("uprbuzz.toml", 7, "error", "config-secret")]
    assert "did you mean 'timezone'" in res.diagnostics[0].message
    assert "hunter2" not in str(res.diagnostics[1])
