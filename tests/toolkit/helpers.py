"""The sample project (this repository's uprbuzz.toml, posts, schedules, media) built into a
toolkit in a temporary folder, as of the week before the review."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.fromisoformat("2020-11-02T09:00:00-05:00")


def sample_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "uprbuzz.toml", dest / "uprbuzz.toml")
    for d in ("posts", "schedules"):
        shutil.copytree(ROOT / d, dest / d)
    shutil.copytree(ROOT / "media", dest / "media", ignore=shutil.ignore_patterns("rendered"))
    return dest


def build_sample(tmp: Path, arabic: bool = False, **sel: object):
    from uprbuzz.config import load_config
    from uprbuzz.toolkit import Selection, make

    root = sample_project(tmp / "project")
    if arabic:
        add_arabic_post(root)
    config = load_config(root)
    out = tmp / "site"
    built, problems = make(config, out, Selection(**sel), stamp=NOW)  # type: ignore[arg-type]
    assert not problems, problems
    return config, built


ARABIC_POST = """---
id: ar/mubashir
at: 2020-11-09 08:15
status: approved
lang: ar
card:
  template: countdown
  title: استعراض الولايات المتحدة
  start: "2020-11-09T14:30+01:00"
  today: "2020-11-09"
  zones: "Europe/Zurich=جنيف; America/New_York=نيويورك"
  where: webtv.un.org
---
اليوم يستعرض مجلس حقوق الإنسان سجل الولايات المتحدة (UPR) عند 14:30 بتوقيت جنيف. #UPR36
"""


def add_arabic_post(root: Path) -> None:
    (root / "posts" / "ar").mkdir(parents=True, exist_ok=True)
    (root / "posts" / "ar" / "mubashir.md").write_text(ARABIC_POST, encoding="utf-8")
