"""The toolkit in Debian's Chromium with networking off: it opens from the file system, every
image loads, copy buttons copy, axe-core finds nothing, and without JavaScript everything but
the copy buttons is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.live_helpers import chromium
from tests.toolkit.helpers import build_sample

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("card_fonts")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    return build_sample(tmp_path_factory.mktemp("toolkit-browser"), arabic=True)


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _offline(browser, **kw):
    ctx = browser.new_context(**kw)
    ctx.set_offline(True)
    return ctx


def _open(ctx, path: Path):
    page = ctx.new_page()
    requests: list[str] = []
    failed: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, failed


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
def test_offline_page_loads_everything_and_passes_axe(site, browser, lang: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    config, built = site
    ctx = _offline(browser)
    try:
        page, requests, failed = _open(ctx, built.pages[lang])
        assert page.evaluate("() => document.documentElement.lang") == lang
        assert not failed, failed
        assert requests and all(u.startswith("file://") for u in requests), requests
        # the stylesheet applied, every image decoded, each with its alt text
        assert page.evaluate("() => getComputedStyle(document.body).maxWidth") != "none"
        images = page.evaluate("""() => Array.from(document.images).map(i => (
            {ok: i.complete && i.naturalWidth > 0, alt: i.alt}))""")
        assert images if lang != "es" else True
        assert all(i["ok"] and i["alt"].strip() for i in images), images
        # nothing runs off the side (a skip link parked at left: -999px pushed an RTL page away)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        first = page.locator("h1").bounding_box()
        assert first and 0 <= first["x"] < page.viewport_size["width"]
        results = Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
    finally:
        ctx.close()


def test_copy_buttons_copy(site, browser) -> None:
    config, built = site
    ctx = _offline(browser)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        page, _, _ = _open(ctx, built.pages["en"])
        buttons = page.locator("button.copy")
        assert buttons.count() > 40
        for i in (0, 5):
            btn = buttons.nth(i)
            assert btn.is_visible()
            target = btn.get_attribute("data-copy")
            want = page.input_value(f"#{target}")
            btn.click()
            page.wait_for_function("b => b.getAttribute('data-copied') === '1'",
                                   arg=btn.element_handle())
            assert page.evaluate("() => navigator.clipboard.readText()") == want
            assert page.locator(f"#{target} ~ .copied").inner_text() == "Copied"
        # the Mastodon form for one's own server appears with the script
        assert page.locator("form.mastodon-other").first.is_visible()
    finally:
        ctx.close()


def test_without_javascript_all_but_the_copy_buttons_work(site, browser) -> None:
    config, built = site
    ctx = _offline(browser, java_script_enabled=False)
    try:
        page, _, failed = _open(ctx, built.pages["es"])
        assert not failed
        assert page.locator("button.copy").count() > 0
        assert not page.locator("button.copy").first.is_visible()
        assert page.locator("textarea").first.is_visible()
        shares = page.locator("a[data-platform]")
        assert shares.count() >= 6 and shares.first.is_visible()
        assert page.locator("a[data-platform='mastodon']").first.is_visible()
        assert page.locator("a[href='calendar.ics']").is_visible()
        assert page.locator("table.times").first.is_visible()
    finally:
        ctx.close()


def test_the_home_page_lists_the_languages_and_passes_axe(site, browser) -> None:
    from axe_playwright_python.sync_playwright import Axe

    config, built = site
    ctx = _offline(browser)
    try:
        page, requests, failed = _open(ctx, built.out / "index.html")
        assert not failed and all(u.startswith("file://") for u in requests)
        links = page.locator("ul.langs a")
        assert links.count() == 3
        links.nth(0).click()
        page.wait_for_load_state("load")
        assert page.evaluate("() => document.documentElement.dir") == "rtl"
        page.go_back()
        results = Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
    finally:
        ctx.close()
