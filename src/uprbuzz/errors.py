"""The one root of every error a user can act on, and the missing-dependency check.

Every module's error class derives from :class:`UprbuzzError`, so the command line can tell a
problem the user can fix (one clean line, exit 2, no traceback) from a bug in uprbuzz (a
traceback and a line saying so). An error may carry where it is: ``path:line:column``.
"""

from __future__ import annotations

import importlib.util

# Import name -> distribution to install, where the two differ (what ``pip install`` needs).
_DISTRIBUTIONS = {
    "yaml": "pyyaml",
    "PIL": "pillow",
    "twitter_text": "twitter-text-parser",
    "fontTools": "fonttools",
    "apscheduler": "apscheduler",
    "atproto": "atproto",
    "atproto_client": "atproto",
    "libipld": "libipld",
    "dateutil": "python-dateutil",
}


class UprbuzzError(Exception):
    """A problem the user can fix. ``str()`` is the one line to print: ``path:line:col: msg``
    when the location is known, else the message alone."""

    code = "error"

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.path, self.line, self.column = message, path, line, column

    @property
    def where(self) -> str:
        if self.path is None:
            return ""
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}:{self.column or 1}"

    def __str__(self) -> str:
        where = self.where
        return f"{where}: {self.message}" if where else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # whole, location included, across a process boundary (a lane worker's error)
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[UprbuzzError], args: tuple[object, ...], state: dict[str, object]
             ) -> UprbuzzError:
    e = cls.__new__(cls)
    Exception.__init__(e, *args)
    e.__dict__.update(state)
    return e


class StoreError(UprbuzzError):
    """The state store cannot be used (corrupt, read-only, locked, disk full); names the file."""

    code = "state-store"


class MissingDependency(UprbuzzError):
    """A third-party package uprbuzz needs is not installed (or cannot be imported)."""

    code = "missing-dependency"

    def __init__(self, module: str, detail: str = "") -> None:
        dist = distribution_of(module)
        extra = f" ({detail})" if detail else ""
        super().__init__(f"the Python package '{dist}' is missing or broken{extra}: install it "
                         f"with `pip install {dist}` (or run scripts/setup)")
        self.module, self.distribution = module, dist


def distribution_of(module: str) -> str:
    top = module.split(".")[0]
    return _DISTRIBUTIONS.get(top, top.replace("_", "-"))


def missing_from(e: ImportError) -> MissingDependency | None:
    """The MissingDependency an ImportError stands for, or None when the module that failed is
    uprbuzz's own (that is a bug, not something to install)."""
    name = e.name
    if not name:
        import re

        m = re.search(r"No module named '([\w.]+)'", str(e))
        name = m.group(1) if m else None
    if not name or name.split(".")[0] == "uprbuzz":
        return None
    return MissingDependency(name, str(e) if e.name is None else "")


def require(*modules: str) -> None:
    """Fail closed, before any cached answer is trusted: each module must be importable.

    Finding a module's spec costs microseconds and imports nothing, so a warm ``check`` stays
    fast; a module that is present but broken fails later, at its real import, the same way.
    """
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # the third-party module under test: sys.modules[m] = None
            found = False
        if not found:
            raise MissingDependency(module)
