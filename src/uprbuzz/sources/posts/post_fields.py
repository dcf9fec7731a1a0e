"""A post file's front-matter keys -> checked values, each problem reported at its key or value.

Covers the value types and the keys with structure: ``platforms``, ``lang``, ``tags``, ``link``,
``card``, ``media`` and the ``x:`` / ``bluesky:`` override blocks. The file as a whole (which
keys exist, id, status, time) is assembled in :mod:`uprbuzz.sources.posts.post_parse`; no YAML is imported here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from uprbuzz.links import is_web_url
from uprbuzz.model import PLATFORMS, Card, Media, Override
from uprbuzz.sources.posts.post_text import TextReader

if TYPE_CHECKING:
    from uprbuzz.sources.posts.frontmatter import YNode

KEYS = ("id", "at", "tz", "platforms", "channels", "status", "lang", "media", "link", "x",
        "bluesky", "mastodon", "tags", "card", "content_warning", "sensitive")
OVERRIDE_KEYS = ("text", "media", "skip")
MEDIA_KEYS = ("path", "alt", "decorative", "focus")
STATUSES = ("draft", "approved")
CARD_TEMPLATES = ("quote", "countdown", "watch-live", "blog", "recommendation")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def kind_of(v: Any) -> str:
    """What a YAML value is, in words for a message ("a list", "true/false", ...)."""
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


class FieldReader(TextReader):
    """Reads the values of single front-matter keys; the text parts come from TextReader."""

    def expect(self, n: YNode, name: str, types: tuple[type, ...], what: str) -> bool:
        ok = n.kind == "scalar" and isinstance(n.value, types) and not (
            bool not in types and isinstance(n.value, bool))
        if not ok:
            got = kind_of(n.plain())
            hint = " (put it in quotes)" if what == "text" and n.kind == "scalar" else ""
            self.at_key(n, "wrong-type", f"'{name}' must be {what}, not {got}{hint}")
        return ok

    # -- keys --------------------------------------------------------------------------------
    def str_list(self, n: YNode, name: str) -> list[YNode]:
        if n.kind == "scalar" and isinstance(n.value, str):
            return [n]
        if n.kind != "seq":
            self.at_key(n, "wrong-type", f"'{name}' must be a list, not {kind_of(n.plain())}")
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
                            f"{did_you_mean(name, PLATFORMS)}; uprbuzz publishes to "
                            f"{', '.join(PLATFORMS)}")
            elif name not in enabled:
                self.at_val(v, "disabled-platform", f"no enabled channel of {name} in "
                            "uprbuzz.toml; this post will not go there", "warning")
            elif name not in out:
                out.append(name)
        return tuple(out)

    def channels(self, n: YNode | None) -> tuple[str, ...]:
        """``channels:`` names accounts from uprbuzz.toml's [channels] (empty: by language)."""
        if n is None:
            return ()
        names = [c.name for c in self.config.channels]
        out: list[str] = []
        for v in self.str_list(n, "channels"):
            name = v.value.strip()
            ch = self.config.channel(name)
            if ch is None:
                self.at_val(v, "unknown-channel", f"unknown channel '{v.value}'"
                            f"{did_you_mean(name, names)}; channels are the [channels.NAME] "
                            "tables of uprbuzz.toml (and x, bluesky for [platforms.*])")
            elif not ch.enabled:
                self.at_val(v, "disabled-channel", f"channel {name} is disabled in "
                            "uprbuzz.toml; this post will not go there", "warning")
            elif name not in out:
                out.append(name)
        if n.kind == "seq" and not n.value:
            self.at_key(n, "wrong-type", "'channels' is an empty list: leave it out to route "
                        "by language")
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
        url = n.value.strip()
        if not is_web_url(url):  # the one link rule (uprbuzz.links), as for every source
            self.at_val(n, "bad-link", f"link must be a web address starting with https:// "
                        f"(or http://), not '{n.value}'")
            return None
        return url

    def card(self, n: YNode | None) -> Card | None:
        if n is None:
            return None
        if n.kind != "map":
            self.at_key(n, "wrong-type", f"'card' must be a mapping with a template, not "
                        f"{kind_of(n.plain())}")
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
                        f"not {kind_of(n.plain())}")
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
                        f"{kind_of(n.plain())}")
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
            if ((a := e.value.get("alt")) is not None and a.value is not None
                    and self.expect(a, "alt", (str,), "text")):
                alt = a.value
            if ((d := e.value.get("decorative")) is not None
                    and self.expect(d, "decorative", (bool,), "true or false")):
                deco = d.value
            out.append(Media(p.value, alt, deco,
                             self.loc(p.key_line or p.line, p.key_column or p.column),
                             focus=self.focus(e.value.get("focus"))))
        return out

    def focus(self, n: YNode | None) -> tuple[float, float] | None:
        """``focus: [x, y]``, Mastodon's focal point: each from -1 (left, bottom) to 1."""
        if n is None:
            return None
        vals = n.plain() if n.kind == "seq" else None
        if (not isinstance(vals, list) or len(vals) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and -1 <= v <= 1 for v in vals)):
            self.at_val(n, "media-focus", "focus must be [x, y], each from -1 to 1 (the "
                        "point Mastodon keeps in view when it crops; [0, 0] is the centre)")
            return None
        return float(vals[0]), float(vals[1])

    def content_warning(self, n: YNode | None) -> str:
        if n is None or not self.expect(n, "content_warning", (str,), "text"):
            return ""
        return str(n.value).strip()

    def flag(self, n: YNode | None, name: str) -> bool:
        return bool(n is not None and self.expect(n, name, (bool,), "true or false") and n.value)
