"""Property tests: random and mangled post files never crash the checker, and every reported
position lies inside its file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uprbuzz.config import Config
from uprbuzz.sources.posts.collect import post_checks
from uprbuzz.sources.posts.post_parse import line_count, parse_post_bytes

ROOT = Path(__file__).resolve().parent.parent
CFG = Config(root=ROOT, timezone="America/New_York", lang="en")  # the sample project's media
NOW = datetime.fromisoformat("2020-11-02T09:00:00-05:00")

VALID = [p.read_bytes() for p in sorted((ROOT / "posts").rglob("*.md"))]
PIECES = ["---", "---\n", "\n", ":", ": ", "- ", "  ", "[", "]", "{", "}", "'", '"', "#", "|",
          "&a", "*a", "!!", "\t", "at: ", "2020-11-01 01:30", "2020-03-08 02:30", "tz: ",
          "Europe/Zurich", "status: ", "approved", "media:", "  - path: ", "../x.png",
          "media/palais-des-nations.jpg", "alt: ", "x:", "  text: ", "bluesky:", "  skip: ",
          "![a](media/x.png)", "lang: ", "[en, es, fr, de]", "id: ", "\r\n", "\ufeff",
          "\u2028", "\x00", "\x85", "é", "👨‍👩‍👧", "…", "card:", "  template: ", "tags: "]


def assert_inside(data: bytes, diags) -> None:
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    n = line_count(text)
    for d in diags:
        assert 1 <= d.line <= n, (d, n)
        assert d.column >= 1 and d.severity in ("error", "warning") and d.message


def check_bytes(data: bytes) -> None:
    post, diags = parse_post_bytes(data, "posts/p.md", CFG)
    if post is not None:
        diags = diags + [d for d in post_checks(post, CFG) if d.path == "posts/p.md"]
    assert_inside(data, diags)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    check_bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=40))
def test_random_assemblies_of_post_syntax(pieces: list[str]) -> None:
    check_bytes("".join(pieces).encode("utf-8", errors="replace"))


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A real sample post with a few bytes deleted, duplicated or replaced."""
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["del", "dup", "set", "insert"]))
        if op == "del":
            j = draw(st.integers(i, min(len(data), i + 20)))
            del data[i:j]
        elif op == "dup":
            data[i:i] = data[i:i + draw(st.integers(1, 30))]
        elif op == "set":
            data[i] = draw(st.integers(0, 255))
        else:
            data[i:i] = draw(st.sampled_from(PIECES)).encode()
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_mangled_sample_posts(data: bytes) -> None:
    check_bytes(data)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(mangled(), min_size=1, max_size=4))
def test_whole_project_check_never_crashes(tmp_path_factory, files: list[bytes]) -> None:
    from uprbuzz.config import load_config
    from uprbuzz.sources.project_check import check_project

    root = tmp_path_factory.mktemp("p")
    (root / "uprbuzz.toml").write_text('[project]\ntimezone = "America/New_York"\n')
    (root / "posts").mkdir()
    for i, data in enumerate(files):
        (root / "posts" / f"f{i}.md").write_bytes(data)
    res = check_project(load_config(root, env={}), None, now=NOW)
    for d in res.diagnostics:
        if d.path.startswith("posts/"):
            assert_inside((root / d.path).read_bytes(), [d])
