"""The live console in Debian's Chromium (headless, Playwright) against a real `uprbuzz live`
process, the X stand-in and the local PDS: sync, three live posts and a recommendation card,
threaded on both platforms (read back from the servers), and the same state after a reload."""

from __future__ import annotations

import re

import pytest

from tests.e2e.live_helpers import (
    CSP_WATCH,
    bsky_posts,
    chromium,
    make_live_project,
    start_console,
)
from tests.fixtures.publish import pub_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TEXTS = [
    "Slovakia opens the dialogue: abolish the death penalty federally. #UPR36",
    "Slovakia also asks the US to ratify the Convention on the Rights of the Child. #UPR36",
    "Next up: Slovenia. Follow the thread for every State's 55 seconds. #USUPR",
]

SLOW_POST_ANSWERS = """
const realFetch = window.fetch;
window.fetch = async (url, opts) => {
  const answer = await realFetch(url, opts);
  if (String(url).endsWith("/api/post")) await new Promise(r => setTimeout(r, 300));
  return answer;
};
"""


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def test_console_in_a_browser(tmp_path, xapi, bsky_config, pds, browser):
    root = make_live_project(tmp_path / "proj")
    con = start_console(root, pub_env(xapi, bsky_config))
    try:
        page = browser.new_page()
        # The SSE push of a new post can reach the page before the answer to its POST does (it
        # did on a loaded CI machine): hold every answer back so the operator always types the
        # next update while the previous one is still in flight.
        page.add_init_script(SLOW_POST_ANSWERS)
        page.add_init_script(CSP_WATCH)
        resp = page.goto(con.url)
        assert page.url == f"{con.base}/"  # the token went into a cookie, out of the URL
        assert "unsafe-inline" not in resp.headers["content-security-policy"]
        # Predicates are functions, not expressions: Playwright evals a string expression inside
        # the page, which the console's Content-Security-Policy (no unsafe-eval) forbids.
        page.wait_for_function("() => document.getElementById('clock').textContent !== '--:--:--'")
        page.wait_for_selector("#conn.on")

        # Sync the clock in one action: the webcast shows 00:30:10 (Slovakia speaking).
        page.fill("#sync-input", "00:30:10")
        page.click("#sync-btn")
        page.wait_for_function(
            "() => document.getElementById('clock').textContent.startsWith('00:30:')")
        assert page.inner_text("#now-speaker") == "Slovakia"
        assert page.inner_text("#next-speaker").startswith("Slovenia")
        assert page.input_value("#composer").startswith("Slovakia: ")  # prefilled

        # Three live updates, each with Ctrl+Enter; the counters follow the text.
        for i, text in enumerate(TEXTS, start=1):
            page.fill("#composer", text)
            page.wait_for_timeout(400)  # the previous post's answer lands now: the draft stays
            assert page.input_value("#composer") == text
            page.wait_for_function(
                "t => document.getElementById('count-x').textContent === 'X ' + t + '/280'",
                arg=len(text))
            page.press("#composer", "Control+Enter")
            page.wait_for_selector(f"#log li.post[data-n='{i}']")
        # One click: a recommendation card for the current speaker, with the broadcast offset.
        page.wait_for_selector("#recs button.rec-card")
        page.dblclick("#recs button.rec-card >> nth=0")  # a double click is still one card
        page.wait_for_selector("#log li.post.card")
        # The button is marked posted; a further click asks before a second card (no post).
        page.wait_for_function("() => document.querySelector('#recs button.rec-card').textContent === 'Card ✓'")
        page.click("#recs button.rec-card >> nth=0")
        page.wait_for_function("() => document.querySelector('#recs button.rec-card').textContent === 'Post again?'")

        page.wait_for_function(
            "() => document.querySelectorAll('#log li.post[data-state=\"sent\"]').length === 5",
            timeout=90_000)
        assert page.locator("#log li.post").count() == 5
        before = page.inner_text("#log")
        x_links = page.eval_on_selector_all("a.link-x", "els => els.map(e => e.href)")
        assert len(x_links) == 5

        # Read back from the X stand-in: one conversation, each post replying to the previous.
        tweets = list(reversed(xapi.server.store.user_tweets(xapi.account.user_id)))
        assert len(tweets) == 5
        anchor = tweets[0]
        assert anchor["in_reply_to_tweet_id"] is None and "LIVE from Geneva" in anchor["text"]
        for prev, t in zip(tweets, tweets[1:], strict=False):
            assert t["in_reply_to_tweet_id"] == prev["id"]
            assert t["conversation_id"] == anchor["id"]
        assert [t["text"] for t in tweets[1:4]] == TEXTS
        assert len(tweets[4]["media_ids"]) == 1 and "Slovakia recommends" in tweets[4]["text"]
        assert any(t["id"] in link for link in x_links for t in tweets)

        # Read back from the PDS: the same thread, rooted at the anchor.
        recs = bsky_posts(pds.url, bsky_config.handle)
        assert len(recs) == 5
        root_uri = recs[0]["uri"]
        assert "reply" not in recs[0]["value"]
        for prev, r in zip(recs, recs[1:], strict=False):
            assert r["value"]["reply"]["root"]["uri"] == root_uri
            assert r["value"]["reply"]["parent"]["uri"] == prev["uri"]
        assert [r["value"]["text"] for r in recs[1:4]] == TEXTS
        assert recs[4]["value"]["embed"]["$type"] == "app.bsky.embed.images"
        assert recs[4]["value"]["embed"]["images"][0]["alt"]

        # The recap carries the broadcast offsets.
        state = con.state()
        card = [p for p in state["posts"] if p["kind"] == "card"][0]
        assert re.fullmatch(r"00:3\d:\d\d", card["card"]["fields"]["timestamp"])
        assert card["speaker"] == "Slovakia"

        # Reload: the same state comes back (log, links, clock sync).
        page.reload()
        page.wait_for_function(
            "() => document.querySelectorAll('#log li.post[data-state=\"sent\"]').length === 5")
        assert page.inner_text("#log") == before
        # The clock kept its sync; the speaker shown is the one due at the clock shown (however
        # long a loaded machine took to get here).
        clock, speaker = page.evaluate(
            "[document.getElementById('clock').textContent,"
            " document.getElementById('now-speaker').textContent]")
        shown = sum(int(x) * m for x, m in zip(clock.split(":"), (3600, 60, 1), strict=False))
        now = con.state()
        assert abs(shown - now["clock"]["offset"]) < 3
        due = {e["name"] for e in now["timeline"]
               for t in (shown, shown + 1) if e["start"] <= t < e["end"]}
        assert speaker in due

        # A second operator's page sees a change pushed, without reloading.
        other = browser.new_page()
        other.goto(con.url)
        other.wait_for_selector("#conn.on")
        page.fill("#sync-input", "00:31:15")
        page.click("#sync-btn")
        other.wait_for_function(
            "() => document.getElementById('clock').textContent.startsWith('00:31:')")
        assert other.inner_text("#now-speaker") == "Slovenia"
        # The console itself never trips its Content-Security-Policy.
        other.add_init_script(CSP_WATCH)
        other.reload()
        other.wait_for_selector("#log li.post.card")
        for p in (page, other):
            assert p.evaluate("() => window.__cspViolations") == []
    finally:
        con.stop()
