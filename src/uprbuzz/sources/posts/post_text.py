"""A post file's text -> thread parts, and the per-file diagnostics the whole parser reports to.

Lines holding only ``---`` split the text into a thread; a line holding only ``![alt](path)``
attaches an image to its part. Every position is a file line, clamped into the file, so a
message never points past its end. The front-matter keys are read in :mod:`uprbuzz.sources.posts.post_fields`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from uprbuzz.model import Diagnostic, Loc, Media, Part

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.sources.posts.frontmatter import YNode

_IMAGE = re.compile(r"^\s*!\[(?P<alt>[^\]]*)\]\(\s*<?(?P<path>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)\s*$")


def line_count(text: str) -> int:
    """Lines as an editor shows them (a final newline does not open a new line)."""
    return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))


class TextReader:
    """One post file being read: where its diagnostics go, and how its text becomes parts."""

    def __init__(self, rel: str, config: Config, nlines: int) -> None:
        self.rel, self.config, self.nlines = rel, config, nlines
        self.diags: list[Diagnostic] = []

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

    # -- the text ----------------------------------------------------------------------------
    def parts(self, lines: list[str], first: int, where: str = "",
              anchor: int | None = None) -> list[Part]:
        """Split text lines (the first at file line ``first``) into thread parts."""
        groups: list[tuple[int, list[tuple[int, str]]]] = []
        sep = first - 1
        cur: list[tuple[int, str]] = []
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
