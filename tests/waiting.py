"""Polling for a condition in tests that watch another process or thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
             every: float = 0.02) -> Any:
    """``cond()``'s first truthy value, polled every ``every`` s; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
