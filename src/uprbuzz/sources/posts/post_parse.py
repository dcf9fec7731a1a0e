"""Post files (``posts/**/*.md``) -> Posts, every value tagged with its file line and column.

A file is YAML front matter between ``---`` lines, then the text; lines holding only ``---``
split the text into a thread; a line holding only ``![alt](path)`` attaches an image to its part.
Problems become Diagnostics (``path:line:col: severity: message``); a broken file never stops
the others. This module reads files and assembles the Post; single keys' values are checked in
:mod:`uprbuzz.sources.posts.post_fields`, the text is split in :mod:`uprbuzz.sources.posts.post_text`, and times (zones,
DST gaps and folds) are parsed in :mod:`uprbuzz.sources.posts.when`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from uprbuzz.model import PLATFORMS, Diagnostic, Part, Post
from uprbuzz.sources.posts import frontmatter
from uprbuzz.sources.posts.frontmatter import YNode
from uprbuzz.sources.posts.post_fields import (
    CARD_TEMPLATES,
    KEYS,
    MEDIA_KEYS,
    OVERRIDE_KEYS,
    STATUSES,
    FieldReader,
    did_you_mean,
    kind_of,
)
from uprbuzz.sources.posts.post_text import line_count
from uprbuzz.sources.posts.when import parse_at, zone_or_none

if TYPE_CHECKING:
    from uprbuzz.config import Config

# Names other modules and tests import from here (they moved to post_fields / post_text).
__all__ = ["CARD_TEMPLATES", "KEYS", "MEDIA_KEYS", "OVERRIDE_KEYS", "STATUSES", "default_id",
           "did_you_mean", "line_count", "parse_post_bytes", "parse_post_file",
           "parse_post_full", "rel_path"]

_ID = re.compile(r"^[\w][\w.\-/]*$")


def default_id(config: Config, rel: str) -> str:
    """``posts/review/watch-live.md`` -> ``review/watch-live`` (stable when the text changes)."""
    stem = rel[:-3] if rel.endswith(".md") else rel
    prefix = config.posts_dir.strip("/") + "/"
    return stem[len(prefix):] if stem.startswith(prefix) else stem


def rel_path(config: Config, path: Path) -> str:
    try:
        return path.resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def parse_post_bytes(data: bytes, rel: str, config: Config) -> tuple[Post | None, list[Diagnostic]]:
    """Parse one file's bytes. Never raises for bad content; lines are clamped into the file."""
    post, diags, _ = parse_post_full(data, rel, config)
    return post, diags


def parse_post_full(data: bytes, rel: str, config: Config
                    ) -> tuple[Post | None, list[Diagnostic], dict[str, tuple[int, int]]]:
    """Like parse_post_bytes, plus where each front-matter key sits (for cross-file messages)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        return None, [Diagnostic(rel, line, col, "error", "encoding",
                                 f"the file is not UTF-8 text (byte 0x{data[e.start]:02x}); "
                                 "save it as UTF-8")], {}
    text = text.replace("\r\n", "\n")
    b = _Builder(rel, config, line_count(text))
    post = b.build(text)
    return post, b.diags, b.keys


def parse_post_file(path: Path, config: Config) -> tuple[Post | None, list[Diagnostic]]:
    rel = rel_path(config, path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, [Diagnostic(rel, 1, 1, "error", "read-error",
                                 f"cannot read the file: {e.strerror}")]
    return parse_post_bytes(data, rel, config)


class _Builder(FieldReader):
    """One file: its front matter checked key by key, then assembled into a Post."""

    def __init__(self, rel: str, config: Config, nlines: int) -> None:
        super().__init__(rel, config, nlines)
        self.keys: dict[str, tuple[int, int]] = {}

    # -- the file ----------------------------------------------------------------------------
    def build(self, text: str) -> Post | None:
        sp = frontmatter.split(text)
        for p in sp.problems:
            self.add(p.line, p.column, p.code, p.message)
        if sp.front is None:
            return None
        root, problems = frontmatter.parse(sp.front, sp.front_line)
        for p in problems:
            self.add(p.line, p.column, p.code, p.message)
        if any(p.code == "yaml-syntax" for p in problems):
            return None
        fm: dict[str, YNode] = {}
        if root is not None and root.kind != "map":
            self.at_val(root, "wrong-type", "front matter must be 'key: value' lines, "
                        f"not {kind_of(root.plain())}")
            return None
        if root is not None:
            fm = root.value
        channel_blocks = {c.name for c in self.config.channels} - set(KEYS)
        for key, node in fm.items():
            self.keys[key] = (node.key_line, node.key_column)
            if key not in KEYS and key not in channel_blocks:
                known = (*KEYS, *sorted(channel_blocks))
                self.at_key(node, "unknown-key", f"unknown key '{key}'{did_you_mean(key, known)}")
        return self.post(fm, sp)

    def post(self, fm: dict[str, YNode], sp: frontmatter.Split) -> Post:
        cfg = self.config
        pid = default_id(cfg, self.rel)
        if (n := fm.get("id")) and self.expect(n, "id", (str, int), "text"):
            if _ID.match(str(n.value)):
                pid = str(n.value)
            else:
                self.at_val(n, "bad-id", f"id {n.value!r} may hold only letters, digits, '.', "
                            "'-', '_' and '/'")
        status = "draft"
        if (n := fm.get("status")) and self.expect(n, "status", (str,), "text"):
            if n.value in STATUSES:
                status = n.value
            else:
                self.at_val(n, "bad-status", f"status must be 'draft' or 'approved', not "
                            f"'{n.value}'{did_you_mean(str(n.value), STATUSES)}")
        zone_name = cfg.timezone
        if (n := fm.get("tz")) and self.expect(n, "tz", (str,), "text"):
            if zone_or_none(n.value) is None:
                from zoneinfo import available_timezones

                self.at_val(n, "unknown-zone", f"unknown time zone '{n.value}'"
                            f"{did_you_mean(n.value, available_timezones())}; use an IANA name "
                            "such as Europe/Zurich")
            else:
                zone_name = n.value
        at = None
        if (n := fm.get("at")) is not None:
            if n.kind == "scalar" and isinstance(n.value, str):
                at, problem = parse_at(n.value, zone_name, has_tz="tz" in fm)
                if problem:
                    self.at_val(n, problem[0], problem[1], problem[2])
            else:
                self.at_key(n, "wrong-type", f"'at' must be a date and time such as "
                            f"2020-11-09 14:30, not {kind_of(n.plain())}")
        platforms = self.platforms(fm.get("platforms"))
        parts = self.parts(sp.body, sp.body_line)
        overrides = {}
        for name in PLATFORMS:
            if (n := fm.get(name)) is not None:
                ov = self.override(name, n)
                if ov is not None:
                    overrides[name] = ov
                    if name not in platforms and not ov.skip:
                        self.at_key(n, "unused-override", f"the '{name}:' block is ignored: "
                                    f"{name} is not among this post's platforms", "warning")
        for ch in cfg.channels:  # a block named after a channel: that account's variant
            if ch.name not in PLATFORMS and (n := fm.get(ch.name)) is not None:
                ov = self.override(ch.name, n)
                if ov is not None:
                    overrides[ch.name] = ov
        if (n := fm.get("media")) is not None:
            media = self.media_list(n, "media")
            if parts and media:
                first = parts[0]
                parts[0] = Part(first.text, (*media, *first.media), first.loc)
        return Post(
            id=pid, parts=tuple(parts), at=at, status=status,  # type: ignore[arg-type]
            platforms=platforms, langs=self.langs(fm.get("lang")),
            channels=self.channels(fm.get("channels")), link=self.link(fm.get("link")),
            content_warning=self.content_warning(fm.get("content_warning")),
            sensitive=self.flag(fm.get("sensitive"), "sensitive"),
            tags=self.tags(fm.get("tags")), overrides=overrides, card=self.card(fm.get("card")),
            source=self.loc(1), origin="queue")
