"""The conftest hook: under UPRBUZZ_REQUIRE_SERVERS a conformance test that skips although
../shared exists fails the run; without ../shared, or without the variable, it skips."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.conftest

pytest_plugins = ["pytester"]

INNER = '''
from pathlib import Path

import pytest
from tests.conftest import needs_shared

present = needs_shared(Path({present!r}))
absent = needs_shared(Path({absent!r}))

@present
def test_has_data():
    pass

@absent
def test_lacks_data():
    pass

@pytest.mark.skip(reason="not a conformance test")
def test_other_skip():
    pass

@present
@pytest.mark.xfail(reason="an expected failure is reported as skipped too")
def test_xfail():
    raise AssertionError
'''


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *, shared: bool,
        require: bool) -> pytest.RunResult:
    root = pytester.path / "shared"
    if shared:
        (root / "data").mkdir(parents=True)
    monkeypatch.setattr(tests.conftest, "SHARED", root)
    if require:
        monkeypatch.setenv("UPRBUZZ_REQUIRE_SERVERS", "1")
    else:
        monkeypatch.delenv("UPRBUZZ_REQUIRE_SERVERS", raising=False)
    present = pytester.path / "present.txt"
    present.write_text("x", encoding="utf-8")
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    pytester.makeini("[pytest]\nmarkers =\n    shared: needs ../shared\n")
    pytester.makepyfile(test_inner=INNER.format(present=str(present),
                                                absent=str(root / "data" / "nothing.txt")))
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rs")


def test_skip_fails_when_shared_exists_and_servers_are_required(pytester, monkeypatch):
    r = run(pytester, monkeypatch, shared=True, require=True)
    r.assert_outcomes(passed=1, skipped=1, xfailed=1, errors=1)
    assert r.ret != 0
    r.stdout.fnmatch_lines(["*conformance test skipped although*shared exists*needs ../shared/data/nothing.txt*"])
    assert "test_lacks_data" in "\n".join(r.stdout.lines)


def test_skip_is_clean_without_shared(pytester, monkeypatch):
    r = run(pytester, monkeypatch, shared=False, require=True)
    r.assert_outcomes(passed=1, skipped=2, xfailed=1)
    assert r.ret == 0


def test_skip_is_clean_without_the_variable(pytester, monkeypatch):
    r = run(pytester, monkeypatch, shared=True, require=False)
    r.assert_outcomes(passed=1, skipped=2, xfailed=1)
    assert r.ret == 0


def test_test_modules_that_read_shared_mark_their_tests():
    """needs_shared (or pytest.mark.shared) wherever a test module names ../shared."""
    for path in sorted(Path(__file__).parent.rglob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        if path != Path(__file__) and ("SHARED" in text or '"shared"' in text):
            assert "needs_shared(" in text or "pytest.mark.shared" in text, path
