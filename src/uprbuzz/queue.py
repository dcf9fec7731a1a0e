"""Post files (``posts/**/*.md``) -> Posts, every value tagged with its file line and column.

A file is YAML front matter between ``---`` lines, then the text; lines holding only ``---``
split the text into a thread; a line holding only ``![alt](path)`` attaches an image to its part.
Problems become Diagnostics (``path:line:col: severity: message``); a broken file never stops
the others. Time parsing (zones, DST gaps and folds) lives in :mod:`uprbuzz.when`.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from uprbuzz import frontmatter
from uprbuzz.frontmatter import YNode
from uprbuzz.model import PLATFORMS, Card, Diagnostic, Loc, Media, Override, Part, Post
from uprbuzz.when import parse_at, zone_or_none

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.sources import Loaded
    from uprbuzz.store import Store

KEYS = ("id", "at", "tz", "platforms", "status", "lang", "media", "link", "x", "bluesky",
        "tags", "card")
OVERRIDE_KEYS = ("text", "media", "skip")
MEDIA_KEYS = ("path", "alt", "decorative")
STATUSES = ("draft", "approved")
CARD_TEMPLATES = ("quote", "countdown", "watch-live", "blog", "recommendation")
_IMAGE = re.compile(r"^\s*!\[(?P<alt>[^\]]*)\]\(\s*<?(?P<path>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)\s*$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_ID = re.compile(r"^[\w][\w.\-/]*$")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "a number"
    if v is None:
        return "empty"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return "text" if isinstance(v, str) else type(v).__name__


def line_count(text: str) -> int:
    """Lines as an editor shows them (a final newline does not open a new line)."""
    return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))


def default_id(config: "Config", rel: str) -> str:
    """``posts/review/watch-live.md`` -> ``review/watch-live`` (stable when the text changes)."""
    stem = rel[:-3] if rel.endswith(".md") else rel
    prefix = config.posts_dir.strip("/") + "/"
    return stem[len(prefix):] if stem.startswith(prefix) else stem


def rel_path(config: "Config", path: Path) -> str:
    try:
        return path.resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def post_files(config: "Config", paths: Iterable[str | Path] | None = None) -> list[Path]:
    """Post files to read: all of ``posts/`` by default, else the given files and folders."""
    from uprbuzz.collect import files_for

    return [Path(p) for p in files_for(config, paths)]


def parse_post_bytes(data: bytes, rel: str, config: "Config") -> tuple[Post | None, list[Diagnostic]]:
    """Parse one file's bytes. Never raises for bad content; lines are clamped into the file."""
    post, diags, _ = parse_post_full(data, rel, config)
    return post, diags


def parse_post_full(data: bytes, rel: str, config: "Config"
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


def parse_post_file(path: Path, config: "Config") -> tuple[Post | None, list[Diagnostic]]:
    rel = rel_path(config, path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, [Diagnostic(rel, 1, 1, "error", "read-error",
                                 f"cannot read the file: {e.strerror}")]
    return parse_post_bytes(data, rel, config)


def load_queue(config: "Config", store: "Store | None" = None) -> "Loaded":
    """Every queued post file as Posts. Files with errors give diagnostics and no Post, so a
    broken file is never published; parsed files are reused from the cache when unchanged."""
    from uprbuzz.collect import collect

    return collect(config, store, check=False).loaded()


class _Builder:
    def __init__(self, rel: str, config: "Config", nlines: int) -> None:
        self.rel, self.config, self.nlines = rel, config, nlines
        self.diags: list[Diagnostic] = []
        self.keys: dict[str, tuple[int, int]] = {}

    # -- diagnostics -------------------------------------------------------------------------
    def add(self, line: int, col: int, code: str, msg: str, severity: str = "error") -> None:
        line = min(max(1, line), self.nlines)
        self.diags.append(Diagnostic(self.rel, line, max(1, col), severity, code, msg))  # type: ignore[arg-type]

    def at_key(self, n: YNode, code: str, msg: str, severity: str = "error") -> None:
        self.add(n.key_line or n.line, n.key_column or n.column, code, msg, severity)

    def at_val(self, n: YNode, code: str, msg: str, severity: str = "error") -> None:
        self.add(n.line, n.column, code, msg, severity)

    def loc(self, line: int, col: int = 1) -> Loc:
        return Loc(self.rel, min(max(1, line), self.nlines), col)

    def expect(self, n: YNode, name: str, types: tuple[type, ...], what: str) -> bool:
        ok = n.kind == "scalar" and isinstance(n.value, types) and not (
            bool not in types and isinstance(n.value, bool))
        if not ok:
            got = _kind(n.plain())
            hint = " (put it in quotes)" if what == "text" and n.kind == "scalar" else ""
            self.at_key(n, "wrong-type", f"'{name}' must be {what}, not {got}{hint}")
        return ok

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
                        f"not {_kind(root.plain())}")
            return None
        if root is not None:
            fm = root.value
        for key, node in fm.items():
            self.keys[key] = (node.key_line, node.key_column)
            if key not in KEYS:
                self.at_key(node, "unknown-key", f"unknown key '{key}'{did_you_mean(key, KEYS)}")
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
                            f"2020-11-09 14:30, not {_kind(n.plain())}")
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
        if (n := fm.get("media")) is not None:
            media = self.media_list(n, "media")
            if parts and media:
                first = parts[0]
                parts[0] = Part(first.text, (*media, *first.media), first.loc)
        return Post(
            id=pid, parts=tuple(parts), at=at, status=status,  # type: ignore[arg-type]
            platforms=platforms, langs=self.langs(fm.get("lang")), link=self.link(fm.get("link")),
            tags=self.tags(fm.get("tags")), overrides=overrides, card=self.card(fm.get("card")),
            source=self.loc(1), origin="queue")

    # -- keys --------------------------------------------------------------------------------
    def str_list(self, n: YNode, name: str) -> list[YNode]:
        if n.kind == "scalar" and isinstance(n.value, str):
            return [n]
        if n.kind != "seq":
            self.at_key(n, "wrong-type", f"'{name}' must be a list, not {_kind(n.plain())}")
            return []
        return [v for v in n.value if self.expect(v, name + " entry", (str,), "text")]

    def platforms(self, n: YNode | None) -> tuple[str, ...]:
        enabled = self.config.platforms
        if n is None:
            return enabled
        out: list[str] = []
        for v in self.str_list(n, "platforms"):
            name = v.value.strip().lower()
            if name not in PLATFORMS:
                self.at_val(v, "unknown-platform", f"unknown platform '{v.value}'"
                            f"{did_you_mean(name, PLATFORMS)}; uprbuzz publishes to x and bluesky")
            elif name not in enabled:
                self.at_val(v, "disabled-platform", f"{name} is disabled in uprbuzz.toml; "
                            "this post will not go there", "warning")
            elif name not in out:
                out.append(name)
        return tuple(out)

    def langs(self, n: YNode | None) -> tuple[str, ...]:
        if n is None:
            return (self.config.lang,)
        out = []
        for v in self.str_list(n, "lang"):
            if _LANG.match(v.value):
                out.append(v.value)
            else:
                self.at_val(v, "bad-lang", f"'{v.value}' is not a BCP 47 language tag "
                            "(e.g. en, es, fr-CH)")
        if n.kind == "seq" and not n.value:
            self.at_key(n, "bad-lang", "'lang' is an empty list")
        return tuple(out) or (self.config.lang,)

    def tags(self, n: YNode | None) -> tuple[str, ...]:
        out = []
        for v in [] if n is None else self.str_list(n, "tags"):
            tag = v.value.strip().lstrip("#")
            if not tag or any(c.isspace() for c in tag):
                self.at_val(v, "bad-tag", f"tag '{v.value}' must be one word without spaces")
            else:
                out.append(tag)
        return tuple(out)

    def link(self, n: YNode | None) -> str | None:
        if n is None or not self.expect(n, "link", (str,), "text"):
            return None
        if not re.match(r"^https?://[^\s/]+\.[^\s]+$", n.value.strip()):
            self.at_val(n, "bad-link", f"link must be a web address starting with https://, "
                        f"not '{n.value}'")
            return None
        return n.value.strip()

    def card(self, n: YNode | None) -> Card | None:
        if n is None:
            return None
        if n.kind != "map":
            self.at_key(n, "wrong-type", f"'card' must be a mapping with a template, not "
                        f"{_kind(n.plain())}")
            return None
        fields = {k: v for k, v in n.value.items() if k not in ("template", "size", "alt")}
        t = n.value.get("template")
        if t is None:
            self.at_key(n, "card-template", "'card' needs a 'template' "
                        f"({', '.join(CARD_TEMPLATES)})")
            return None
        if not self.expect(t, "template", (str,), "text"):
            return None
        if t.value not in CARD_TEMPLATES:
            self.at_val(t, "card-template", f"unknown card template '{t.value}'"
                        f"{did_you_mean(t.value, CARD_TEMPLATES)}; templates: "
                        f"{', '.join(CARD_TEMPLATES)}")
        size, alt = "1600x900", None
        if (s := n.value.get("size")) and self.expect(s, "size", (str,), "text"):
            if re.match(r"^\d{2,5}x\d{2,5}$", s.value):
                size = s.value
            else:
                self.at_val(s, "bad-value", f"card size must look like 1600x900, not '{s.value}'")
        if (a := n.value.get("alt")) is not None and self.expect(a, "alt", (str,), "text"):
            alt = a.value
        flat = {}
        for k, v in fields.items():
            if v.kind != "scalar" or v.value is None:
                self.at_key(v, "wrong-type", f"card field '{k}' must be text or a number")
            else:
                flat[k] = str(v.value)
        return Card(t.value, flat, size, alt)

    def override(self, name: str, n: YNode) -> Override | None:
        if n.kind != "map":
            self.at_key(n, "wrong-type", f"'{name}' must be a block of text:, media:, skip:, "
                        f"not {_kind(n.plain())}")
            return None
        for key, v in n.value.items():
            if key not in OVERRIDE_KEYS:
                self.at_key(v, "unknown-key", f"unknown key '{key}' in '{name}:'"
                            f"{did_you_mean(key, OVERRIDE_KEYS)}")
        parts = media = None
        skip = False
        if (t := n.value.get("text")) is not None and self.expect(t, "text", (str,), "text"):
            first = t.line + 1 if t.block else t.line
            parts = tuple(self.parts(t.value.split("\n"), first, where=name, anchor=t.line))
        if (m := n.value.get("media")) is not None:
            media = tuple(self.media_list(m, f"{name}.media"))
        if (s := n.value.get("skip")) is not None and self.expect(s, "skip", (bool,), "true or false"):
            skip = s.value
        return Override(parts or None, media, skip)

    def media_list(self, n: YNode, name: str) -> list[Media]:
        if n.kind != "seq":
            self.at_key(n, "wrong-type", f"'{name}' must be a list of {{path, alt}}, not "
                        f"{_kind(n.plain())}")
            return []
        out = []
        for e in n.value:
            if e.kind == "scalar" and isinstance(e.value, str):
                out.append(Media(e.value, "", False, self.loc(e.line, e.column)))
                continue
            if e.kind != "map":
                self.at_val(e, "wrong-type", f"each '{name}' entry must be {{path, alt}}")
                continue
            for key, v in e.value.items():
                if key not in MEDIA_KEYS:
                    self.at_key(v, "unknown-key", f"unknown key '{key}' in a media entry"
                                f"{did_you_mean(key, MEDIA_KEYS)}")
            p = e.value.get("path")
            if p is None:
                self.at_val(e, "media-path", "this media entry has no 'path'")
                continue
            if not self.expect(p, "path", (str,), "text"):
                continue
            alt, deco = "", False
            if (a := e.value.get("alt")) is not None and a.value is not None:
                if self.expect(a, "alt", (str,), "text"):
                    alt = a.value
            if (d := e.value.get("decorative")) is not None:
                if self.expect(d, "decorative", (bool,), "true or false"):
                    deco = d.value
            out.append(Media(p.value, alt, deco, self.loc(p.key_line or p.line, p.key_column or p.column)))
        return out

    # -- the text ----------------------------------------------------------------------------
    def parts(self, lines: list[str], first: int, where: str = "",
              anchor: int | None = None) -> list[Part]:
        """Split text lines (the first at file line ``first``) into thread parts."""
        groups: list[tuple[int, list[tuple[int, str]]]] = []
        sep, cur = first - 1, []
        for i, line in enumerate(lines):
            if line.rstrip() == "---":
                groups.append((sep, cur))
                sep, cur = first + i, []
            else:
                cur.append((first + i, line))
        groups.append((sep, cur))
        label = f"the '{where}:' text" if where else "the post"
        out: list[Part] = []
        for k, (sep_line, group) in enumerate(groups):
            media, text_lines = [], []
            for ln, line in group:
                m = _IMAGE.match(line)
                if m:
                    media.append(Media(m["path"], m["alt"].strip(), False, self.loc(ln, line.index("!") + 1)))
                else:
                    text_lines.append((ln, line))
            while text_lines and not text_lines[0][1].strip():
                text_lines.pop(0)
            while text_lines and not text_lines[-1][1].strip():
                text_lines.pop()
            text = "\n".join(line.rstrip() for _, line in text_lines)
            start = text_lines[0][0] if text_lines else (group[0][0] if group else sep_line)
            if not text.strip() and not media:
                if len(groups) == 1:
                    self.add(first - 1 if anchor is None else anchor, 1, "empty-post", f"{label} has no text: write it "
                             "below the front matter's closing '---'")
                else:
                    self.add(sep_line if k else first, 1, "empty-part",
                             f"part {k + 1} of {len(groups)} of {label}'s thread is empty "
                             "(two '---' lines in a row, or a '---' at the end?)")
                continue
            out.append(Part(text, tuple(media), self.loc(start)))
        return out
