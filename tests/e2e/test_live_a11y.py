"""The live console for an operator under pressure, in Chromium against the sandbox (X stand-in
and local PDS): axe-core (WCAG 2.2 AA) finds nothing in every state, no horizontal scrolling on a
phone, a keyboard-only run (sync, mark, compose, post, fire a cue, post a card, retry) with the
focus kept across server updates, a failing channel in the health strip within 1 s and
announced, Retry sending once X is back, a posted card asking before a second, two pages sending
the same text at the same moment making one post, and the connection loss shown.

Screenshots of each state at 1440x900 and 390x844 are saved under the test's temp dir and listed
in the output, for a person to look at."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.live_helpers import chromium, make_live_project, start_console
from tests.fixtures.publish import pub_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AXE = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDE, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}
# Everything the page says to screen readers (its live regions), in order.
HEARD = """
window.__said = [];
new MutationObserver(() => {
  for (const id of ["announce", "alert-announce"]) {
    const el = document.getElementById(id), t = el && el.textContent;
    if (t && window.__said[window.__said.length - 1] !== t) window.__said.push(t);
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
RUN_AXE = """async (tags) => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
}"""


@pytest.fixture
def browser():
    if not AXE.is_file():
        pytest.skip("axe-core is not installed (scripts/setup --browser: npm ci in tools/axe)")
    with chromium() as b:
        yield b


class Shots:
    def __init__(self, where: Path) -> None:
        self.where, self.saved = where, []
        where.mkdir(parents=True, exist_ok=True)

    def take(self, page, state: str) -> None:
        size = page.viewport_size
        for vp in (WIDE, PHONE):
            page.set_viewport_size(vp)
            page.evaluate("() => window.scrollTo(0, 0)")  # sticky header and banner at the top
            page.wait_for_timeout(100)
            path = self.where / f"{len(self.saved) // 2 + 1:02d}-{state}-{vp['width']}x{vp['height']}.png"
            page.screenshot(path=str(path), full_page=True)
            self.saved.append(path)
        page.set_viewport_size(size)


def axe_clean(page, state: str) -> None:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, TAGS)
    assert found == [], f"axe-core in state {state!r}:\n{json.dumps(found, indent=1)}"


def no_sideways_scroll(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844})
    page.wait_for_timeout(150)
    over = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert over <= 0, f"horizontal scrolling at {width} px: {over} px too wide"


def focus_key(page) -> str | None:
    return page.evaluate("() => document.activeElement && document.activeElement.dataset.focus || null")


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_console_for_an_operator_under_pressure(tmp_path, xapi, bsky_config, pds, browser, capsys):
    root = make_live_project(tmp_path / "proj")
    con = start_console(root, pub_env(xapi, bsky_config))
    shots = Shots(Path(os.environ.get("UPRBUZZ_SCREENSHOTS") or tmp_path / "screens"))
    try:
        ctx = browser.new_context(viewport=WIDE, bypass_csp=True)  # axe is injected inline
        page = ctx.new_page()
        page.add_init_script(HEARD)
        page.goto(con.url)
        page.wait_for_selector("#conn.on")
        page.wait_for_function("() => document.querySelectorAll('#health-list li').length === 2")
        axe_clean(page, "start")
        shots.take(page, "start")

        # --- keyboard only: name, sync, mark, compose, post --------------------------------------
        page.keyboard.press("Alt+s")
        assert page.evaluate("() => document.activeElement.id") == "sync-input"
        page.keyboard.type("99:99")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('compose-error').textContent.includes('59')")
        page.fill("#sync-input", "")
        page.keyboard.type("00:30:10")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('clock').textContent.startsWith('00:30:')")
        assert page.inner_text("#now-speaker") == "Slovakia"
        axe_clean(page, "synced")
        shots.take(page, "synced")
        page.keyboard.press("Alt+m")
        assert page.evaluate("() => document.activeElement.id") == "mark-select"
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "mark-btn"
        page.keyboard.press("Enter")  # Mark: Slovakia is speaking now
        page.keyboard.press("Alt+c")
        assert page.evaluate("() => document.activeElement.id") == "composer"
        page.keyboard.press("Control+a")
        page.keyboard.type("Slovakia opens the dialogue: abolish the death penalty. #UPR36")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#log li.post[data-n='1']")
        page.wait_for_function("() => document.querySelector('#log li.post[data-n=\"1\"]').dataset.state === 'sent'",
                               timeout=60_000)
        page.wait_for_function("() => window.__said.some(t => t.startsWith('Posted #'))")
        axe_clean(page, "after posting")
        shots.take(page, "after-posting")

        # --- a cue due, fired from the keyboard --------------------------------------------------
        page.wait_for_selector("#cues tr.due, #cues tr.overdue")
        assert "DUE" in page.inner_text("#cues tbody") or "OVERDUE" in page.inner_text("#cues tbody")
        axe_clean(page, "cue due")
        shots.take(page, "cue-due")
        page.keyboard.press("Alt+n")
        fire = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        assert fire.startswith("Fire cue: ")
        page.keyboard.press("Enter")
        page.wait_for_selector("#log li.post.cue")

        # --- a recommendation card from the keyboard; a second one asks first --------------------
        tab_to(page, "#recs button.rec-card")
        label = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        assert label.startswith("Post card ")
        page.keyboard.press("Enter")
        page.wait_for_selector("#log li.post.card")
        page.wait_for_function("() => document.querySelector('#recs button.rec-card').textContent === 'Card ✓'")
        cards = lambda: [p for p in con.state()["posts"] if p["kind"] == "card"]  # noqa: E731
        assert len(cards()) == 1
        page.keyboard.press("Enter")  # again: it asks
        page.wait_for_function("() => document.querySelector('#recs button.rec-card').textContent === 'Post again?'")
        page.wait_for_timeout(500)
        assert len(cards()) == 1

        # --- the template open -------------------------------------------------------------------
        tab_to(page, "#template-box summary")
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.getElementById('template-box').open")
        axe_clean(page, "template open")
        shots.take(page, "template-open")
        page.keyboard.press("Enter")  # closes it again

        # --- X made to fail: the health strip says so within 1 s, announced ---------------------
        xapi.server.set_faults(error_rate=1.0)
        page.keyboard.press("Alt+c")
        page.keyboard.press("Control+a")
        page.keyboard.type("Slovenia asks about immigration detention. #UPR36")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#log li.post[data-n='4']")
        t0 = time.monotonic()
        page.wait_for_selector("#health li[data-channel='x'].retrying, #health li[data-channel='x'].failing",
                               timeout=5_000)
        assert time.monotonic() - t0 < 1.0, "the failing channel took over 1 s to show"
        health = page.inner_text("#health li[data-channel='x']")
        assert "X" in health and "Error" not in health and "Pool" not in health, health
        page.wait_for_function("() => window.__said.some(t => t.startsWith('X '))")
        assert page.get_attribute("#announce", "aria-live") == "polite"
        axe_clean(page, "a channel failing")
        shots.take(page, "x-failing")

        # Focus stays on the Retry button across server updates (another operator syncs).
        page.keyboard.press("Alt+r")
        key = focus_key(page)
        assert key and key.startswith("retry")
        con.api("sync", {"shown": "00:31:00"})
        page.wait_for_function("() => document.getElementById('clock').textContent.startsWith('00:31:')")
        assert focus_key(page) == key
        # X is back: Retry sends.
        xapi.server.set_faults(error_rate=0.0)
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('#log li.post[data-n=\"4\"]').dataset.state === 'sent'",
                               timeout=60_000)
        page.wait_for_selector("#health li[data-channel='x'].sent", timeout=30_000)

        # --- phone widths: one column, no sideways scrolling, still clean ------------------------
        page.set_viewport_size(PHONE)
        axe_clean(page, "phone width")
        no_sideways_scroll(page, 390)
        no_sideways_scroll(page, 320)
        page.set_viewport_size(WIDE)

        # --- two pages send the same text at the same moment: one post per channel --------------
        other = ctx.new_page()
        other.goto(con.url)
        other.wait_for_selector("#conn.on")
        same = "Both operators typed this at once. #UPR36"
        for p in (page, other):
            p.fill("#composer", same)
        for p in (page, other):
            p.evaluate("() => setTimeout(() => document.getElementById('post-btn').click(), 400)")
        page.wait_for_function("t => [...document.querySelectorAll('#log .text')].some(e => e.textContent === t)",
                               arg=same)
        page.wait_for_timeout(1500)
        assert [p["text"] for p in con.state()["posts"]].count(same) == 1
        asked = [p for p in (page, other) if p.is_visible("#confirm-box")]
        assert len(asked) == 1 and "The same text went out" in asked[0].inner_text("#compose-error")
        other.close()

        # --- retract a live post from the log: asked first, gone on every channel -------------
        retract = "#log li.post[data-n='1'] button.retract"
        page.click(retract)
        page.wait_for_function("s => document.querySelector(s).textContent === 'Confirm: retract'",
                               arg=retract)
        assert page.evaluate("() => document.activeElement.dataset.focus") == "retract:1"
        page.keyboard.press("Enter")
        page.wait_for_selector("#log li.post[data-n='1'][data-state='retracted']", timeout=30_000)
        assert not any("abolish the death penalty. #UPR36" in t["text"]
                       for t in xapi.server.store.user_tweets(xapi.account.user_id))
        axe_clean(page, "a post retracted")

        # --- the console goes away: impossible to miss -------------------------------------------
        con.stop()
        page.wait_for_selector("#conn-banner", state="visible", timeout=15_000)
        assert page.title().startswith("DISCONNECTED · ")
        page.wait_for_function("() => window.__said.some(t => t.startsWith('Connection to the console lost'))")
        shots.take(page, "connection-lost")
    finally:
        con.stop()
        with capsys.disabled():
            print("\nscreenshots for a person to look at:")
            for p in shots.saved:
                print("  ", p)
