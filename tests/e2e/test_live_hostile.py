"""Hostile input against a real `uprbuzz live` process on 127.0.0.1.

In Debian's Chromium: a session whose cue id, speaker name, template, title, recommendation
and post texts carry ``"><img src=x onerror=…>`` and ``" onmouseover=…`` runs no script, once
with the Content-Security-Policy switched off (the escaping alone must hold) and once with it on
(the console never trips its own policy; injected inline script is blocked), and the page still
works: the hostile cue fires by its id, a hostile post goes into the log verbatim, and the
posting limit shows its message. Over HTTP: the security headers on every answer, a foreign
``Host`` refused even with the token, and 5 MB bodies refused with 413 without the server's
memory growing.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.live_helpers import (
    CSP_WATCH,
    SAMPLE,
    chromium,
    rss_kb,
    start_console,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def payload(field: str) -> str:
    """Breaks out of an attribute (``" onmouseover=…``) and out of an element (``"><img …>``);
    either one, if it ever became markup, records ``field`` in window.__pwned and alerts."""
    run = f"window.__pwned=(window.__pwned||[]).concat('{field}');alert('{field}')"
    return f'" onmouseover="{run}" data-x=" "><img src=x onerror="{run}"><b x="'


TITLE = "UPR " + payload("title") + "</title><script>window.__pwned=['title']</script>"
SPEAKER = "Ruritania" + payload("speaker")
CUE_ID = "c1" + payload("cue-id")
CUE_TEXT = "Hostile cue " + payload("cue-text")
TEMPLATE = "{speaker} says" + payload("template") + " {cursor}"
TEMPLATE2 = "{speaker} " + payload("template2") + " {cursor}"
POST = "Post " + payload("post")
REC_PARA = "26." + payload("paragraph")
REC_TEXT = "Recommendation " + payload("recommendation")

FIELD_NAMES = ["title", "speaker", "cue-id", "cue-text", "template", "template2", "post",
               "paragraph", "recommendation"]

# Every element gets the events an operator's mouse would give it.
HOVER_EVERYTHING = """() => {
  for (const el of document.querySelectorAll("*")) {
    for (const type of ["mouseover", "mouseenter", "mousemove", "focus"]) {
      el.dispatchEvent(new MouseEvent(type, {bubbles: true}));
    }
  }
}"""
# What a successful injection would have left behind.
INJECTED = """() => ({
  pwned: window.__pwned || null,
  imgs: document.querySelectorAll("img").length,
  handlers: [...document.querySelectorAll("*")].flatMap(
    (el) => [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => el.tagName + "." + a.name)),
  strays: document.querySelectorAll("[data-x], b[x]").length,
})"""
CLEAN = {"pwned": None, "imgs": 0, "handlers": [], "strays": 0}


def toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a TOML basic string


def hostile_project(root: Path) -> Path:
    """The sample session with payloads in its title, first speaker, template, a cue's id and
    text, and an inline recommendation for that speaker."""
    text = SAMPLE.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^title = ".*"$', "title = " + toml_str(TITLE), text, count=1)
    text = re.sub(r'(?m)^template = ".*"$', "template = " + toml_str(TEMPLATE), text, count=1)
    text = text.replace("speakers = [\n", f"speakers = [\n  {toml_str(SPEAKER)},\n", 1)
    rec = (f"recommendations = [{{ paragraph = {toml_str(REC_PARA)}, "
           f"states = [{toml_str(SPEAKER)}], text = {toml_str(REC_TEXT)} }}]")
    text = text.replace("# Optional: recommendations = ", rec + "\n# recommendations = ", 1)
    text += (f"\n[[session.cues]]\nid = {toml_str(CUE_ID)}\nspeaker = {toml_str(SPEAKER)}\n"
             f"text = {toml_str(CUE_TEXT)}\n")
    for part in (TITLE, TEMPLATE, SPEAKER, REC_TEXT):
        assert toml_str(part) in text, f"the sample session changed shape: no {part[:20]!r}"
    (root / "schedules").mkdir(parents=True)
    (root / "uprbuzz.toml").write_text('[project]\nname = "live-hostile"\ntimezone = "UTC"\n',
                                       encoding="utf-8")
    (root / "schedules" / "hostile.toml").write_text(text, encoding="utf-8")
    return root


def hms(s: float) -> str:
    s = int(s)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def wait_shown(page, con, selector: str) -> None:
    """Wait for ``selector``; on a timeout, say what the page and the console had."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(selector)
    except PlaywrightTimeout:
        raise AssertionError(
            f"{selector} never shown; page error: {page.inner_text('#compose-error')!r}; "
            f"connection: {page.inner_text('#conn')!r}; log: {page.inner_html('#log')[:2000]}; "
            f"console posts: {[(p['n'], p['kind'], p['state']) for p in con.state()['posts']]}"
        ) from None


def open_page(browser, url: str, *, bypass_csp: bool):
    ctx = browser.new_context(bypass_csp=bypass_csp)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(CSP_WATCH)
    resp = page.goto(url)
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page.wait_for_selector("#conn.on")
    return ctx, page, dialogs


def test_hostile_session_and_posts_run_no_script(tmp_path, browser):
    root = hostile_project(tmp_path / "proj")
    con = start_console(root, {}, session="hostile", args=["--post-rate", "2"])
    try:
        # --- the escaping alone (CSP bypassed): nothing becomes markup -------------------------
        ctx, page, dialogs = open_page(browser, con.url, bypass_csp=True)
        assert page.title().startswith(TITLE)
        assert page.inner_text("#title") == TITLE
        start = next(e["start"] for e in con.state()["timeline"] if e["name"] == SPEAKER)
        page.fill("#sync-input", hms(start + 5))
        page.click("#sync-btn")
        page.wait_for_function("s => document.getElementById('now-speaker').textContent === s",
                               arg=SPEAKER)
        # The template is filled in for the hostile speaker, as plain text.
        assert page.input_value("#composer") == TEMPLATE.replace(
            "{speaker}", SPEAKER).replace("{cursor}", "")
        assert page.input_value("#template-input") == TEMPLATE
        options = page.eval_on_selector_all("#mark-select option", "os => os.map(o => o.text)")
        assert SPEAKER in options
        wait_shown(page, con, "#recs li")
        assert page.inner_text("#recs li b") == REC_PARA
        assert REC_TEXT in page.inner_text("#recs li")
        ids = page.eval_on_selector_all("#cues tr", "trs => trs.map(tr => tr.dataset.id)")
        assert CUE_ID in ids
        row = page.locator("#cues tr", has_text="Hostile cue")
        assert row.get_attribute("data-id") == CUE_ID
        assert f"when {SPEAKER} starts" in row.inner_text() and CUE_TEXT in row.inner_text()
        page.evaluate(HOVER_EVERYTHING)
        assert page.evaluate(INJECTED) == CLEAN

        # The page still works: the hostile cue fires by its id, a hostile post is logged
        # verbatim, a hostile template is saved and used.
        row.locator("button.cue-fire").click()
        wait_shown(page, con, "#log li.post.cue")
        assert page.inner_text("#log li.post.cue .text") == CUE_TEXT
        assert SPEAKER in page.inner_text("#log li.post.cue .meta")
        page.fill("#composer", POST)
        page.press("#composer", "Control+Enter")
        wait_shown(page, con, "#log li.post.text")
        assert page.inner_text("#log li.post.text .text") == POST
        page.click("#template-box summary")
        page.fill("#template-input", TEMPLATE2)
        page.click("#template-save")
        page.wait_for_function(
            "t => document.getElementById('composer').value.startsWith(t)",
            arg=TEMPLATE2.replace("{speaker}", SPEAKER).split(" {cursor}")[0])
        assert con.state()["template"] == TEMPLATE2
        # A third post in the minute (--post-rate 2): refused with a message; the draft stays.
        page.fill("#composer", "One post too many")
        page.press("#composer", "Control+Enter")
        page.wait_for_function("() => document.getElementById('compose-error').textContent")
        assert page.inner_text("#compose-error").startswith(
            "Too many posts: at most 2 a minute per operator. Try again in ")
        assert page.input_value("#composer") == "One post too many"
        assert [p["kind"] for p in con.state()["posts"]] == ["anchor", "cue", "text"]

        page.reload()
        wait_shown(page, con, "#log li.post.text")
        page.evaluate(HOVER_EVERYTHING)
        assert page.evaluate(INJECTED) == CLEAN
        assert dialogs == []
        ctx.close()

        # --- with the Content-Security-Policy on: the page works and trips nothing ------------
        ctx, page, dialogs = open_page(browser, con.url, bypass_csp=False)
        wait_shown(page, con, "#log li.post.text")
        assert page.inner_text("#log li.post.text .text") == POST
        page.evaluate(HOVER_EVERYTHING)
        assert page.evaluate(INJECTED) == CLEAN
        assert page.evaluate("() => window.__cspViolations") == []
        # The policy is enforced: inline script injected anyway does not run (and is reported).
        page.evaluate("""() => {
          const s = document.createElement("script");
          s.textContent = "window.__pwned = ['inline']";
          document.body.append(s);
          const img = document.createElement("img");
          img.setAttribute("onerror", "window.__pwned = ['handler']");
          img.src = "x";
          document.body.append(img);
        }""")
        page.wait_for_function("() => window.__cspViolations.length >= 2")
        assert page.evaluate("() => window.__pwned || null") is None
        assert dialogs == []
        ctx.close()
    finally:
        con.stop()


def big_post(base: str, token: str, size: int, *, chunked: bool,
             host: str | None = None) -> httpx.Response:
    headers = {"X-Uprbuzz-Token": token, "Content-Type": "application/json"}
    if host:
        headers["Host"] = host
    body = b'{"text": "' + b"a" * (size - 12) + b'"}'

    def stream():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    return httpx.post(f"{base}/api/post", content=stream() if chunked else body,
                      headers=headers, timeout=30)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads RSS from /proc")
def test_5_mb_bodies_get_413_and_the_server_does_not_grow(tmp_path):
    root = hostile_project(tmp_path / "proj")
    con = start_console(root, {}, session="hostile")
    try:
        pid = con.proc.pid
        for _ in range(5):  # warm up on ordinary requests
            assert con.api("measure", {"text": "warm up " * 20}).status_code == 200
            con.state()
        baseline = rss_kb(pid)
        seen = []
        for i in range(16):
            r = big_post(con.base, con.token, 5 << 20, chunked=bool(i % 2))
            assert r.status_code == 413, r.text
            assert "at most 1 MB" in r.json()["error"]
            assert "unsafe-inline" not in r.headers["content-security-policy"]
            seen.append(rss_kb(pid))
        # Declared 5 MB, then nothing sent: the answer comes from the headers alone.
        with socket.create_connection(("127.0.0.1", con.port), timeout=10) as s:
            s.sendall(b"POST /api/post HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      b"application/json\r\nX-Uprbuzz-Token: " + con.token.encode() +
                      b"\r\nContent-Length: 5242880\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 413 ")
        assert con.state()["posts"] == []
        grown = max(seen) - baseline
        assert grown < 6144, f"RSS grew by {grown} kB over 16 x 5 MB bodies: {baseline} {seen}"
        # ...and the console still answers ordinary requests.
        assert con.api("measure", {"text": "still here"}).status_code == 200
    finally:
        con.stop()


def test_real_server_headers_and_host_allow_list(tmp_path):
    root = hostile_project(tmp_path / "proj")
    con = start_console(root, {}, session="hostile", args=["--allow-host", "console.test"])
    try:
        auth = {"X-Uprbuzz-Token": con.token}
        for host in ("evil.example", f"evil.example:{con.port}", f"127.0.0.1.evil.example:{con.port}"):
            h = {**auth, "Host": host}
            for r in (httpx.get(f"{con.base}/api/state", headers=h),
                      httpx.get(f"{con.base}/?token={con.token}", headers=h),
                      httpx.post(f"{con.base}/api/post", headers={**h, "Content-Type": "application/json"},
                                 content=json.dumps({"text": "rebound"}))):
                assert r.status_code == 400 and "does not answer" in r.text, (host, r.text)
                assert "set-cookie" not in r.headers
        assert con.state()["posts"] == []
        for host in (f"console.test:{con.port}", f"localhost:{con.port}", f"127.0.0.1:{con.port}"):
            r = httpx.get(f"{con.base}/api/state", headers={**auth, "Host": host})
            assert r.status_code == 200, (host, r.text)
        # Every kind of answer carries the policy, the event stream included.
        with httpx.stream("GET", f"{con.base}/api/events", headers=auth, timeout=10) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            events_csp = r.headers["content-security-policy"]
        answers = [httpx.get(f"{con.base}{path}", headers=auth)
                   for path in ("/", "/static/console.js", "/static/console.css", "/nowhere")]
        answers.append(httpx.get(f"{con.base}/"))
        for r in answers:
            assert r.headers["content-security-policy"] == events_csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
        assert "unsafe-inline" not in events_csp and "unsafe-eval" not in events_csp
        assert [r.status_code for r in answers] == [200, 200, 200, 404, 401]
    finally:
        con.stop()
