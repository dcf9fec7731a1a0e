"""Rotation pools made of post files (``pool = "schedules/pool/*.md"``).

A pool file is a post file (YAML front matter + text, ``---`` lines split a thread) of which
only the content is used: ``text``, the ``x:`` / ``bluesky:`` blocks (``text``, ``skip``),
``card`` and ``link``. Time, status and platforms come from the campaign. Files are taken in
path order, so renaming a file can move it in the rotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uprbuzz.sources.campaigns.campaign_rules import RuleError


def read_pool(root: Path, pattern: str) -> list[Mapping[str, Any]]:
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise RuleError(f"pool = {pattern!r} must be a pattern inside the project")
    files = sorted(p for p in root.glob(pattern) if p.is_file())
    if not files:
        raise RuleError(f"pool = {pattern!r} matches no files")
    return [_read(p, root) for p in files]


def _read(path: Path, root: Path) -> Mapping[str, Any]:
    raw = path.read_text(encoding="utf-8")
    meta: dict[str, Any] = {}
    body = raw
    lines = raw.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                import yaml

                try:
                    meta = yaml.safe_load("".join(lines[1:i])) or {}
                except yaml.YAMLError as e:
                    raise RuleError(f"pool file {path.relative_to(root)}: bad front matter: {e}") from None
                body = "".join(lines[i + 1:])
                break
    if not isinstance(meta, dict):
        raise RuleError(f"pool file {path.relative_to(root)}: front matter must be a mapping")
    item: dict[str, Any] = {"text": body.strip()}
    for k in ("x", "bluesky"):
        v = meta.get(k)
        if isinstance(v, dict):
            item[k] = {kk: v[kk] for kk in ("text", "skip") if kk in v}
    for k in ("card", "link"):
        if meta.get(k):
            item[k] = meta[k]
    if not item["text"]:
        raise RuleError(f"pool file {path.relative_to(root)} has no text")
    return item
