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


def build_sample(tmp: Path, **sel: object):
    from uprbuzz.config import load_config
    from uprbuzz.toolkit import Selection, make

    root = sample_project(tmp / "project")
    config = load_config(root)
    out = tmp / "site"
    built, problems = make(config, out, Selection(**sel), stamp=NOW)  # type: ignore[arg-type]
    assert not problems, problems
    return config, built
