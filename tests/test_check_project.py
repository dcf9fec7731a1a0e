"""`uprbuzz check` over a whole project: one planted fault of each kind, the sample project,
the parse cache, and the CLI (CliRunner and one real subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from tests.fixtures.queue import BASE_TOML, SAMPLE_NOW, write_png
from uprbuzz.cli import main
from uprbuzz.config import Config, load_config
from uprbuzz.sources.project_check import check_project
from uprbuzz.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.fromisoformat("2020-11-02T09:00:00-05:00")

OK = "---\nat: 2020-11-09 08:30\nstatus: approved\n---\nA valid post about the review. #UPR36\n"
# a countdown whose day has passed is fine when it sets days itself
CARD_OK = ("---\nat: 2020-11-10 09:00\nstatus: draft\ncard:\n  template: countdown\n"
           "  date: 2020-11-09\n  days: 0\n---\nThe day after\n")
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
    # cards, checked without rendering; the message names the card: key
    "card-unknown-field.md": ("---\nstatus: draft\ncard:\n  template: countdown\n"
                              "  when: 2020-11-09\n---\nT\n", 3),
    "card-missing-field.md": ("---\nstatus: draft\ncard:\n  template: quote\n"
                              "  attribution: Someone\n---\nT\n", 3),
    "card-bad-date.md": ("---\nstatus: draft\ncard:\n  template: countdown\n"
                         "  date: 9 November\n---\nT\n", 3),
    "card-bad-zone.md": ("---\nstatus: draft\ncard:\n  template: watch-live\n"
                         "  start: \"2020-11-09T14:30+01:00\"\n  zones: Mars/Olympus=Base\n---\nT\n", 3),
    "card-bad-size.md": ("---\nstatus: draft\ncard:\n  template: quote\n  quote: Hi\n"
                         "  size: 640x480\n---\nT\n", 3),
    # judged on the day the post goes out (10 Nov), not on the day check runs (2 Nov)
    "card-passed.md": ("---\nstatus: draft\nat: 2020-11-10 09:00\ncard:\n  template: countdown\n"
                       "  date: 2020-11-09\n---\nT\n", 4),
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
    (root / "posts" / "valid" / "card.md").write_text(CARD_OK)
    return root


VALID = 3  # files under posts/valid


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
            "INSERT INTO publications (post_id, channel, part, content_hash, state, updated_at) "
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
        assert warm.collected.hits == len(FAULTS) + VALID and cold.collected.hits == 0
        assert warm.diagnostics == cold.diagnostics
        # a media file appears: the file that named it is re-checked, not served stale
        write_png(root / "media" / "nope.png")
        again = check_project(cfg, store, now=NOW)
        assert not any(d.path == "posts/media-missing.md" for d in again.diagnostics)
        assert again.collected.hits == len(FAULTS) + VALID - 1
        # an edit re-checks that file only
        (root / "posts" / "valid" / "ok.md").write_text(OK.replace("A valid", "x" * 300))
        edited = check_project(cfg, store, now=NOW)
        assert any(d.path == "posts/valid/ok.md" for d in edited.diagnostics)
        assert edited.collected.hits == len(FAULTS) + VALID - 1
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


CAMPAIGN = """\
[campaign]
name = "cd"
start = 2020-11-02
end = 2020-11-10
tz = "Europe/Zurich"
status = "draft"

[[rule]]
every = "daily 09:00"
event = "2020-11-09 14:30"
text = "{days} {days_label} to the review"
card = { template = "countdown", days = "{days}", start = "2020-11-09T14:30+01:00" }

[[rule]]
every = "daily 10:00"
event = "2020-11-09 14:30"
text = "Also {days} {days_label} to go"
card = { template = "countdown", when = "2020-11-09" }

[[rule]]
dates = ["2020-11-10"]
time = "11:00"
text = "The review was yesterday"
card = { template = "countdown", date = "2020-11-09" }

[[rule]]
dates = ["2020-11-10"]
time = "12:00"
text = "Yesterday's review, again"
card = { template = "countdown", date = "2020-11-09", days = "0", label = "yesterday" }
"""


def test_campaign_card_faults_point_at_their_rule(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "posts").mkdir(parents=True)
    (root / "schedules").mkdir()
    (root / "uprbuzz.toml").write_text(BASE_TOML)
    (root / "schedules" / "cd.toml").write_text(CAMPAIGN)
    cfg = load_config(root, env={})
    for store in (None, Store.open(cfg)):
        res = check_project(cfg, store, now=NOW)
        got = [(d.path, d.line, d.code) for d in res.diagnostics]
        # one message per rule (not one per daily occurrence), at the rule's line
        assert got == [("schedules/cd.toml", 14, "card"), ("schedules/cd.toml", 20, "card")], got
        assert "no field when" in res.diagnostics[0].message
        assert "before 2020-11-10" in res.diagnostics[1].message
        if store is not None:
            again = check_project(cfg, store, now=NOW)  # served from the cache: same answer
            assert again.diagnostics == res.diagnostics
            store.close()


def test_feed_and_brand_config_are_checked(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "posts").mkdir(parents=True)
    (root / "uprbuzz.toml").write_text(
        BASE_TOML + '\n[brand]\naccent = "gold"\n\n'
        '[[feeds]]\nname = "blog"\nurl = "https://e.org/feed.xml"\ncard = "blog"\n\n'
        '[[feeds]]\nname = "news"\nurl = "https://e.org/news.xml"\n'
        'card = { template = "blog", headline = "{title}" }\n')
    res = check_project(load_config(root, env={}), None, now=NOW)
    got = [(d.line, d.code) for d in res.diagnostics]
    assert got == [(8, "config"), (16, "card")], [str(d) for d in res.diagnostics]
    assert "accent" in res.diagnostics[0].message
    assert "no field headline" in res.diagnostics[1].message
    (root / "uprbuzz.toml").write_text(
        BASE_TOML + '\n[[feeds]]\nname = "blog"\nurl = "https://e.org/feed.xml"\n\n'
        '[[feeds]]\nname = "news"\nurl = "https://e.org/news.xml"\nstatus = "draft"\n')
    res = check_project(load_config(root, env={}), None, now=NOW)
    # at the unknown key's own line, not at its [[feeds]] header (line 12)
    assert [(d.line, d.code) for d in res.diagnostics] == [(15, "config")]
    assert "'status'" in res.diagnostics[0].message


# A commented example in uprbuzz.toml: "# [section]" or "# key = value".
_EXAMPLE = re.compile(r"^# ?(\[\[?[a-z_.]+\]\]?|[a-z_]+ = )")


def _example_blocks(lines: list[str]) -> list[list[int]]:
    """Indexes of each commented example: a section header with its keys, or one key."""
    blocks: list[list[int]] = []
    in_header = False
    for i, line in enumerate(lines):
        m = _EXAMPLE.match(line)
        if not m:
            in_header = False
            continue
        if m.group(1).startswith("["):
            blocks.append([i])
            in_header = True
        elif in_header:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks


def test_every_commented_example_in_the_sample_config_passes_check(tmp_path: Path) -> None:
    import shutil

    lines = (ROOT / "uprbuzz.toml").read_text(encoding="utf-8").splitlines()
    blocks = _example_blocks(lines)
    headers = {lines[b[0]].lstrip("# ").split()[0] for b in blocks}
    assert {"[brand]", "[[feeds]]", "x_post_usd", "x_url_post_usd"} <= headers, headers
    root = tmp_path / "p"
    shutil.copytree(ROOT / "posts", root / "posts")
    shutil.copytree(ROOT / "schedules", root / "schedules")
    shutil.copytree(ROOT / "media", root / "media", ignore=shutil.ignore_patterns("rendered"))

    def check_with(uncomment: set[int]) -> Config:
        text = "\n".join(ln[1:].lstrip(" ") if i in uncomment else ln
                         for i, ln in enumerate(lines)) + "\n"
        (root / "uprbuzz.toml").write_text(text, encoding="utf-8")
        cfg = load_config(root, env={})
        res = check_project(cfg, None, now=NOW)
        assert res.diagnostics == [], ([lines[i] for i in sorted(uncomment)],
                                       [str(d) for d in res.diagnostics])
        return cfg

    for b in blocks:
        check_with(set(b))
    cfg = check_with({i for b in blocks for i in b})
    # and the examples mean what they say to the modules that read them
    from uprbuzz.cards.brand import load_brand
    from uprbuzz.checks.budget import Budget
    from uprbuzz.sources.feeds.feed_items import feed_configs

    assert Budget.from_config(cfg).caps["x"] == int(cfg.budget["x"])
    assert cfg.budget["x_url_post_usd"] == 0.20
    (feed,) = feed_configs(cfg)
    assert feed.card == {"template": "blog"} and feed.mode == "draft"
    assert load_brand(cfg).name == cfg.brand["name"]
    assert cfg.posts_dir == "posts" and cfg.raw["platforms"]["x"]["api_url"].startswith("http")
