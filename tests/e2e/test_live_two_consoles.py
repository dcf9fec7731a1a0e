"""Two `uprbuzz live` processes ("two machines": two project copies) on one session and one
PostgreSQL ledger, a Chromium page on each: what one operator does reaches the other page
within 1 s (LISTEN/NOTIFY between the consoles), and the same cue fired from both pages at the
same moment goes out once per channel (counted on the X stand-in and the PDS)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.live_helpers import bsky_posts, chromium, make_live_project, start_console
from tests.fixtures.publish import pub_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TEXT = "Slovakia opens the dialogue: abolish the death penalty federally. #UPR36"
CUE = "watch-live"

# Page B notes when each post first shows in its log (the browser's wall clock, which page A
# shares: both pages run in one Chromium on one machine).
SEEN = """
window.__seen = {};
new MutationObserver(() => {
  for (const li of document.querySelectorAll("#log li.post[data-n]")) {
    if (!(li.dataset.n in window.__seen)) window.__seen[li.dataset.n] = Date.now();
  }
}).observe(document, {subtree: true, childList: true});
"""


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def test_two_consoles_share_one_session(tmp_path, xapi, bsky_config, pds, pg_url, browser):
    env = {**pub_env(xapi, bsky_config), "UPRBUZZ_STATE": pg_url}
    a = start_console(make_live_project(tmp_path / "machine-a"), env)
    b = start_console(make_live_project(tmp_path / "machine-b"), env)
    try:
        pa, pb = browser.new_page(), browser.new_page()
        pa.add_init_script(SEEN)
        pb.add_init_script(SEEN)
        for page, con in ((pa, a), (pb, b)):
            page.goto(con.url)
            page.wait_for_selector("#conn.on")
            page.wait_for_function(
                "() => document.getElementById('clock').textContent !== '--:--:--'")

        # A sync on A moves B's clock (and its speaker) too.
        pa.fill("#sync-input", "00:30:10")
        pa.click("#sync-btn")
        pb.wait_for_function(
            "() => document.getElementById('clock').textContent.startsWith('00:30:')",
            timeout=1_000)
        assert pb.inner_text("#now-speaker") == "Slovakia"

        # A post typed on A shows on B within 1 s (and so does every status change after it).
        pa.fill("#composer", TEXT)
        typed = pa.evaluate("() => Date.now()")
        pa.press("#composer", "Control+Enter")
        pa.wait_for_selector("#log li.post[data-n='1']")
        pb.wait_for_selector("#log li.post[data-n='1']", timeout=2_000)
        seen = pb.evaluate("() => window.__seen['1']")
        took = (seen - typed) / 1000
        on_a = (pa.evaluate("() => window.__seen['1']") - typed) / 1000
        print(f"post typed on A: shown on A after {on_a:.3f} s, on B after {took:.3f} s")
        assert took < 1.0, f"B showed A's post after {took:.3f} s"
        assert TEXT in pb.inner_text("#log li.post[data-n='1']")

        # The same cue fired from both pages at the same moment: one post, once per channel.
        fire = f"() => document.querySelector('#cues .cue-fire[data-focus=\"fire:{CUE}\"]')"
        for page in (pa, pb):
            page.wait_for_function(fire)
        click = ("() => document.querySelector('#cues .cue-fire[data-focus=\"fire:"
                 + CUE + "\"]').click()")
        pa.evaluate(click)
        pb.evaluate(click)
        all_sent = ("() => { const li = document.querySelectorAll('#log li.post');"
                    " return li.length === 3 && [...li].every(e => e.dataset.state === 'sent'); }")
        for page in (pa, pb):
            page.wait_for_function(all_sent, timeout=60_000)
        assert pa.inner_text("#log") == pb.inner_text("#log")

        # Read back from the servers: the anchor, the typed post and the cue, each once.
        deadline = time.monotonic() + 5  # nothing more may arrive late
        while time.monotonic() < deadline:
            time.sleep(0.5)
        tweets = xapi.server.store.user_tweets(xapi.account.user_id)
        recs = bsky_posts(pds.url, bsky_config.handle)
        for got in ([t["text"] for t in tweets], [r["value"]["text"] for r in recs]):
            assert len(got) == 3, got
            assert sum(TEXT in t for t in got) == 1
            assert sum(t.startswith("Starting now: the UPR") for t in got) == 1
        state_a, state_b = a.state(), b.state()
        assert [p["n"] for p in state_a["posts"]] == [p["n"] for p in state_b["posts"]] == [0, 1, 2]
        cue = next(c for c in state_b["cues"] if c["id"] == CUE)
        assert cue["state"] == "fired"
    finally:
        a.stop()
        b.stop()
