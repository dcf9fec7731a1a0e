"""Console-script entry point.

``uprbuzz tick`` with nothing due is the hottest path of all (cron, every few minutes): it is
answered here from the due index without importing click, YAML or any platform SDK. Everything
else goes to the click CLI.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:] in (["tick"], ["tick", "-q"], ["tick", "--quiet"]):
        if _fast_tick():
            return
    from uprbuzz.cli import main as cli_main

    cli_main()


def _fast_tick() -> bool:
    try:
        from uprbuzz.clock import default_clock
        from uprbuzz.config import load_config
        from uprbuzz.duecache import nothing_due

        config = load_config()
        if not nothing_due(config, default_clock().now()):
            return False
    except Exception:  # any doubt: the full path decides (and reports errors properly)
        return False
    if os.environ.get("UPRBUZZ_DEBUG_FAST_TICK"):
        print("fast path", file=sys.stderr)
    print("uprbuzz tick: nothing due")
    return True


if __name__ == "__main__":
    main()
