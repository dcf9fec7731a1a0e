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
TEXT_B = "Slovakia also asks the US to ratify the Convention on the Rights of the Child. #UPR36"
CUE = "watch-live"

# Each page notes when each post first shows in its log (the browser's wall clock: both pages
# run in one Chromium on one machine, so the times compare).
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
        for page in (pa, pb):
            page.add_init_script(SEEN)
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

        # The anchor first (A's button), sent from A: both pages show it sent. This also warms
        # each console up (the first post's imports and logins), so that what is timed below is
        # what an operator sees all day.
        pa.click("#anchor-btn")
        sent0 = "() => document.querySelector(\"#log li.post[data-n='0'][data-state='sent']\")"
        for page in (pa, pb):
            page.wait_for_function(sent0, timeout=60_000)

        # A post typed on one page shows on the other console's page within 1 s, both ways.
        for n, (src, dst, text) in enumerate(((pa, pb, TEXT), (pb, pa, TEXT_B)), start=1):
            src.fill("#composer", text)
            typed = src.evaluate("() => Date.now()")
            src.press("#composer", "Control+Enter")
            dst.wait_for_selector(f"#log li.post[data-n='{n}']", timeout=5_000)
            src.wait_for_selector(f"#log li.post[data-n='{n}']", timeout=5_000)
            there = (dst.evaluate(f"() => window.__seen['{n}']") - typed) / 1000
            here = (src.evaluate(f"() => window.__seen['{n}']") - typed) / 1000
            print(f"post #{n}: typed, shown on its own console's page after {here:.3f} s, "
                  f"on the other console's page after {there:.3f} s")
            # Within 1 s of the key press; on a loaded machine the console's own handling of
            # the post may be the slow part, so what crosses machines is measured from when the
            # typing page itself showed it.
            assert there < 1.0 or there - here < 1.0, (
                f"the other console's page showed post #{n} after {there:.3f} s "
                f"({there - here:.3f} s after its own page)")
            assert text in dst.inner_text(f"#log li.post[data-n='{n}']")

        # The same cue fired from both pages at the same moment: one post, once per channel.
        fire = f"() => document.querySelector('#cues .cue-fire[data-focus=\"fire:{CUE}\"]')"
        for page in (pa, pb):
            page.wait_for_function(fire)
        click = ("() => document.querySelector('#cues .cue-fire[data-focus=\"fire:"
                 + CUE + "\"]').click()")
        pa.evaluate(click)
        pb.evaluate(click)
        all_sent = ("() => { const li = document.querySelectorAll('#log li.post');"
                    " return li.length === 4 && [...li].every(e => e.dataset.state === 'sent'); }")
        for page in (pa, pb):
            page.wait_for_function(all_sent, timeout=60_000)
        assert pa.inner_text("#log") == pb.inner_text("#log")

        # Read back from the servers: the anchor, the two typed posts and the cue, each once.
        deadline = time.monotonic() + 5  # nothing more may arrive late
        while time.monotonic() < deadline:
            time.sleep(0.5)
        tweets = xapi.server.store.user_tweets(xapi.account.user_id)
        recs = bsky_posts(pds.url, bsky_config.handle)
        for got in ([t["text"] for t in tweets], [r["value"]["text"] for r in recs]):
            assert len(got) == 4, got
            assert sum(TEXT in t for t in got) == sum(TEXT_B in t for t in got) == 1
            assert sum(t.startswith("Starting now: the UPR") for t in got) == 1
        state_a, state_b = a.state(), b.state()
        assert [p["n"] for p in state_a["posts"]] == [p["n"] for p in state_b["posts"]] == [0, 1, 2, 3]
        cue = next(c for c in state_b["cues"] if c["id"] == CUE)
        assert cue["state"] == "fired"
    finally:
        a.stop()
        b.stop()
