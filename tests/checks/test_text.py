"""Counting and facets exactly as X and Bluesky do: shared conformance data, the reference
libraries themselves (twitter-text-parser's parse_tweet, the atproto SDK's detectors), and
self-written cases so the suite means something without ../shared."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
import regex
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, SHARED, needs_shared
from uprbuzz.cli import main
from uprbuzz.platforms.text_measure import (
    bluesky_count,
    bluesky_facets,
    graphemes,
    measure,
    x_length,
)

VALIDATE = SHARED / "data" / "twitter-text" / "validate.yml"
RICH = SHARED / "data" / "bluesky" / "rich-text-detection-cases.json"

# The two WeightedTweetsCounterTest cases that test config v2's undiscounted emoji weights;
# X counts with v3, where every emoji weighs 2.
V2_ONLY = {
    "Count a mix of single byte single word, and double word unicode characters",
    "Count unicode emoji chars outside the basic multilingual plane with skin tone modifiers",
}


def _weighted_cases() -> list[tuple[str, str, int, bool]]:
    if not VALIDATE.exists():
        return []
    import yaml

    tests = yaml.safe_load(VALIDATE.read_text(encoding="utf-8"))["tests"]
    out = []
    for suite in ("WeightedTweetsWithDiscountedEmojiCounterTest", "WeightedTweetsCounterTest",
                  "UnicodeDirectionalMarkerCounterTest"):
        for c in tests[suite]:
            if suite == "WeightedTweetsCounterTest" and c["description"] in V2_ONLY:
                continue
            out.append((suite, c["text"], c["expected"]["weightedLength"], c["expected"]["valid"]))
    return out


WEIGHTED = _weighted_cases()


def _cli_measure(text: str) -> dict:
    r = CliRunner().invoke(main, ["measure", "--json", text])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


# --- X ------------------------------------------------------------------------------------

@needs_shared(VALIDATE)
def test_there_are_42_v3_weighted_cases():
    assert len(WEIGHTED) == 42
    assert [s for s, *_ in WEIGHTED].count("WeightedTweetsCounterTest") == 18


@needs_shared(VALIDATE)
@pytest.mark.parametrize("suite,text,length,valid", WEIGHTED,
                         ids=[f"{s[:12]}-{i}" for i, (s, *_) in enumerate(WEIGHTED)])
def test_x_weighted_length_conformance(suite, text, length, valid):
    x = x_length(text)
    assert (x.weighted_length, x.valid) == (length, valid)


@needs_shared(VALIDATE)
def test_measure_cli_json_agrees_with_all_weighted_cases():
    for _, text, length, valid in WEIGHTED:
        got = _cli_measure(text)["x"]
        assert got == {"weighted_length": length, "limit": 280, "valid": valid}, text


@needs_shared(VALIDATE)
def test_measure_process_reads_stdin():
    _, text, length, valid = next(c for c in WEIGHTED if c[0] == "UnicodeDirectionalMarkerCounterTest"
                                  and c[3])
    r = subprocess.run([sys.executable, "-m", "uprbuzz", "measure", "--json", "-"],
                       input=text.encode("utf-8"), capture_output=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["x"] == {"weighted_length": length, "limit": 280, "valid": valid}


@pytest.mark.parametrize("text,length,valid", [
    ("a" * 280, 280, True),
    ("a" * 281, 281, False),
    ("", 0, False),  # X needs text or media: checked separately
    ("see https://www.ohchr.org/en/hr-bodies/upr/upr-main", 4 + 23, True),
    ("ohchr.org", 23, True),  # schemeless domain with a known TLD
    ("日本", 4, True),  # CJK weighs 2
    ("😷", 2, True),
    ("👨‍👩‍👧‍👧", 2, True),  # a ZWJ family is one emoji
    ("🇨🇭", 2, True),
    ("e\u0301", 1, True),  # NFC first: é
    ("a\r\nb", 3, True),  # CRLF counts once
    ("—“quoted”—", 10, True),  # U+2010-201F weigh 1
    ("a\ufffeb", 4, False),  # U+FFFE weighs 2 and makes the text invalid
    ("日" * 140, 280, True),
    ("日" * 141, 282, False),
])
def test_x_weighted_length_known_values(text, length, valid):
    x = x_length(text)
    assert (x.weighted_length, x.limit, x.valid) == (length, 280, valid)


PIECES = ["a", "Z", "7", "#", "*", " ", "\n", "\r\n", ".", "/", ":", "-", "_", "@", "$",
          "https://", "http://", "example", ".com", ".org", ".test", "t.co/x", "www.", "é",
          "e\u0301", "日本", "中", "😷", "👍🏽", "👨‍👩‍👧", "🇨🇭", "#️⃣", "1️⃣", "\ufe0f", "\u20e3",
          "\u200d", "\u200b", "\u00a0", "\u3000", "\u2014", "\u2033", "\u1100", "\u10ff", "©",
          "\ufffe", "\ufeff", "\u202a", "＃", "(", ")", ",", "!", "?", "x" * 40]
fragments = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=30).map("".join)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments)
@example("a.com\u2014.com/")  # the extractor's value is shorter than its indices: parse_tweet steps over the value
def test_x_length_equals_parse_tweet(text):
    from twitter_text import parse_tweet  # the reference: default config is v3

    ref = parse_tweet(text)
    x = x_length(text)
    assert (x.weighted_length, x.valid) == (ref.weightedLength, ref.valid)


def test_importing_checks_does_not_load_the_sdks_or_pkg_resources():
    code = ("import sys; from uprbuzz.platforms.text_measure import measure; measure('hi @a.test #x'); "
            "print(sorted(m for m in ('atproto', 'atproto_client', 'pkg_resources', 'PIL') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


# --- Bluesky --------------------------------------------------------------------------------

def _rich_cases() -> list[tuple[str, str, list[tuple[str, int, int, str]]]]:
    """(kind, input, expected facets as (type, byte_start, byte_end, value))."""
    if not RICH.exists():
        return []
    data = json.loads(RICH.read_text(encoding="utf-8"))
    out = []
    for c in data["segments"]:
        pos, exp = 0, []
        for seg in c["output"]:
            n = len(seg[0].encode("utf-8"))
            if len(seg) > 1:
                value = seg[1]
                kind = "mention" if value.startswith("did:fake:") else "link"
                exp.append((kind, pos, pos + n, value.removeprefix("did:fake:")))
            pos += n
        out.append(("segments", c["input"], exp))
    for key in ("tags", "cashtags"):
        for c in data[key]:
            exp = [("tag", i["byteStart"], i["byteEnd"], t) for t, i in zip(c["tags"], c["indices"], strict=False)]
            out.append((key, c["input"], exp))
    return out


RICH_CASES = _rich_cases()


def _facets(text: str) -> list[tuple[str, int, int, str]]:
    return [(f["type"], f["byte_start"], f["byte_end"], f["value"]) for f in measure(text)["bluesky"]["facets"]]


@needs_shared(RICH)
def test_there_are_97_rich_text_cases():
    assert len(RICH_CASES) == 97


@needs_shared(RICH)
@pytest.mark.parametrize("kind,text,expected", RICH_CASES,
                         ids=[f"{k}-{i}" for i, (k, *_) in enumerate(RICH_CASES)])
def test_bluesky_facets_conformance(kind, text, expected):
    got = _facets(text)
    if kind != "segments":
        got = [f for f in got if f[0] == "tag"]  # the tag suites list tags only
    assert got == expected


@needs_shared(RICH)
def test_measure_cli_facets_for_some_cases():
    for kind, text, expected in RICH_CASES[::7]:
        got = [(f["type"], f["byte_start"], f["byte_end"], f["value"])
               for f in _cli_measure(text)["bluesky"]["facets"]]
        if kind != "segments":
            got = [f for f in got if f[0] == "tag"]
        assert got == expected, text


def _sdk(text: str) -> list[tuple[str, int, int, str]]:
    from atproto_client.utils import detect_facets, detect_mentions

    out = [("mention", m.byte_start, m.byte_end, m.handle) for m in detect_mentions(text)]
    for f in detect_facets(text):
        feat = f.features[0]
        kind, value = ("link", feat.uri) if hasattr(feat, "uri") else ("tag", feat.tag)
        out.append((kind, f.index.byte_start, f.index.byte_end, value))
    return sorted(out)


@needs_shared(RICH)
def test_detector_agrees_with_sdk_on_shared_cases():
    for _, text, _ in RICH_CASES:
        assert sorted(_facets(text)) == _sdk(text), text


FACET_PIECES = ["@", "#", "＃", "$", "(", ")", " ", "\n", ".", ",", ";", ":", "!", "?", "/", "-",
                "_", "https://", "http://", "HTTPS://", "bsky.app", "alice", ".bsky.social",
                ".test", ".com", ".jpg", ".php", "AAPL", "aapl", "1", "a", "é", "日本", "🦋",
                "👨‍👩‍👧", "\ufe0f", "\u20e3", "#️⃣", "\u200b", "\u00ad", "\u20e2", "\u00a0",
                "\u3000", "'", '"', "\u2019", "x" * 30]
facet_text = st.lists(st.sampled_from(FACET_PIECES) | st.text(max_size=2), max_size=25).map("".join)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facet_text)
def test_detector_agrees_with_sdk_on_generated_text(text):
    assert sorted(_facets(text)) == _sdk(text)


def test_detector_agrees_with_sdk_on_a_seeded_corpus():
    rng = random.Random(20201109)
    for _ in range(3000):
        text = "".join(rng.choice(FACET_PIECES) for _ in range(rng.randint(0, 20)))
        assert sorted(_facets(text)) == _sdk(text), text


@pytest.mark.parametrize("text,expected", [
    ("Watch live https://webtv.un.org #UPR37", [
        ("link", 11, 31, "https://webtv.un.org"), ("tag", 32, 38, "UPR37")]),
    ("cc @ohchr.bsky.social and @not_a_handle", [("mention", 3, 21, "ohchr.bsky.social")]),
    ("read ohchr.org/upr.", [("link", 5, 18, "https://ohchr.org/upr")]),
    ("#2020 no, #UPR2020 yes", [("tag", 10, 18, "UPR2020")]),
    ("café #droits", [("tag", 6, 13, "droits")]),  # byte offsets, not code points
    ("$upr and $12", [("tag", 0, 4, "$UPR")]),
    ("file.jpg e.g. nothing", []),
])
def test_bluesky_facets_known_values(text, expected):
    assert _facets(text) == expected


def test_bluesky_facets_record_form():
    facets = bluesky_facets("hi @alice.test see bsky.app #x")
    assert facets == [
        {"index": {"byteStart": 3, "byteEnd": 14},
         "features": [{"$type": "app.bsky.richtext.facet#mention", "handle": "alice.test"}]},
        {"index": {"byteStart": 19, "byteEnd": 27},
         "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://bsky.app"}]},
        {"index": {"byteStart": 28, "byteEnd": 30},
         "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "x"}]},
    ]


@pytest.mark.parametrize("text,g", [
    ("", 0), ("abc", 3), ("e\u0301", 1), ("👨‍👩‍👧‍👧", 1), ("🇨🇭🇺🇳", 2), ("👍🏽", 1), ("\r\n", 1),
    ("각", 1), ("\u1100\u1161\u11a8", 1), ("#️⃣", 1), ("नमस्ते", 3),
])
def test_graphemes_known_values(text, g):
    assert graphemes(text) == g


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_grapheme_count_is_extended_clusters(text):
    clusters = regex.findall(r"\X", text)
    assert "".join(clusters) == text
    c = bluesky_count(text)
    assert c.graphemes == len(clusters)
    assert c.bytes == len(text.encode("utf-8"))
    assert c.valid == (len(clusters) <= 300 and c.bytes <= 3000)


def test_bluesky_limits():
    assert bluesky_count("a" * 300).valid
    assert not bluesky_count("a" * 301).valid
    over_bytes = "👨‍👩‍👧‍👧" * 120  # 120 graphemes, 3000 bytes... plus one more
    assert bluesky_count(over_bytes).bytes == 3000 and bluesky_count(over_bytes).valid
    assert not bluesky_count(over_bytes + "a").valid  # 121 graphemes but 3001 bytes


def test_measure_shape():
    m = measure("hi #upr")
    assert set(m) == {"x", "bluesky", "mastodon"}
    assert set(m["mastodon"]) == {"length", "limit", "valid"}
    assert set(m["x"]) == {"weighted_length", "limit", "valid"}
    assert set(m["bluesky"]) == {"graphemes", "bytes", "limit", "max_bytes", "valid", "facets"}
    assert set(m["bluesky"]["facets"][0]) == {"type", "byte_start", "byte_end", "value"}


def test_measure_human_table():
    r = CliRunner().invoke(main, ["measure", "x" * 290 + " #upr"])
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[1].split()[:3] == ["X", "295", "weighted"] and "TOO LONG" in lines[1]
    assert "tag" in r.output and "upr" in r.output


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([chr(i) for i in range(128)] + ["\r\n"]), max_size=40).map("".join))
def test_ascii_grapheme_shortcut_equals_the_unicode_rule(text):
    import regex

    from uprbuzz.platforms.text_measure import graphemes

    assert graphemes(text) == sum(1 for _ in regex.finditer(r"\X", text))
