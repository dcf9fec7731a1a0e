"""Shared fixtures live in tests/fixtures/*.py (one module per area), loaded as plugins."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (Path(__file__).parent / "fixtures").glob("*.py")
    if p.stem != "__init__"
)


# scripts/test (and so CI) sets UPRBUZZ_REQUIRE_SERVERS=1: there, a test skipped because the
# local PDS or Chromium is missing is a failure, so a broken install can never pass silently.
import os  # noqa: E402

import pytest  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and os.environ.get("UPRBUZZ_REQUIRE_SERVERS")):
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if "not installed" in reason.lower():
        report.outcome = "failed"
        report.longrepr = f"required server missing (UPRBUZZ_REQUIRE_SERVERS=1): {reason}"
