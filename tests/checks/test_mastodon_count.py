"""Mastodon's length rule (text_measure.mastodon_count) against Mastodon.py's
``Mastodon.get_status_length(text, spoiler_text="")`` and against the server's own rules.

Mastodon.py approximates the server (twitter-text JS's URL regex with https? only, a simpler
mention regex, graphemes of text and spoiler counted apart, no strip). Where the two agree, ours
must agree with both; where Mastodon.py is known to differ from the server, ours sides with the
server and the case says why (``SERVER_NOT_MASTODON_PY``).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from uprbuzz.cli import main
from uprbuzz.platforms.limits import MASTODON
from uprbuzz.platforms.text_measure import (
    _mastodon_regexes,
    _UrlScanner,
    graphemes,
    mastodon_count,
)


def mastodon_py(text: str, spoiler: str = "") -> int:
    from mastodon import Mastodon

    return Mastodon.get_status_length(text, spoiler)


# (text, spoiler_text, the server's count): Mastodon.py counts the same.
AGREED = [
    ("family 👨‍👩‍👧‍👦 and 👩🏽‍🚀", "", 14),  # ZWJ sequences and a skin tone: one each
    ("flags 🇫🇷🇨🇭🇺🇳", "", 9),  # a flag is two regional indicators, one grapheme
    ("keycaps 1️⃣2️⃣#️⃣", "", 11),  # digit + VS16 + combining keycap
    ("Live: https://webtv.un.org/en/asset/k1x/k1xyz123 now", "", 33),  # 6 + 23 + 4
    ("short http://un.org", "", 29),  # a short URL still counts 23
    ("no scheme: upr-info.org/en/review and www.ohchr.org", "", 51),  # no scheme: as written
    ("https://www.ohchr.org/en/hr-bodies/upr/upr-main?" + "a=1&" * 60 + "b=2", "", 23),
    ("thanks @OHCHR@mastodon.social and @upr_info@social.example.org", "", 27),  # @user only
    ("thanks @local_user and @other", "", 29),  # local mentions count as written
    ("普遍定期審議 国連人権理事会", "", 14),  # CJK: one each (no weighting as on X)
    ("الاستعراض الدوري الشامل لحقوق الإنسان", "", 37),
    ("e\u0301 a\u0308 n\u0303 Z\u0351\u0352", "", 7),  # combining marks join their base
    ("body text", "CW: violence", 21),  # spoiler_text counts too
    ("mixed 🇺🇳 https://example.com/x @a@b.org 漢字 é", "spoiler 👍", 48),
    ("क्षत्रिय", "", 5),  # Devanagari conjuncts: see test_indic_conjuncts_count_as_ruby_does
    ("(https://en.wikipedia.org/wiki/Primer_(film)) ok", "", 28),  # balanced parens in a path
    ("x https://example.com.", "", 26),  # the final dot is not part of the URL
]

# (text, spoiler_text, server, Mastodon.py, why they differ)
SERVER_NOT_MASTODON_PY = [
    ("thanks @first.last@example.org", "", 18, 30,
     "USERNAME_RE allows dots and dashes inside a username; Mastodon.py's [a-z0-9_]+ does not"),
    ("https://example.com/日本語/página", "", 23, 33,
     "Mastodon's path characters are any non-space (twitter_regex.rb); twitter-text JS stops "
     "at the first non-Latin character"),
    ("gemini://example.com/capsule", "", 23, 28,
     "Mastodon also counts dat, dweb, ipfs, ipns, ssb, gopher and gemini URLs as 23"),
    ("ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi.ipfs.dweb.link/",
     "", 23, 82, "another of Mastodon's extra schemes"),
    ("  padded text  \n", "", 11, 16, "Status#prepare_contents strips text and spoiler_text"),
    ("https://" + "a" * 64 + ".com/x", "", 78, 23,
     "twitter-text's is_valid_domain: IDNA ToASCII fails on a label over 63 characters, so "
     "this is no URL and counts as written"),
    ("https://example.com/" + "p" * 4100, "", 4120, 23,
     "a URL over twitter-text's MAX_URL_LENGTH (4,096) is no URL"),
    ("https://t.co/" + "a" * 41, "", 54, 23, "a t.co slug over 40 characters is no URL"),
    ("https://😀.example.com/", "", 22, 23,
     "libidn's ToASCII (IDNA 2003 without AllowUnassigned) refuses code points unassigned in "
     "Unicode 3.2, such as emoji, so the domain is invalid"),
    ("", "only a content warning https://example.com/long/path", 46, 52,
     "PostStatusService posts a spoiler_text without text as the text, where URLs count 23"),
]


@pytest.mark.parametrize("text,spoiler,expected", AGREED, ids=[repr(t)[:30] for t, *_ in AGREED])
def test_agrees_with_mastodon_py_on_our_cases(text: str, spoiler: str, expected: int) -> None:
    assert mastodon_count(text, spoiler).length == expected
    assert mastodon_py(text, spoiler) == expected


@pytest.mark.parametrize("text,spoiler,server,mpy,why", SERVER_NOT_MASTODON_PY,
                         ids=[w.split(":")[0][:40] for *_, w in SERVER_NOT_MASTODON_PY])
def test_sides_with_the_server_where_mastodon_py_differs(text: str, spoiler: str, server: int,
                                                         mpy: int, why: str) -> None:
    assert mastodon_count(text, spoiler).length == server, why
    assert mastodon_py(text, spoiler) == mpy  # still Mastodon.py's behaviour (2.3.3)?


def test_indic_conjuncts_count_as_ruby_does() -> None:
    """Ruby 3.4 segments by Unicode 15.0 (no GB9c): क्ष is two clusters there; the ``regex``
    module's \\X (Unicode 15.1+) makes it one. We count as the server does."""
    assert graphemes("क्ष") == 1
    assert mastodon_count("क्ष").length == 2 == mastodon_py("क्ष")


def test_the_limit_and_the_url_length_are_parameters() -> None:
    assert MASTODON.max_length == 500 and MASTODON.url_chars == 23
    assert mastodon_count("a" * 500).valid and not mastodon_count("a" * 501).valid
    c = mastodon_count("a" * 501, limit=5000)
    assert (c.length, c.limit, c.valid) == (501, 5000, True)
    assert mastodon_count("see https://example.com/x", url_chars=30).length == 4 + 30
    # every URL counts 23: 21 URLs and their separators pass where the raw text would not
    text = " ".join(["https://example.com/" + "p" * 100] * 21)
    assert len(text) > 2000 and mastodon_count(text).length == 21 * 23 + 20


def test_mentions_follow_the_server_rules() -> None:
    assert mastodon_count("@noël@example.com").length == len("@noël@example.com")  # not "@no"
    assert mastodon_count("mail a@b.org").length == len("mail a@b.org")  # no mention after a word
    assert mastodon_count("=@alice@example.org").length == 19  # no mention after '=' or '/'
    assert mastodon_count("x/@alice@example.org").length == 20
    far = "@alice@" + "d" * 254 + ".org"  # a domain over 253 characters: no mention
    assert mastodon_count(far).length == len(far)


def test_blank_text_counts_nothing_but_the_spoiler() -> None:
    assert mastodon_count("   ").length == 0
    assert mastodon_count("\u3000\u3000", "cw").length == 2  # blank (Rails' [[:space:]])


# --- generated strings ----------------------------------------------------------------------

# Pieces both counters read the same way, joined by single spaces, with some text (Mastodon.py
# neither strips nor moves a lone spoiler_text into the text, nor knows the extra schemes,
# dotted usernames or non-Latin paths: see the cases above).
_PIECES = st.sampled_from([
    "word", "UPR", "42", "é", "e\u0301", "漢字", "かな", "한국어", "مرحبا", "Привет", "👍", "👍🏿",
    "👨‍👩‍👧", "🇺🇳", "1️⃣", "#UPR37", "@alice", "@bob_2@mastodon.social", "@x@example.org",
    "https://example.com", "https://www.ohchr.org/en/hr-bodies/upr", "http://un.org/a?b=c",
    "https://example.com/path_(x)", "example.org", "a.b", "(", ")", "!", "?", ".", "…", "—",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, min_size=1, max_size=30), st.lists(_PIECES, max_size=4))
def test_generated_strings_agree_with_mastodon_py(text_pieces: list[str], cw: list[str]) -> None:
    text, spoiler = " ".join(text_pieces), " ".join(cw)
    assert mastodon_count(text, spoiler).length == mastodon_py(text, spoiler)


_URLISH = st.lists(st.sampled_from([
    "https://", "http://", "gemini://", "HTTP://", "a", "b", "é", "漢", "_", "-", ".", ".com",
    ".org", ".co", ".uk", "com", "/", "?", "(", ")", "!", "@", " ", "\n", ":", "#", "t.co/",
    "xn--p1ai", ".рф", "1", "\u200e", "\u3000", "'", "=", "&",
]), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(_URLISH)
def test_the_linear_url_scanner_is_the_server_regex(text: str) -> None:
    """The scanner must find exactly what ``text.scan(valid_url)`` finds (schemes only)."""
    rx = _mastodon_regexes()
    expected = [(m.start(3), m.end(3), m.group(3), m.group(5))
                for m in rx.url.finditer(text) if m.group(4)]
    assert _UrlScanner(text, rx).scan() == expected


def test_hostile_text_is_counted_quickly() -> None:
    mastodon_count("warm up")
    for text in ("a.b." * 1000 + "https://x", "é" * 20_000 + " https://x.com",
                 "https://x.com/" + "((a)b" * 2000, "@a" * 5000):
        t0 = time.perf_counter()
        mastodon_count(text)
        assert time.perf_counter() - t0 < 1.0, text[:20]


def test_measure_reports_mastodon() -> None:
    r = CliRunner().invoke(main, ["measure", "https://example.com/" + "x" * 600])
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if line.startswith("Mastodon"))
    assert row.split()[:4] == ["Mastodon", "23", "characters", "500"] and row.endswith("ok")
    r = CliRunner().invoke(main, ["measure", "--json", "a" * 501])
    assert '"length": 501' in r.output and '"valid": false' in r.output


def test_counting_imports_neither_mastodon_py_nor_grapheme() -> None:
    code = ("import sys; from uprbuzz.platforms.text_measure import measure; "
            "measure('hi https://example.com @a@b.org'); "
            "print(sorted(m for m in ('mastodon', 'grapheme') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
