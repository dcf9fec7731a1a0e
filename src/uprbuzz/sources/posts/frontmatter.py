"""Split a post file into YAML front matter and body, keeping line/column of every value.

PyYAML's composer gives each node a start mark; we convert the node tree ourselves so each
value carries the position of its key and of itself. Timestamps stay strings: the queue
parses times itself (zones, DST), YAML's own timestamp rules would silently drop them to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

try:  # libyaml is ~10x faster for cold checks of big queues
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _Loader = yaml.SafeLoader


@dataclass
class YNode:
    """A YAML value: ``value`` is dict[str, YNode], list[YNode] or a plain Python scalar."""

    kind: str  # map | seq | scalar
    value: Any
    line: int  # 1-based position of the value in the file
    column: int
    key_line: int = 0  # position of its key when it sits in a mapping
    key_column: int = 0
    block: bool = False  # a block scalar (| or >): its text starts on the next line

    def plain(self) -> Any:
        """The value with positions stripped (for card fields and the like)."""
        if self.kind == "map":
            return {k: v.plain() for k, v in self.value.items()}
        if self.kind == "seq":
            return [v.plain() for v in self.value]
        return self.value


@dataclass
class Problem:
    line: int
    column: int
    code: str
    message: str


@dataclass
class Split:
    """A post file cut in two. ``body`` lines keep their file line numbers via ``body_line``."""

    front: str | None  # None: the file has no front matter
    front_line: int  # file line of the first front-matter line
    body: list[str]
    body_line: int  # file line of body[0]
    problems: list[Problem] = field(default_factory=list)


def _is_delim(line: str) -> bool:
    return line.rstrip() == "---"


def split(text: str) -> Split:
    """Front matter runs from a first line ``---`` to the next line ``---`` (or ``...``)."""
    lines = text.split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    if not lines or not _is_delim(lines[0]):
        return Split(None, 1, lines, 1, [Problem(
            1, 1, "no-front-matter",
            "missing front matter: a post file starts with a line '---', then YAML keys "
            "(at:, status:, ...), then a line '---', then the text")])
    for i in range(1, len(lines)):
        if _is_delim(lines[i]) or lines[i].rstrip() == "...":
            return Split("\n".join(lines[1:i]), 2, lines[i + 1:], i + 2)
    return Split("\n".join(lines[1:]), 2, [], len(lines) + 1, [Problem(
        1, 1, "front-matter-unclosed",
        "front matter is never closed: add a line '---' after the last key")])


def parse(front: str, first_line: int) -> tuple[YNode | None, list[Problem]]:
    """Compose ``front`` (which starts at file line ``first_line``) into a YNode tree."""
    try:
        root = yaml.compose(front, Loader=_Loader)
    except yaml.YAMLError as e:
        return None, [_yaml_problem(e, front, first_line)]
    except (ValueError, RecursionError) as e:  # pathological input PyYAML does not wrap
        return None, [Problem(first_line, 1, "yaml-syntax", f"YAML syntax error: {e}")]
    if root is None:
        return None, []
    problems: list[Problem] = []
    conv = _Converter(first_line, problems)
    try:
        node = conv.convert(root)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as e:
        mark = getattr(e, "problem_mark", None) or root.start_mark
        return None, [Problem(first_line + mark.line, mark.column + 1, "yaml-syntax",
                              f"YAML value error: {getattr(e, 'problem', None) or e}")]
    return node, problems


class _Converter:
    def __init__(self, first_line: int, problems: list[Problem]) -> None:
        self.first_line = first_line
        self.problems = problems
        self.ctor = SafeConstructor()
        self.depth = 0

    def convert(self, n: yaml.Node) -> YNode:
        line, col = self.first_line + n.start_mark.line, n.start_mark.column + 1
        if self.depth > 50:  # aliases can build deep or cyclic structures
            raise ValueError("structure nested too deeply")
        self.depth += 1
        try:
            if isinstance(n, yaml.MappingNode):
                out: dict[str, YNode] = {}
                for k, v in n.value:
                    key = self.convert(k)
                    name = str(key.value) if key.kind == "scalar" else "<complex key>"
                    if name in out:
                        self.problems.append(Problem(key.line, key.column, "duplicate-key",
                                                     f"key '{name}' is given twice"))
                    val = self.convert(v)
                    val.key_line, val.key_column = key.line, key.column
                    out[name] = val
                return YNode("map", out, line, col)
            if isinstance(n, yaml.SequenceNode):
                return YNode("seq", [self.convert(v) for v in n.value], line, col)
            if n.tag.endswith(":timestamp"):
                value: Any = n.value
            else:
                value = self.ctor.construct_object(n)
            return YNode("scalar", value, line, col, block=getattr(n, "style", None) in ("|", ">"))
        finally:
            self.depth -= 1


def _yaml_problem(e: yaml.YAMLError, front: str, first_line: int) -> Problem:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    if mark is not None:
        line, col = first_line + mark.line, mark.column + 1
    elif getattr(e, "position", None) is not None:  # ReaderError: a character index
        pos = int(e.position)  # type: ignore[attr-defined]
        line = first_line + front.count("\n", 0, pos)
        col = pos - (front.rfind("\n", 0, pos) + 1) + 1
    else:
        line, col = first_line, 1
    problem = getattr(e, "problem", None)
    if problem:
        ctx, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
        msg = str(problem)
        if ctx and cmark is not None and cmark is not mark:
            msg += f" ({ctx} at line {first_line + cmark.line})"
        elif ctx:
            msg += f" ({ctx})"
    else:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    return Problem(line, col, "yaml-syntax", f"YAML syntax error: {msg}")
