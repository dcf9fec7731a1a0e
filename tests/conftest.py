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
# local PDS, Chromium or PostgreSQL (tests/fixtures/postgres.py) is missing is a failure, so a
# broken install can never pass silently.
# Likewise a conformance test (marked ``shared``) that skips although ../shared exists: CI
# provides ../shared (tools/ci/fetch-conformance.sh), so a file missing from it must not pass.
import os  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import TypeVar  # noqa: E402

import pytest  # noqa: E402

_T = TypeVar("_T")


def needs_shared(*paths: Path) -> Callable[[_T], _T]:
    """Mark a conformance test ``shared`` and skip it unless every one of ``paths`` exists."""
    missing = [f"../{p.relative_to(SHARED.parent)}" for p in paths if not p.exists()]
    skip = pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")

    def mark(test: _T) -> _T:
        return pytest.mark.shared(skip(test))

    return mark


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
    elif (item.get_closest_marker("shared") and SHARED.exists()
          and not hasattr(report, "wasxfail")):
        report.outcome = "failed"
        report.longrepr = (f"conformance test skipped although {SHARED} exists "
                           f"(UPRBUZZ_REQUIRE_SERVERS=1): {reason}; "
                           "tools/ci/fetch-conformance.sh fetches and verifies the data")
