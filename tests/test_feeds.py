from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.conftest import needs_shared
from uprbuzz.clock import FixedClock
from uprbuzz.config import Config, ConfigError
from uprbuzz.platforms.text_measure import bluesky_count, x_length
from uprbuzz.sources.feeds.feed_fetch import FeedError, fetch, read_source
from uprbuzz.sources.feeds.feed_items import (
    FeedConfig,
    Item,
    clean,
    feed_configs,
    is_web_url,
    item_post,
    parse_feed,
    render_text,
)
from uprbuzz.sources.feeds.feed_poll import poll_feed
from uprbuzz.sources.posts.post_parse import parse_post_file
from uprbuzz.store import Store

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT.parent / "shared" / "data" / "feeds"
UTC = UTC
T0 = datetime(2020, 11, 1, 12, 0, tzinfo=UTC)
needs_data = needs_shared(FEEDS / "wix", FEEDS / "feedparser" / "tests")


def item(guid: str | None, title: str, when: datetime | None, link: str | None = None,
         extra: str = "") -> str:
    parts = [f"<title><![CDATA[{title}]]></title>"]
    if link is not False:
        parts.append(f"<link>{link or f'https://blog.example.org/post/{guid}'}</link>")
    if guid:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if when:
        parts.append(f"<pubDate>{format_datetime(when)}</pubDate>")
    return "<item>" + "".join(parts) + extra + "</item>"


def rss(*items: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            "<title>Blog</title><link>https://blog.example.org</link><generator>RSS for Node"
            "</generator>" + "".join(items) + "</channel></rss>").encode()


def project(tmp_path: Path) -> Config:
    return Config(root=tmp_path, timezone="Europe/Zurich")


# --- parsing and cleaning -----------------------------------------------------------------

@needs_data
def test_real_wix_feeds() -> None:
    counts = {}
    for f in sorted((FEEDS / "wix").glob("*.xml")):
        items, warnings = parse_feed(f.read_bytes())
        assert warnings == []
        counts[f.name] = len(items)
        for it in items:
            assert it.key.startswith("guid:") and len(it.key) == 5 + 24
            assert it.link and "/post/" in it.link
            assert "&#38;" not in it.title and "\u200d" not in it.title
            assert "<" not in it.summary
            assert it.published is not None
    assert counts == {"adolfstock.de_blog-feed.xml": 20, "ccte.space_blog-feed.xml": 1,
                      "girlplusenvironment.org_blog-feed.xml": 20}
    gpe, _ = parse_feed((FEEDS / "wix" / "girlplusenvironment.org_blog-feed.xml").read_bytes())
    beauty = next(i for i in gpe if "Beauty" in i.title)
    assert "Black Women & the Planet" in beauty.title
    assert all(i.image and i.image.startswith("https://static.wixstatic.com/") for i in gpe)
    ccte, _ = parse_feed((FEEDS / "wix" / "ccte.space_blog-feed.xml").read_bytes())
    assert ccte[0].image is None  # no enclosure, no <img>


@needs_data
def test_feedparser_corpus_never_crashes_and_stays_fast() -> None:
    files = sorted((FEEDS / "feedparser" / "tests").rglob("*.xml"))
    assert len(files) > 2000
    ok = refused = 0
    t0 = time.perf_counter()
    for f in files:
        try:
            items, _ = parse_feed(f.read_bytes())
        except FeedError as e:
            assert str(e)  # a sentence, never an empty error
            refused += 1
        else:
            ok += 1
            for it in items:
                assert isinstance(it.title, str) and isinstance(it.summary, str)
    elapsed = time.perf_counter() - t0
    assert ok > 1500 and refused > 0
    assert elapsed < 60, elapsed
    # the corpus' own entity-declaring feeds are refused before feedparser runs
    with pytest.raises(FeedError, match="entities"):
        parse_feed((FEEDS / "feedparser/tests/wellformed/rss/entity_in_doctype.xml").read_bytes())


def test_double_escaped_entities_zero_width_and_html() -> None:
    text, img = clean('<p>Tom &amp;#38; Jerry\u200b</p><img src="/a.png"><script>x()</script>'
                      "<p>more&nbsp;text</p>")
    assert text == "Tom & Jerry more text"
    assert img == "/a.png"
    # ZWJ inside an emoji sequence stays; a stray one goes
    assert clean("family \U0001F469\u200d\U0001F467 planet\u200d\u2640")[0] == \
        "family \U0001F469\u200d\U0001F467 planet\u2640"
    items, _ = parse_feed(rss(item("a1", "Rights &#38; Wrongs", T0)))
    assert items[0].title == "Rights & Wrongs"


@pytest.mark.parametrize("body,words", [
    (b"", "empty"),
    (b"\x00\x01\x02garbage\xff\xfe" * 50, "not"),
    (b"<html><body><p>Hello</p></body></html>", "not"),
    (b'{"items": []}', "not"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;'
     b'&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><rss version="2.0"><channel><item><title>&lol2;'
     b"</title></item></channel></rss>", "entities"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
     b'<rss version="2.0"><channel><item><title>&xxe;</title></item></channel></rss>', "entities"),
    ('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "b">]><rss/>'.encode("utf-16"),
     "entities"),
    # declared UTF-8, bytes are Latin-1
    (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item><title>Caf\xe9 '
     b"des droits</title><guid>1</guid></item></channel></rss>", "wrongly encoded"),
    # text already mangled upstream: replacement characters where letters were
    ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item><title>'
     "Caf\ufffd des droits</title><guid>1</guid></item></channel></rss>".encode(), "wrongly encoded"),
])
def test_bad_feeds_give_a_clear_error(body: bytes, words: str) -> None:
    with pytest.raises(FeedError, match=words):
        parse_feed(body)


def test_plain_doctype_is_fine() -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS '
            b'0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
            b'<rss version="0.91"><channel><title>t</title><item><title>Hi</title>'
            b"<link>https://e.org/1</link></item></channel></rss>")
    assert parse_feed(body)[0][0].title == "Hi"


def test_summary_is_shortened_to_fit_both_platforms() -> None:
    long = " ".join(["word"] * 200)
    items, _ = parse_feed(rss(item("g", "Title", T0, extra=f"<description>{long}</description>")))
    text = render_text(items[0], FeedConfig("b", "https://x", "{title}: {summary} {link}"))
    assert text.startswith("Title: word word") and "…" in text
    assert text.endswith("https://blog.example.org/post/g")
    assert x_length(text).valid and bluesky_count(text).valid


# --- fetching -----------------------------------------------------------------------------

def test_oversized_feed_is_refused(feed_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    feed_server.body = rss(*(item(f"g{i}", "x" * 500, T0) for i in range(30)))
    with pytest.raises(FeedError, match="byte limit"):
        fetch(feed_server.url, max_bytes=10_000)
    big = tmp_path / "big.xml"
    big.write_bytes(feed_server.body)
    with pytest.raises(FeedError, match="byte limit"):
        read_source(str(big), max_bytes=10_000)


def test_slow_server_times_out(feed_server) -> None:  # type: ignore[no-untyped-def]
    feed_server.body, feed_server.delay = rss(), 2.0
    t0 = time.perf_counter()
    with pytest.raises(FeedError, match="no answer|cannot reach|failed"):
        fetch(feed_server.url, timeout=0.3)
    assert time.perf_counter() - t0 < 1.9


# --- links -----------------------------------------------------------------------------------

def test_is_web_url() -> None:
    for ok in ("https://blog.example.org/post/x", "HTTP://Example.org",
               "https://bücher.example/p?q=1#f", "http://127.0.0.1:8080/feed"):
        assert is_web_url(ok), ok
    for bad in (None, "", "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
                "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>",
                "file:///etc/passwd", "file://etc/passwd", "vbscript:x", "/post/relative",
                "//evil.example/x", "https:", "https://", "http:/evil.example",
                "https:\\\\evil.example", "https://[::1", "https://example.org/a\nb",
                "https://example.org/\x00", "ftp://example.org/f", "mailto:a@example.org"):
        assert not is_web_url(bad), bad


BAD_LINKS = {"js": "javascript:alert(document.cookie)", "data": "data:text/html;base64,PHNjcmlwdD4=",
             "file": "file:///etc/passwd", "case": "JaVaScRiPt:alert(1)",
             "tab": "java&#x09;script:alert(1)"}


@pytest.mark.parametrize("mode", ["approve", "draft"])
def test_links_that_are_no_web_address_never_reach_a_post(feed_server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          mode: str) -> None:
    cfg = project(tmp_path)
    feed = FeedConfig("blog", feed_server.url, "{title} {link}", mode=mode,
                      card={"template": "blog"})
    feed_server.body = rss()
    clock = FixedClock(T0)
    later = T0 + timedelta(minutes=5)
    img = '<enclosure url="file:///etc/passwd" length="0" type="image/png"/>'
    with Store.open(tmp_path / "s.sqlite") as store:
        poll_feed(cfg, store, feed, clock=clock)  # the subscription
        feed_server.body = rss(*(item(k, f"Post {k}", later, link=v) for k, v in BAD_LINKS.items()),
                               item("ok", "Fine", later, link="https://blog.example.org/post/fine",
                                    extra=img))
        clock.advance(600)
        r = poll_feed(cfg, store, feed, clock=clock)
        assert [p.id for p in r.posts] == ["feed/fine"]
        assert r.posts[0].link == "https://blog.example.org/post/fine"
        line = r.summary()  # what `feeds poll`, `tick` and `run` print
        assert "1 new (feed/fine)" in line and f"{len(BAD_LINKS)} refused: " in line
        assert "'javascript:alert(document.cookie)', which is not an http(s) web address" in line
        assert "'file://" in line and "'data:text/html;base64,PHNjcmlwdD4='" in line
        written = [p.parts[0].text for p in store.posts.stored()] + [
            f.read_text() for f in (tmp_path / "posts").rglob("*.md")]
        assert len(written) == 1
        assert not any(s in w.lower() for w in written for s in ("javascript:", "data:", "file:",
                                                                 "script:"))
        # a refused item is not recorded as handled: once its link is fixed, it is posted
        feed_server.body = rss(item("js", "Post js", later,
                                    link="https://blog.example.org/post/js-fixed"))
        clock.advance(600)
        assert [p.id for p in poll_feed(cfg, store, feed, clock=clock).posts] == ["feed/js-fixed"]
    # however an item reaches item_post, a post never carries such a link
    for link in BAD_LINKS.values():
        with pytest.raises(FeedError, match="not an http"):
            item_post(Item("guid:x", "X", link, "", None, None, ()), feed, "feed/x", at=None,
                      status="draft")


# --- polling --------------------------------------------------------------------------------

def test_poll_honours_etag_and_posts_each_new_item_once(feed_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = project(tmp_path)
    feed = FeedConfig("blog", feed_server.url, "{title} {link}", mode="approve")
    old = [item(f"old{i}", f"Old post {i}", T0 - timedelta(days=i + 1)) for i in range(3)]
    feed_server.body = rss(*old)
    clock = FixedClock(T0)
    with Store.open(tmp_path / "state.sqlite") as store:
        r1 = poll_feed(cfg, store, feed, clock=clock)
        assert r1.status == "ok" and r1.posts == [] and r1.skipped == 3  # no flood
        clock.advance(600)
        r2 = poll_feed(cfg, store, feed, clock=clock)
        assert r2.status == "not-modified" and feed_server.not_modified == 1
        assert feed_server.requests[-1]["if_none_match"] == feed_server.etag
        assert len(store.feeds.items("blog")) == 3  # the 304 did no work
        # one new item
        feed_server.body = rss(item("new1", "UPR: what the US was asked", T0 + timedelta(minutes=5)),
                               *old)
        clock.advance(600)
        r3 = poll_feed(cfg, store, feed, clock=clock)
        assert [p.id for p in r3.posts] == ["feed/new1"]
        stored = store.posts.stored()
        assert [p.id for p in stored] == ["feed/new1"]
        post = stored[0]
        assert post.status == "approved" and post.at == clock.now() and post.origin == "feed"
        assert post.parts[0].text == "UPR: what the US was asked https://blog.example.org/post/new1"
        # a server that ignores ETag changes nothing: dedup by guid
        feed_server.honour_etag = False
        clock.advance(600)
        r4 = poll_feed(cfg, store, feed, clock=clock)
        assert r4.status == "ok" and r4.posts == [] and len(store.posts.stored()) == 1


def test_backfill_tags_and_dedup_without_guid(feed_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = project(tmp_path)
    feed = FeedConfig("blog", feed_server.url, "{title}", mode="approve", backfill=2, tags=("UPR",))
    cat = "<category><![CDATA[upr]]></category>"
    feed_server.body = rss(
        item("a", "A", T0 - timedelta(days=1), extra=cat),
        item("b", "B", T0 - timedelta(days=2), extra=cat),
        item("c", "C", T0 - timedelta(days=3), extra=cat),
        item("d", "D untagged", T0 - timedelta(hours=1)),
    )
    clock = FixedClock(T0)
    with Store.open(tmp_path / "s.sqlite") as store:
        r = poll_feed(cfg, store, feed, clock=clock)
        # backfill picks the two newest, D and A; D is filtered out by the tag filter
        assert sorted(p.parts[0].text for p in r.posts) == ["A"]
        feed2 = FeedConfig("nolink", feed_server.url, "{title}", mode="approve")
        feed_server.body = rss(item(None, "Linked", T0 + timedelta(hours=1),
                                    link="https://blog.example.org/post/linked"))
        poll_feed(cfg, store, feed2, clock=clock)  # subscription at T0: the item is newer
        feed_server.body = rss(item(None, "Linked (title edited)", T0 + timedelta(hours=1),
                                    link="https://blog.example.org/post/linked"))
        clock.advance(3600)
        r2 = poll_feed(cfg, store, feed2, clock=clock)
        assert r2.posts == []  # same link: same item
        keys = [i["item_key"] for i in store.feeds.items("nolink")]
        assert keys == ["link:https://blog.example.org/post/linked"]


def test_draft_mode_writes_a_checkable_post_file_once(feed_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = project(tmp_path)
    feed = FeedConfig("blog", feed_server.url, "New on the blog: {title} {link}",
                      card={"template": "blog"})
    feed_server.body = rss()
    clock = FixedClock(T0)
    with Store.open(tmp_path / "s.sqlite") as store:
        poll_feed(cfg, store, feed, clock=clock)
        img = '<enclosure url="https://static.wixstatic.com/m/a.jpg/file.png" length="0" type="image/png"/>'
        feed_server.body = rss(item("x1", "Shadow report &#38; recommendations", T0 + timedelta(hours=1),
                                    link="https://blog.example.org/post/shadow-report", extra=img))
        clock.advance(3600)
        r = poll_feed(cfg, store, feed, clock=clock)
        assert r.files == ["posts/feed/shadow-report.md"]
        path = tmp_path / r.files[0]
        text = path.read_text()
        assert "status: draft" in text and "# feed-item: guid:x1" in text
        # a crash after writing but before recording: the retry keeps the one file
        store.db.execute("DELETE FROM feed_items WHERE item_key='guid:x1'")
        path.write_text(text + "edited by staff\n")
        feed_server.honour_etag = False
        clock.advance(3600)
        r2 = poll_feed(cfg, store, feed, clock=clock)
        assert [p.id for p in r2.posts] == ["feed/shadow-report"]
        assert sorted(p.name for p in path.parent.iterdir()) == ["shadow-report.md"]
        assert path.read_text().endswith("edited by staff\n")
        path.write_text(text)
    post, diags = parse_post_file(path, cfg)
    assert post is not None, diags
    assert [d for d in diags if d.severity == "error"] == []
    assert post.id == "feed/shadow-report" and post.status == "draft"
    assert post.parts[0].text == ("New on the blog: Shadow report & recommendations "
                                  "https://blog.example.org/post/shadow-report")
    assert post.card is not None and post.card.template == "blog"
    # the web image is not a card field (cards draw project files only); what is there, the
    # blog template accepts, so check finds nothing and the card renders
    assert dict(post.card.fields) == {"title": "Shadow report & recommendations",
                                      "url": "https://blog.example.org/post/shadow-report"}
    from uprbuzz.checks.card_fields import check_post

    assert check_post(post, cfg) == []


def test_card_defaults_only_fill_fields_the_template_has() -> None:
    it = Item("guid:1", "A title", "https://e.org/p", "Summary", None, "https://e.org/i.png", ())
    quote = FeedConfig("b", "https://e.org/f", card={"template": "quote", "quote": "{summary}"})
    post = item_post(it, quote, "feed/p", at=None, status="draft")
    assert post.card is not None and dict(post.card.fields) == {"quote": "Summary"}


def test_broken_feed_makes_no_posts_and_keeps_the_cursor(feed_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = project(tmp_path)
    feed = FeedConfig("blog", feed_server.url, mode="approve")
    feed_server.body = b"<rss><channel><item><title>oops"
    with Store.open(tmp_path / "s.sqlite") as store:
        r = poll_feed(cfg, store, feed, clock=FixedClock(T0))
        assert r.status == "error" and "not a usable" in (r.error or "")
        assert store.feeds.state("blog").etag is None  # type: ignore[union-attr]
        assert store.posts.stored() == [] and store.feeds.items("blog") == []


def test_feed_config_validation(tmp_path: Path) -> None:
    ok = Config(root=tmp_path, feeds=({"name": "blog", "url": "https://e.org/feed.xml",
                                       "card": "blog", "tags": "UPR", "interval": "1h"},))
    (f,) = feed_configs(ok)
    assert f.card == {"template": "blog"} and f.tags == ("UPR",) and f.mode == "draft"
    assert f.interval == timedelta(hours=1)
    for bad, words in [({"name": "b", "url": "https://e.org", "mdoe": "x"}, "did you mean 'mode'"),
                       ({"name": "b", "url": "ftp://e.org"}, "url"),
                       ({"name": "b", "url": "https://e.org", "mode": "auto"}, "mode"),
                       ({"name": "b", "url": "https://e.org", "timeout": 0}, "timeout")]:
        with pytest.raises(ConfigError, match=words):
            feed_configs(Config(root=tmp_path, feeds=(bad,)))


def test_preview_cli_touches_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from uprbuzz.cli import main

    (tmp_path / "uprbuzz.toml").write_text('[project]\ntimezone = "Europe/Zurich"\n')
    src = tmp_path / "feed.xml"
    src.write_bytes(rss(item("p1", "Preview me", T0)))
    res = CliRunner().invoke(main, ["-C", str(tmp_path), "feeds", "preview", str(src), "--json"])
    assert res.exit_code == 0, res.output
    assert '"text": "Preview me https://blog.example.org/post/p1"' in res.output
    assert not (tmp_path / ".uprbuzz").exists() and not (tmp_path / "posts").exists()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"not a feed at all")
    res = CliRunner().invoke(main, ["-C", str(tmp_path), "feeds", "preview", str(bad)])
    assert res.exit_code != 0 and "not" in res.output
