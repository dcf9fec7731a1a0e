"""Console-script entry point (``uprbuzz`` and ``python -m uprbuzz``).

``uprbuzz tick`` with nothing due is the hottest path of all (cron, every few minutes): it is
answered here from the due index (duecache.py) without importing click, YAML, Pillow or any
platform SDK. Everything else, and any doubt, goes to the click CLI.
"""

from __future__ import annotations

import contextlib
import os
import sys


def main() -> None:
    args = _tick_args(sys.argv[1:])
    if args is not None and _fast_tick(args):
        return
    from uprbuzz.cli import main as cli_main

    try:
        cli_main()
    except SystemExit as e:
        _leave(e.code)
    _leave(0)


# Modules whose teardown at exit costs seconds (atproto alone frees thousands of models).
_HEAVY = ("atproto_client", "tweepy", "mastodon")


def _leave(code: object) -> None:
    """Exit. After a platform SDK was imported, skip the interpreter's teardown (1-3 s of
    freeing modules, nothing uprbuzz needs: the ledger is committed and closed, no atexit
    hooks are registered): flush the output and leave with ``os._exit``."""
    if not any(m in sys.modules for m in _HEAVY):
        raise SystemExit(code)
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    status = 0 if code is None else code if isinstance(code, int) else 1
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def _tick_args(argv: list[str]) -> str | None:
    """The project folder ('' = default) when argv is a plain ``[-C DIR] tick [-q]``; else None."""
    root = ""
    i = 0
    while i < len(argv) and argv[i] != "tick":
        a = argv[i]
        if a in ("-C", "--project") and i + 1 < len(argv):
            root, i = argv[i + 1], i + 2
        elif a.startswith("--project="):
            root, i = a.split("=", 1)[1], i + 1
        else:
            return None
    if i >= len(argv) or any(a not in ("-q", "--quiet") for a in argv[i + 1:]):
        return None
    return root


def _fast_tick(root: str) -> bool:
    try:
        from uprbuzz.schedule.fast_path import fast_nothing_due

        if not fast_nothing_due(root):
            return False
    except Exception:  # any doubt: the full path decides (and reports errors properly)
        return False
    if os.environ.get("UPRBUZZ_DEBUG_FAST_TICK"):
        print("fast path", file=sys.stderr)
    print("uprbuzz tick: nothing due")
    return True


if __name__ == "__main__":
    main()
