"""The console app against hostile requests, in-process: security headers on every response, the
Host allow-list, the request body limit and the per-operator posting limit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re

import pytest
from starlette.testclient import TestClient

from uprbuzz.errors import UprbuzzError
from uprbuzz.live import app as app_module
from uprbuzz.live.app import (
    CSP,
    MAX_BODY,
    RequestTooLarge,
    TooManyPosts,
    create_app,
    host_name,
)
from uprbuzz.live.console import LiveConsole
from uprbuzz.store.live_tables import LiveStore

TOKEN = "t0ken-for-tests"
BASE = "http://127.0.0.1:8765"
STATIC = app_module.HERE / "static"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def logged_in(app, base: str = BASE) -> TestClient:
    c = TestClient(app, base_url=base)
    r = c.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def api(c: TestClient, name: str, body: dict, **headers: str):
    h = {"X-Uprbuzz-Token": TOKEN, "Content-Type": "application/json", **headers}
    return c.post(f"/api/{name}", content=json.dumps(body), headers=h)


def assert_secured(r) -> None:
    csp = r.headers.get("content-security-policy", "")
    assert csp == CSP, (r.request.url, r.status_code, dict(r.headers))
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert len(r.headers.get_list("content-security-policy")) == 1


@pytest.fixture
def console(live_env) -> LiveConsole:
    config, store, fakes, make = live_env
    con = make()
    con.start()
    return con


def test_every_response_carries_the_security_headers(console, monkeypatch):
    def boom(con, body):
        raise RuntimeError("a bug")

    monkeypatch.setitem(app_module.ACTIONS, "boom", boom)
    app = create_app(console, TOKEN)
    anon = TestClient(app, base_url=BASE, raise_server_exceptions=False)
    c = logged_in(app)
    c_err = TestClient(app, base_url=BASE, raise_server_exceptions=False, cookies=c.cookies)
    responses = [
        anon.get("/"),                                     # 401 page
        anon.get("/?token=wrong"),                         # 401 page
        anon.get("/api/state"),                            # 401 JSON
        TestClient(app, base_url=BASE).get(f"/?token={TOKEN}", follow_redirects=False),  # 303
        c.get("/"), c.get("/api/state"), c.get("/api/recommendations?state=Cuba"),
        c.get("/static/console.js"), c.get("/static/console.css"), c.get("/favicon.ico"),
        c.get("/nowhere"), c.get("/static/nowhere.js"),   # 404s
        c.post("/api/post", json={"text": "x"}),           # 403 (no CSRF header)
        api(c, "post", {"text": "  "}),                    # 400
        api(c, "nope", {}),                                # 404 action
        api(c, "measure", {"text": "hello"}),              # 200
        c.get("/api/state", headers={"Host": "evil.example"}),  # refused host
        c.post("/api/post", content=b"{}", headers={"Content-Length": str(5 << 20)}),  # 413
        c_err.post("/api/boom", content=b"{}", headers={
            "X-Uprbuzz-Token": TOKEN, "Content-Type": "application/json"}),  # 500
    ]
    assert [r.status_code for r in responses] == [
        401, 401, 401, 303, 200, 200, 200, 200, 200, 204, 404, 404, 403, 400, 404, 200, 400,
        413, 500]
    for r in responses:
        assert_secured(r)
    assert responses[4].headers["cache-control"] == "no-store"
    assert responses[4].headers["x-frame-options"] == "DENY"


def test_the_page_has_no_inline_script_or_style_and_builds_no_html_from_strings(console):
    page = logged_in(create_app(console, TOKEN)).get("/").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S | re.I)
    assert scripts and all('src="/static/' in attrs and not body.strip()
                           for attrs, body in scripts)
    assert not re.search(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", page, re.I)
    js = (STATIC / "console.js").read_text(encoding="utf-8")
    # No sink that parses a string as HTML or code: the DOM is built from nodes and attributes.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setAttribute(\"on", ".createContextualFragment"):
        assert sink not in js, sink
    denied = TestClient(create_app(console, TOKEN), base_url=BASE).get("/").text
    assert not re.search(r"<style\b|\sstyle\s*=|<script", denied, re.I)


def test_the_page_escapes_the_title_and_the_token(live_env):
    config, store, fakes, make = live_env
    con = make()
    hostile = 'UPR "><script>alert(1)</script> {{token}} \' x'
    con.session = dataclasses.replace(con.session, title=hostile)
    token = 'tok"en<>&\'{{title}}'
    c = TestClient(create_app(con, token), base_url=BASE)
    c.get("/", params={"token": token}, follow_redirects=False)
    page = c.get("/").text
    assert "<script>alert" not in page and '"><' not in page.split("<body>")[0].split("<title>")[1]
    assert "UPR &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; {{token}} &#x27; x" in page
    assert 'content="tok&quot;en&lt;&gt;&amp;&#x27;{{title}}"' in page


@pytest.mark.parametrize("host", [
    "evil.example", "evil.example:8765", "127.0.0.1.evil.example", "localhost.evil.example:8765",
    "evil.example.:8765", "[::2]:8765", "0.0.0.0:8765", "", "console.lan.evil.example"])
def test_a_foreign_host_is_refused_even_with_the_token(console, host):
    app = create_app(console, TOKEN, allowed_hosts=("console.lan",))
    c = logged_in(app)
    h = {"Host": host, "X-Uprbuzz-Token": TOKEN}
    for r in (c.get("/", headers=h), c.get(f"/?token={TOKEN}", headers=h, follow_redirects=False),
              c.get("/api/state", headers=h), c.get("/api/events", headers=h),
              c.get("/static/console.js", headers=h),
              c.post("/api/post", content=json.dumps({"text": "rebound"}),
                     headers={**h, "Content-Type": "application/json",
                              "Origin": f"http://{host}"})):
        assert r.status_code == 400, (host, r.request.url, r.text)
        assert "does not answer to the host name" in r.text and "set-cookie" not in r.headers
        assert TOKEN not in r.text and "uprbuzz-token" not in r.text
    assert LiveStore(console.store.db).posts(console.key) == []


@pytest.mark.parametrize("host", [
    "127.0.0.1:8765", "127.0.0.1", "localhost:8765", "LocalHost", "localhost.:8765",
    "[::1]:8765", "console.lan:8765", "Console.LAN"])
def test_loopback_and_the_configured_name_are_answered(console, host):
    app = create_app(console, TOKEN, allowed_hosts=("console.lan",))
    c = logged_in(app, f"http://{host}")
    assert c.get("/").status_code == 200
    assert c.get("/api/state").status_code == 200
    r = api(c, "measure", {"text": "hi"}, Origin=f"http://{host.lower()}")
    assert r.status_code == 200, r.text


def test_the_configured_name_is_refused_unless_configured(console):
    c = TestClient(create_app(console, TOKEN), base_url="http://console.lan:8765")
    assert c.get("/api/state", headers={"X-Uprbuzz-Token": TOKEN}).status_code == 400
    assert host_name("[::1]:80") == "::1" and host_name("Example.ORG.:1") == "example.org"
    assert host_name("::1") == "::1" and host_name("[::1") == "[::1"


def test_a_body_over_1_mb_gets_413_and_is_not_stored(console):
    c = logged_in(create_app(console, TOKEN))
    big = json.dumps({"text": "x" * (5 << 20)}).encode()
    r = c.post("/api/post", content=big,
               headers={"X-Uprbuzz-Token": TOKEN, "Content-Type": "application/json"})
    assert r.status_code == 413 and "at most 1 MB" in r.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(80):
            yield b"x" * 65536

    r = c.post("/api/post", content=chunks(),
               headers={"X-Uprbuzz-Token": TOKEN, "Content-Type": "application/json"})
    assert r.status_code == 413 and "at most 1 MB" in r.json()["error"]
    assert_secured(r)
    assert LiveStore(console.store.db).posts(console.key) == []
    # Just under the limit is an ordinary request (refused for its length, not its size).
    near = json.dumps({"text": "y" * (MAX_BODY - 100)})
    r = api(c, "post", json.loads(near))
    assert r.status_code == 400 and "too long" in r.json()["error"]
    assert issubclass(RequestTooLarge, UprbuzzError) and issubclass(TooManyPosts, UprbuzzError)


def test_a_declared_oversized_body_is_refused_without_reading_it(console):
    app = create_app(console, TOKEN)
    sent: list[dict] = []

    async def receive() -> dict:
        raise AssertionError("the body was read")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/post", "raw_path": b"/api/post", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8765),
             "headers": [(b"host", b"127.0.0.1:8765"), (b"content-length", b"5242880"),
                         (b"x-uprbuzz-token", TOKEN.encode()),
                         (b"content-type", b"application/json")]}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert (b"content-security-policy", CSP.encode()) in sent[0]["headers"]


def test_posting_is_rate_limited_per_operator_with_a_clear_message(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    clock = Clock()
    app = create_app(con, TOKEN, post_rate=3, clock=clock)
    alice, bob = logged_in(app), logged_in(app)
    assert alice.cookies["uprbuzz_operator"] != bob.cookies["uprbuzz_operator"]
    assert api(alice, "post", {"text": "Slovakia speaks #UPR36"}).status_code == 200
    assert api(alice, "card", {"state": "Switzerland", "paragraph": "26.49",
                               "text": "Ratify the CRC"}).status_code == 200
    # What posts nothing is not counted: a refused post, a skipped cue, measuring, syncing.
    assert api(alice, "post", {"text": "x" * 400}).status_code == 400
    assert api(alice, "cue", {"id": "concluding", "action": "skip"}).status_code == 200
    assert api(alice, "measure", {"text": "hi"}).status_code == 200
    assert api(alice, "sync", {"shown": "00:30:05"}).status_code == 200
    clock.now += 30
    assert api(alice, "cue", {"id": "dialogue"}).status_code == 200  # a fired cue counts
    r = api(alice, "post", {"text": "one too many #UPR36"})
    assert r.status_code == 429
    assert r.json()["error"] == ("Too many posts: at most 3 a minute per operator. "
                                 "Try again in 30 s; the draft is kept.")
    assert r.headers["retry-after"] == "30"
    assert_secured(r)
    # Another operator has their own allowance.
    assert api(bob, "post", {"text": "Bob covers Slovenia #UPR36"}).status_code == 200
    texts = [p.text for p in LiveStore(store.db).posts(con.key)]
    assert "one too many #UPR36" not in texts and "Bob covers Slovenia #UPR36" in texts
    # A minute after the first posts, room again.
    clock.now += 30
    assert api(alice, "post", {"text": "one more, later #UPR36"}).status_code == 200
    assert api(alice, "post", {"text": "and another #UPR36"}).status_code == 200
    assert api(alice, "post", {"text": "too soon #UPR36"}).status_code == 429


def test_a_forged_operator_cookie_shares_the_scripts_allowance(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    app = create_app(con, TOKEN, post_rate=2, clock=Clock())
    script = TestClient(app, base_url=BASE)  # the token in a header, no operator cookie
    assert api(script, "post", {"text": "a #UPR36"}).status_code == 200
    forged = TestClient(app, base_url=BASE, cookies={"uprbuzz_operator": "me.0000"})
    assert api(forged, "post", {"text": "b #UPR36"}).status_code == 200
    assert api(forged, "post", {"text": "c #UPR36"}).status_code == 429
    assert api(script, "post", {"text": "d #UPR36"}).status_code == 429
    unlimited = logged_in(create_app(con, TOKEN, post_rate=0))
    for i in range(5):
        assert api(unlimited, "post", {"text": f"free {i} #UPR36"}).status_code == 200


def test_odd_tokens_and_cookies_are_refused_not_crashed_on(console):
    app = create_app(console, TOKEN)
    c = TestClient(app, base_url=BASE)
    odd = "t\xf6k".encode("latin-1")  # not ASCII: compare_digest on str would raise
    r = c.get("/api/state", headers={"X-Uprbuzz-Token": odd,
                                     "Cookie": b"uprbuzz_live=" + odd})
    assert r.status_code == 401
    assert c.get("/?token=t%C3%B6k").status_code == 401
    c = logged_in(app)
    forged = b"uprbuzz_live=" + TOKEN.encode() + b"; uprbuzz_operator=\xf6.\xfc"
    r = c.post("/api/post", content=json.dumps({"text": "odd cookie, still posts #UPR36"}),
               headers={"X-Uprbuzz-Token": TOKEN, "Content-Type": "application/json",
                        "Cookie": forged})
    assert r.status_code == 200, r.text
