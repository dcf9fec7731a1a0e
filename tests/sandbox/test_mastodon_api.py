"""The Mastodon API stand-in over real HTTP: tokens, the length rule, media processing,
idempotency on its own clock, rate limits, faults, paging, the instance document, rendering."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import requests

from tests.fixtures.mastodon import ACCOUNT, OTHER
from uprbuzz.sandbox.mastodon_api import NOT_READY, REPLY_NOT_FOUND
from uprbuzz.sandbox.mastodon_server import dump_accounts, load_accounts
from uprbuzz.sandbox.mastodon_store import IDEMPOTENCY_TTL, make_account


def png(w: int = 8, h: int = 6, colour: str = "blue") -> bytes:
    from PIL import Image

    b = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(b, "PNG")
    return b.getvalue()


class Client:
    def __init__(self, url: str, token: str | None = ACCOUNT.access_token) -> None:
        self.url, self.s = url, requests.Session()
        if token:
            self.s.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kw: object) -> requests.Response:
        return self.s.get(self.url + path, timeout=5, **kw)  # type: ignore[arg-type]

    def post(self, path: str, **kw: object) -> requests.Response:
        return self.s.post(self.url + path, timeout=5, **kw)  # type: ignore[arg-type]

    def delete(self, path: str) -> requests.Response:
        return self.s.delete(self.url + path, timeout=5)

    def status(self, text: str, key: str | None = None, **fields: object) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.post("/api/v1/statuses", data={"status": text, **fields}, headers=headers)

    def upload(self, data: bytes | None = None, v: int = 2, **fields: str) -> requests.Response:
        return self.post(f"/api/v{v}/media", files={"file": ("a.png", data or png(), "image/png")},
                         data=fields)


@pytest.fixture
def srv(mastodon_api):  # type: ignore[no-untyped-def]
    return mastodon_api.server


@pytest.fixture
def api(srv) -> Client:  # type: ignore[no-untyped-def]
    return Client(srv.url)


def admin(srv, path: str, body: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    r = requests.post(srv.url + path, json=body or {}, timeout=5) if body is not None else \
        requests.get(srv.url + path, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


# --- tokens ---------------------------------------------------------------------------------

def test_a_bearer_token_names_the_account(srv, api: Client) -> None:
    r = api.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 200
    me = r.json()
    assert (me["id"], me["username"], me["acct"]) == (ACCOUNT.id, "upr_coalition", "upr_coalition")
    assert "source" in me and me["url"] == "https://mastodon.sandbox.test/@upr_coalition"
    other = Client(srv.url, OTHER.access_token).get("/api/v1/accounts/verify_credentials")
    assert other.json()["id"] == OTHER.id


@pytest.mark.parametrize("token", [None, "not-a-token", ACCOUNT.access_token[:-1]])
def test_no_or_a_wrong_token_is_401_with_mastodons_error(srv, token: str | None) -> None:
    for r in (Client(srv.url, token).get("/api/v1/accounts/verify_credentials"),
              Client(srv.url, token).status("hello")):
        assert r.status_code == 401
        assert r.json() == {"error": "The access token is invalid"}
        assert "invalid_token" in r.headers["WWW-Authenticate"]
    assert srv.store.statuses == []


# --- the instance ---------------------------------------------------------------------------

def test_instance_v2_needs_no_token_and_states_the_limits(srv) -> None:
    for path in ("/api/v2/instance", "/api/v2/instance/"):  # Mastodon.py asks with the slash
        r = requests.get(srv.url + path, timeout=5)
        assert r.status_code == 200
    conf = r.json()["configuration"]
    assert conf["statuses"] == {"max_characters": 500, "max_media_attachments": 4,
                                "characters_reserved_per_url": 23}
    media = conf["media_attachments"]
    assert media["image_size_limit"] == 16 * 1024 * 1024 and media["description_limit"] == 1500
    assert "image/png" in media["supported_mime_types"]
    admin(srv, "/_admin/instance", {"max_characters": 5000})
    conf = requests.get(srv.url + "/api/v2/instance", timeout=5).json()["configuration"]
    assert conf["statuses"]["max_characters"] == 5000


# --- statuses: the length rule --------------------------------------------------------------

def test_the_length_rule_is_the_servers(srv, api: Client) -> None:
    assert api.status("a" * 500).status_code == 200
    r = api.status("b" * 501)
    assert r.status_code == 422
    assert r.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}
    # every URL counts 23: 22 short URLs are 307 characters but count 527
    short = " ".join(["http://un.org"] * 22)
    assert len(short) < 500 and api.status(short).status_code == 422
    # a URL longer than 23 counts 23: 12 long URLs pass although the text is 719 characters
    long = " ".join(["https://example.com/" + "p" * 39] * 12)
    assert len(long) > 500 and api.status(long).status_code == 200
    # graphemes: 500 family emoji are 500 characters (3,500 code points)
    assert api.status("👨‍👩‍👧" * 500).status_code == 200
    # the content warning counts too
    assert api.status("c" * 300, spoiler_text="w" * 201).status_code == 422
    admin(srv, "/_admin/instance", {"max_characters": 1000})
    assert api.status("d" * 1000).status_code == 200
    assert "limit of 1000 exceeded" in api.status("e" * 1001).json()["error"]


def test_blank_text_needs_media_and_a_lone_warning_becomes_the_text(srv, api: Client) -> None:
    r = api.status("   ")
    assert r.status_code == 422 and r.json()["error"] == "Validation failed: Text can't be blank"
    r = api.status("", spoiler_text="only a warning")
    assert r.status_code == 200
    st = srv.store.find(r.json()["id"])
    assert (st["text"], st["spoiler_text"]) == ("only a warning", "")


def test_fields_are_kept_and_text_is_stripped(srv, api: Client) -> None:
    r = api.status("  Hello <world> & more\n\nSecond paragraph\nline two  ", spoiler_text="cw",
                   visibility="unlisted", language="fr")
    assert r.status_code == 200
    st = r.json()
    assert (st["visibility"], st["language"], st["spoiler_text"], st["sensitive"]) == \
        ("unlisted", "fr", "cw", True)  # a content warning makes it sensitive
    assert st["content"] == ("<p>Hello &lt;world&gt; &amp; more</p>"
                             "<p>Second paragraph<br />line two</p>")
    assert "text" not in st  # like Mastodon: the source only comes back on delete
    assert srv.store.find(st["id"])["text"] == "Hello <world> & more\n\nSecond paragraph\nline two"
    assert api.status("x", visibility="everyone").status_code == 422


def test_content_links_urls_tags_and_local_mentions(srv, api: Client) -> None:
    r = api.status("See https://www.ohchr.org/en/hr-bodies/upr/upr-main-long-path "
                   "#UPR37 @other_ngo @someone@elsewhere.example")
    html = r.json()["content"]
    assert ('<a href="https://www.ohchr.org/en/hr-bodies/upr/upr-main-long-path" target="_blank" '
            'rel="nofollow noopener" translate="no"><span class="invisible">https://www.</span>'
            '<span class="ellipsis">ohchr.org/en/hr-bodies/upr/upr</span>'
            '<span class="invisible">-main-long-path</span></a>') in html
    assert 'class="mention hashtag" rel="tag">#<span>UPR37</span></a>' in html
    assert 'href="https://mastodon.sandbox.test/@other_ngo" class="u-url mention">' in html
    assert "@someone@elsewhere.example" in html  # unknown remote account: left as text
    assert [m["acct"] for m in r.json()["mentions"]] == ["other_ngo"]


# --- replies, reads, deletes ----------------------------------------------------------------

def test_in_reply_to_must_exist(srv, api: Client) -> None:
    r = api.status("reply", in_reply_to_id="123456")
    assert r.status_code == 404 and r.json() == {"error": REPLY_NOT_FOUND}
    parent = api.status("parent").json()
    r = Client(srv.url, OTHER.access_token).status("reply", in_reply_to_id=parent["id"])
    assert r.status_code == 200
    assert (r.json()["in_reply_to_id"], r.json()["in_reply_to_account_id"]) == (parent["id"], ACCOUNT.id)
    api.delete(f"/api/v1/statuses/{parent['id']}")
    assert api.status("late reply", in_reply_to_id=parent["id"]).status_code == 404


def test_get_and_delete(srv, api: Client) -> None:
    st = api.status("to delete").json()
    assert api.get(f"/api/v1/statuses/{st['id']}").json()["id"] == st["id"]
    # only the author may delete: for anyone else the post is not found
    assert Client(srv.url, OTHER.access_token).delete(f"/api/v1/statuses/{st['id']}").status_code == 404
    r = api.delete(f"/api/v1/statuses/{st['id']}")
    assert r.status_code == 200 and r.json()["id"] == st["id"] and r.json()["text"] == "to delete"
    assert api.get(f"/api/v1/statuses/{st['id']}").json() == {"error": "Record not found"}
    assert api.delete(f"/api/v1/statuses/{st['id']}").status_code == 404


def test_account_statuses_newest_first_with_paging(srv, api: Client) -> None:
    ids = [api.status(f"post {i}").json()["id"] for i in range(5)]
    reply = api.status("a reply", in_reply_to_id=ids[0]).json()["id"]
    Client(srv.url, OTHER.access_token).status("not mine")
    base = f"/api/v1/accounts/{ACCOUNT.id}/statuses"
    r = api.get(base, params={"limit": 2})
    assert [s["id"] for s in r.json()] == [reply, ids[4]]
    assert f"max_id={ids[4]}" in r.links["next"]["url"] and f"min_id={reply}" in r.links["prev"]["url"]
    nxt = requests.get(r.links["next"]["url"], headers=api.s.headers, timeout=5).json()
    assert [s["id"] for s in nxt] == [ids[3], ids[2]]
    assert [s["id"] for s in api.get(base, params={"since_id": ids[2]}).json()] == [reply, ids[4], ids[3]]
    assert [s["id"] for s in api.get(base, params={"min_id": ids[1], "limit": 2}).json()] == [ids[3], ids[2]]
    assert reply not in [s["id"] for s in api.get(base, params={"exclude_replies": "true"}).json()]
    assert len(api.get(base, params={"limit": 100}).json()) == 6  # clamped to 40, all here
    api.delete(f"/api/v1/statuses/{ids[4]}")
    assert ids[4] not in [s["id"] for s in api.get(base).json()]
    assert api.get("/api/v1/accounts/999/statuses").status_code == 404
    assert "Link" not in api.get(base, params={"max_id": ids[0]}).headers


# --- media ----------------------------------------------------------------------------------

def test_media_is_202_then_206_until_processed_then_200(srv, api: Client) -> None:
    admin(srv, "/_admin/instance", {"processing_seconds": 60})
    r = api.upload(description="A placard", focus="0.5,-0.25")
    assert r.status_code == 202
    m = r.json()
    assert m["url"] is None and m["description"] == "A placard" and m["type"] == "image"
    assert m["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert api.get(f"/api/v1/media/{m['id']}").status_code == 206
    r = api.status("with a picture", **{"media_ids[]": [m["id"]]})
    assert r.status_code == 422 and r.json() == {"error": NOT_READY}
    srv.advance(61)  # the stand-in's clock
    r = api.get(f"/api/v1/media/{m['id']}")
    assert r.status_code == 200 and r.json()["url"].endswith("/original")
    assert requests.get(r.json()["url"], timeout=5).content == png()
    st = api.status("with a picture", **{"media_ids[]": [m["id"]]}).json()
    assert [a["description"] for a in st["media_attachments"]] == ["A placard"]
    # attached once: not again, and never by another account
    again = api.status("again", **{"media_ids[]": [m["id"]]})
    assert again.status_code == 422 and "not found or already attached" in again.json()["error"]
    fresh = api.upload(v=1)
    assert fresh.status_code == 200 and fresh.json()["url"]  # v1 answers once processed
    stolen = Client(srv.url, OTHER.access_token).status("mine?", **{"media_ids[]": [fresh.json()["id"]]})
    assert stolen.status_code == 422
    assert Client(srv.url, OTHER.access_token).get(f"/api/v1/media/{fresh.json()['id']}").status_code == 404


def test_media_rules(srv, api: Client) -> None:
    admin(srv, "/_admin/instance", {"processing_seconds": 0, "image_size_limit": 2000})
    ids = [api.upload().json()["id"] for _ in range(5)]
    r = api.status("five", **{"media_ids[]": ids})
    assert r.status_code == 422 and r.json()["error"] == "Cannot attach more than 4 files"
    assert api.status("four", **{"media_ids[]": ids[:4]}).status_code == 200
    big = png(200, 200, "red") + b"\0" * 2000
    r = api.upload(big)
    assert r.status_code == 422
    assert r.json()["error"].startswith("Validation failed: File file size must be less than")
    r = api.upload(description="d" * 1501)
    assert r.json() == {"error": "Validation failed: Description is too long (maximum is 1500 characters)"}
    assert api.upload(description="d" * 1500).status_code == 200
    r = api.upload(b"not an image at all")
    assert r.status_code == 422 and "content type is invalid" in r.json()["error"]


# --- idempotency ----------------------------------------------------------------------------

def test_a_repeated_key_returns_the_original_without_comparing_bodies(srv, api: Client) -> None:
    first = api.status("The original", key="k-1").json()
    again = api.status("A different body entirely", key="k-1").json()
    assert again["id"] == first["id"] and len(srv.store.statuses) == 1
    # keys belong to the account
    theirs = Client(srv.url, OTHER.access_token).status("Theirs", key="k-1").json()
    assert theirs["id"] != first["id"] and len(srv.store.statuses) == 2


def test_keys_expire_after_an_hour_on_the_stand_ins_clock(srv, api: Client) -> None:
    first = api.status("Remember me", key="k-2").json()
    srv.advance(IDEMPOTENCY_TTL - 1)
    assert api.status("Remember me", key="k-2").json()["id"] == first["id"]
    admin(srv, "/_admin/clock", {"advance": 2})  # the admin route moves the same clock
    second = api.status("Remember me", key="k-2").json()
    assert second["id"] != first["id"]  # forgotten: a duplicate post
    assert [s["text"] for s in srv.store.statuses] == ["Remember me", "Remember me"]
    assert api.status("Remember me", key="k-2").json()["id"] == second["id"]


def test_a_key_is_stored_only_after_a_successful_post(srv, api: Client) -> None:
    assert api.status("x" * 501, key="k-3").status_code == 422
    ok = api.status("Now valid", key="k-3")
    assert ok.status_code == 200 and ok.json()["content"] == "<p>Now valid</p>"
    deleted = api.status("Gone soon", key="k-4").json()
    api.delete(f"/api/v1/statuses/{deleted['id']}")
    assert api.status("Gone soon", key="k-4").status_code == 404  # Status.find on a deleted post


# --- rate limits ----------------------------------------------------------------------------

def _reset(r: requests.Response) -> datetime:
    return datetime.fromisoformat(r.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))


def test_rate_limit_headers_on_every_authenticated_answer(srv, api: Client) -> None:
    r1 = api.get("/api/v1/accounts/verify_credentials")
    r2 = api.get(f"/api/v1/statuses/{123}")  # a 404 counts and carries them too
    assert r1.headers["X-RateLimit-Limit"] == "300"
    assert int(r2.headers["X-RateLimit-Remaining"]) == int(r1.headers["X-RateLimit-Remaining"]) - 1
    now = datetime.fromtimestamp(srv.store.now(), UTC)
    assert 0 < (_reset(r1) - now).total_seconds() <= 300  # the end of the 5-minute window
    assert "X-RateLimit-Limit" not in requests.get(srv.url + "/api/v2/instance", timeout=5).headers
    st = api.status("counted against the statuses family")
    assert st.headers["X-RateLimit-Limit"] == "300" and 0 < (_reset(st) - now).total_seconds() <= 10_800
    assert api.upload().headers["X-RateLimit-Limit"] == "30"


def test_past_the_limit_is_429_until_the_window_ends(srv, api: Client) -> None:
    admin(srv, "/_admin/limits", {"API requests": [3, 300]})
    codes = [api.get("/api/v1/accounts/verify_credentials").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api.get("/api/v1/accounts/verify_credentials")
    assert r.json() == {"error": "Too many requests"} and r.headers["X-RateLimit-Remaining"] == "0"
    other = Client(srv.url, OTHER.access_token).get("/api/v1/accounts/verify_credentials")
    assert other.status_code == 200  # per account
    srv.advance(300)
    assert api.get("/api/v1/accounts/verify_credentials").status_code == 200


def test_media_delete_and_status_limits(srv, api: Client) -> None:
    srv.set_limits({"POST /api/v2/media": (1, 1800), "DELETE /api/v1/statuses/:id": (1, 1800),
                    "POST /api/v1/statuses": (2, 10_800)})
    assert [api.upload().status_code for _ in range(2)][1] == 429
    a = api.status("one", key="s-1").json()
    b = api.status("two").json()
    assert api.status("one again", key="s-1").status_code == 200  # a repeat creates nothing
    r = api.status("three")
    assert r.status_code == 429 and r.headers["X-RateLimit-Limit"] == "2"
    assert api.delete(f"/api/v1/statuses/{a['id']}").status_code == 200
    assert api.delete(f"/api/v1/statuses/{b['id']}").status_code == 429


# --- faults ---------------------------------------------------------------------------------

def test_scripted_faults(srv, api: Client) -> None:
    srv.set_faults(script=["error", "rate_limit", "drop_after_write", "ok"],
                   paths=["POST /api/v1/statuses"])
    assert api.get("/api/v1/accounts/verify_credentials").status_code == 200  # not a matching path
    assert api.status("a").status_code == 503
    r = api.status("b")
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"
    with pytest.raises(requests.ConnectionError):
        api.status("applied, then dropped", key="d-1")
    assert [s["text"] for s in srv.store.statuses] == ["applied, then dropped"]
    # the key was stored: the resend returns the same post
    assert api.status("applied, then dropped", key="d-1").json()["id"] == srv.store.statuses[0]["id"]
    assert [f["kind"] for f in admin(srv, "/_admin/timeline")["fault_log"]] == \
        ["error", "rate_limit", "drop_after_write"]


def test_random_faults_and_delays(srv, api: Client) -> None:
    admin(srv, "/_admin/faults", {"error_rate": 1.0, "seed": 3})
    assert api.get("/api/v1/accounts/verify_credentials").status_code == 503
    admin(srv, "/_admin/faults", {"error_rate": 0.0, "delay_rate": 1.0, "delay_seconds": 0.3})
    t0 = time.monotonic()
    assert api.get("/api/v1/accounts/verify_credentials").status_code == 200
    assert time.monotonic() - t0 >= 0.3
    r = requests.post(srv.url + "/_admin/faults", json={"nonsense": 1}, timeout=5)
    assert r.status_code == 400


# --- admin ----------------------------------------------------------------------------------

def test_timeline_lists_everything_without_tokens(srv, api: Client) -> None:
    m = api.upload(v=1, description="alt").json()
    api.status("Listed", key="t-1", **{"media_ids[]": [m["id"]]})
    t = admin(srv, "/_admin/timeline")
    [st] = t["statuses"]
    assert (st["text"], st["username"], st["media"][0]["description"]) == ("Listed", "upr_coalition", "alt")
    assert st["url"].startswith("https://mastodon.sandbox.test/@upr_coalition/")
    assert [i["key"] for i in t["idempotency"]] == ["t-1"]
    assert ACCOUNT.access_token not in json.dumps(t)
    new = admin(srv, "/_admin/accounts", {"username": "new_voice"})
    me = Client(srv.url, new["access_token"]).get("/api/v1/accounts/verify_credentials").json()
    assert me["username"] == "new_voice"
    admin(srv, "/_admin/reset", {})
    assert admin(srv, "/_admin/timeline")["statuses"] == []


# --- as a process ---------------------------------------------------------------------------

def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "uprbuzz.sandbox.mastodon_server", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""  # type: ignore[union-attr]
    assert line.startswith("Mastodon API stand-in listening on http://127.0.0.1:"), line
    return proc, line.rsplit(" ", 1)[1].strip()


def test_as_a_process_with_accounts_state_and_faults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    accounts, state = tmp_path / "accounts.json", tmp_path / "state.json"
    dump_accounts([make_account("upr_coalition", access_token="tok-1")], accounts)
    proc, url = _start(["--accounts", str(accounts), "--state", str(state),
                        "--faults", '{"script": ["ok", "error"]}'])
    try:
        c = Client(url, "tok-1")
        assert c.status("kept", key="p-1").status_code == 200
        assert c.status("refused").status_code == 503
    finally:
        proc.terminate()
        proc.wait(10)
    proc, url = _start(["--accounts", str(accounts), "--state", str(state)])
    try:
        c = Client(url, "tok-1")
        again = c.status("kept", key="p-1").json()  # the key survived the restart
        assert [s["text"] for s in requests.get(url + "/_admin/timeline", timeout=5).json()["statuses"]] == ["kept"]
        assert again["content"] == "<p>kept</p>"
    finally:
        proc.terminate()
        proc.wait(10)
    # a missing accounts file is created with one account
    fresh = tmp_path / "new-accounts.json"
    proc, url = _start(["--accounts", str(fresh)])
    try:
        [acct] = load_accounts(fresh)
        assert Client(url, acct.access_token).get("/api/v1/accounts/verify_credentials").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
