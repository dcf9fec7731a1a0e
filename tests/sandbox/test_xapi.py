"""The X API stand-in over real HTTP: signatures, limits, duplicates, media, rate limits, faults."""

from __future__ import annotations

import http.client as httpclient
import io
import json
import signal
import subprocess
import sys
import time

import pytest
import requests
from requests_oauthlib import OAuth1

from tests.fixtures.xapi import ACCOUNT, OTHER
from uprbuzz.platforms.x_http import mount
from uprbuzz.sandbox.xapi import dump_accounts, serve
from uprbuzz.sandbox.xapi_api import DUPLICATE

API = "https://api.x.com/2"


def auth(acct=ACCOUNT, **kw) -> OAuth1:
    return OAuth1(acct.consumer_key, acct.consumer_secret, acct.access_token, acct.access_secret, **kw)


@pytest.fixture
def http(xapi) -> requests.Session:
    s = requests.Session()
    mount(s, xapi.url, 5)
    return s


def png(w: int = 8, h: int = 6) -> bytes:
    from PIL import Image

    b = io.BytesIO()
    Image.new("RGB", (w, h), "blue").save(b, "PNG")
    return b.getvalue()


def tweet(http, text, acct=ACCOUNT, **body):
    return http.post(f"{API}/tweets", json={"text": text, **body}, auth=auth(acct))


def upload(http, acct=ACCOUNT, data=None):
    r = http.post(f"{API}/media/upload", files={"media": ("a.png", data or png(), "image/png")},
                  data={"media_category": "tweet_image"}, auth=auth(acct))
    assert r.status_code == 200, r.text
    return r.json()["data"]


# --- OAuth 1.0a ---------------------------------------------------------------------------

def test_valid_signature_accepted(http):
    r = http.get(f"{API}/users/me", auth=auth())
    assert r.status_code == 200
    assert r.json() == {"data": {"id": ACCOUNT.user_id, "username": ACCOUNT.username, "name": ACCOUNT.name}}


@pytest.mark.parametrize("bad", ["consumer_secret", "access_secret", "access_token", "consumer_key"])
def test_wrong_credentials_get_x_401(http, bad):
    from dataclasses import replace

    wrong = replace(ACCOUNT, **{bad: getattr(ACCOUNT, bad)[:-4] + "zzzz"})
    r = http.get(f"{API}/users/me", auth=auth(wrong))
    assert r.status_code == 401
    assert r.json() == {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


def test_altered_query_is_refused(http):
    req = requests.Request("GET", f"{API}/users/{ACCOUNT.user_id}/tweets?max_results=5", auth=auth()).prepare()
    assert http.send(req).status_code == 200
    req = requests.Request("GET", f"{API}/users/{ACCOUNT.user_id}/tweets?max_results=5", auth=auth()).prepare()
    req.url = req.url.replace("max_results=5", "max_results=6")
    assert http.send(req).status_code == 401


def test_altered_form_body_is_refused(http):
    body = {"command": "INIT", "total_bytes": "10", "media_type": "image/png"}
    assert http.post(f"{API}/media/upload", data=body, auth=auth()).status_code == 200
    req = requests.Request("POST", f"{API}/media/upload", data=body, auth=auth()).prepare()
    req.body = req.body.replace(b"total_bytes=10", b"total_bytes=11")
    assert http.send(req).status_code == 401


def test_replay_is_refused(http):
    req = requests.Request("GET", f"{API}/users/me", auth=auth()).prepare()
    assert http.send(req).status_code == 200
    assert http.send(req).status_code == 401


def test_stale_timestamp_is_refused(http):
    old = str(int(time.time()) - 3600)
    assert http.get(f"{API}/users/me", auth=auth(timestamp=old)).status_code == 401


def test_missing_or_wrong_host_is_refused(xapi):
    req = requests.Request("GET", f"{API}/users/me", auth=auth()).prepare()
    port = int(xapi.url.rsplit(":", 1)[1])
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.putrequest("GET", "/2/users/me", skip_host=True)
    conn.putheader("Authorization", req.headers["Authorization"])
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 401 and json.loads(resp.read())["detail"] == "Unauthorized"
    # Same signature, but the server sees the loopback host instead of the signed one.
    r = requests.get(xapi.url + "/2/users/me", auth=auth())
    assert r.status_code == 401


# --- tweets -------------------------------------------------------------------------------

def test_create_tweet_shape_and_store(http, xapi):
    r = tweet(http, "Watch the review live")
    assert r.status_code == 201
    data = r.json()["data"]
    assert set(data) == {"id", "text", "edit_history_tweet_ids"} and data["edit_history_tweet_ids"] == [data["id"]]
    assert len(data["id"]) == 19 and data["id"].isdigit()
    [stored] = xapi.server.store.tweets
    assert stored["text"] == "Watch the review live" and stored["author_id"] == ACCOUNT.user_id


def test_weighted_length_limit(http):
    assert tweet(http, "a" * 280).status_code == 201
    r = tweet(http, "b" * 281)
    assert r.status_code == 403 and r.json()["detail"] == "Your Tweet text is too long."
    assert tweet(http, "漢" * 141).status_code == 403  # CJK weighs 2
    assert tweet(http, "漢" * 140).status_code == 201
    assert tweet(http, "c" * 250 + " https://example.org/" + "x" * 100).status_code == 201  # URL = 23


def test_duplicate_content_per_user(http):
    assert tweet(http, "Same words").status_code == 201
    r = tweet(http, " Same words ")
    assert r.status_code == 403 and r.json()["detail"] == DUPLICATE
    assert tweet(http, "Same words", acct=OTHER).status_code == 201


def test_unknown_properties_and_empty_text_rejected(http):
    assert tweet(http, "x", bogus=1).status_code == 400
    r = http.post(f"{API}/tweets", json={"text": ""}, auth=auth())
    assert r.status_code == 400 and r.json()["type"].endswith("invalid-request")


def test_reply_must_exist(http, xapi):
    root = tweet(http, "root").json()["data"]["id"]
    r = tweet(http, "child", reply={"in_reply_to_tweet_id": root})
    assert r.status_code == 201
    child = xapi.server.store.find(r.json()["data"]["id"])
    assert child["in_reply_to_tweet_id"] == root and child["conversation_id"] == root
    assert tweet(http, "orphan", reply={"in_reply_to_tweet_id": "1999999999999999999"}).status_code == 403


def test_delete_and_ownership(http, xapi):
    tid = tweet(http, "to delete").json()["data"]["id"]
    assert http.delete(f"{API}/tweets/{tid}", auth=auth(OTHER)).status_code == 403
    r = http.delete(f"{API}/tweets/{tid}", auth=auth())
    assert r.status_code == 200 and r.json() == {"data": {"deleted": True}}
    assert xapi.server.store.find(tid)["deleted"] is True
    assert http.delete(f"{API}/tweets/{tid}", auth=auth()).json() == {"data": {"deleted": False}}
    assert http.delete(f"{API}/tweets/1999999999999999999", auth=auth()).status_code == 404
    assert tweet(http, "to delete").status_code == 201  # a deleted post is no duplicate


def test_user_tweets_newest_first_paginated(http):
    ids = [tweet(http, f"post {i}").json()["data"]["id"] for i in range(12)]
    url = f"{API}/users/{ACCOUNT.user_id}/tweets"
    seen, token = [], None
    while True:
        params = {"max_results": 5, **({"pagination_token": token} if token else {})}
        body = http.get(url, params=params, auth=auth()).json()
        seen += [t["id"] for t in body.get("data", [])]
        token = body["meta"].get("next_token")
        if not token:
            break
    assert seen == ids[::-1]
    body = http.get(url, params={"since_id": ids[9], "tweet.fields": "created_at"}, auth=auth()).json()
    assert [t["id"] for t in body["data"]] == ids[:9:-1] and "created_at" in body["data"][0]
    assert body["meta"]["result_count"] == 2
    assert http.get(url, params={"max_results": 101}, auth=auth()).status_code == 400


# --- media --------------------------------------------------------------------------------

def test_media_one_shot_alt_text_and_ownership(http, xapi):
    m = upload(http, data=png(30, 20))
    assert m["image"] == {"image_type": "image/png", "w": 30, "h": 20} and m["media_key"] == f"3_{m['id']}"
    r = http.post(f"{API}/media/metadata", json={"id": m["id"], "metadata": {"alt_text": {"text": "a" * 1001}}},
                  auth=auth())
    assert r.status_code == 400
    r = http.post(f"{API}/media/metadata", json={"id": m["id"], "metadata": {"alt_text": {"text": "Blue"}}},
                  auth=auth())
    assert r.status_code == 200 and r.json()["data"]["associated_metadata"]["alt_text"]["text"] == "Blue"
    r = tweet(http, "with other's media", acct=OTHER, media={"media_ids": [m["id"]]})
    assert r.status_code == 400 and r.json()["errors"][0]["message"] == "Your media IDs are invalid."
    assert tweet(http, "unknown media", media={"media_ids": ["1999999999999999999"]}).status_code == 400
    five = [upload(http)["id"] for _ in range(5)]
    assert tweet(http, "five", media={"media_ids": five}).status_code == 400
    r = tweet(http, "mine", media={"media_ids": [m["id"]]})
    assert r.status_code == 201
    assert xapi.server.store.find(r.json()["data"]["id"])["alt_texts"] == ["Blue"]
    assert http.post(f"{API}/media/upload", files={"media": ("x.txt", b"not an image", "text/plain")},
                     auth=auth()).status_code == 400


def test_media_chunked_v2_and_legacy_command_form(http, xapi):
    data = png(50, 40)
    init = http.post(f"{API}/media/upload/initialize", json={"media_type": "image/png", "total_bytes": len(data),
                     "media_category": "tweet_image"}, auth=auth()).json()["data"]
    for i, chunk in enumerate((data[:30], data[30:])):
        r = http.post(f"{API}/media/upload/{init['id']}/append", files={"media": ("c", chunk)},
                      data={"segment_index": str(i)}, auth=auth())
        assert r.status_code == 200
    assert http.post(f"{API}/media/upload/{init['id']}/finalize", auth=auth(OTHER)).status_code == 400
    fin = http.post(f"{API}/media/upload/{init['id']}/finalize", auth=auth()).json()["data"]
    assert fin["size"] == len(data) and fin["image"]["w"] == 50
    st = http.get(f"{API}/media/upload", params={"command": "STATUS", "media_id": init["id"]}, auth=auth())
    assert st.status_code == 200 and st.json()["data"]["id"] == init["id"]
    # legacy command= form (form-encoded, signed body)
    r = http.post(f"{API}/media/upload", data={"command": "INIT", "total_bytes": str(len(data)),
                  "media_type": "image/png"}, auth=auth())
    mid = r.json()["data"]["id"]
    http.post(f"{API}/media/upload", data={"command": "APPEND", "media_id": mid, "segment_index": "0"},
              files={"media": ("c", data)}, auth=auth())
    r = http.post(f"{API}/media/upload", data={"command": "FINALIZE", "media_id": mid}, auth=auth())
    assert r.status_code == 200 and r.json()["data"]["size"] == len(data)
    assert tweet(http, "legacy", media={"media_ids": [mid]}).status_code == 201


# --- rate limits and faults ------------------------------------------------------------------

def test_rate_limit_headers_and_429(http, xapi):
    xapi.server.set_limits({"POST /2/tweets": (3, 60)})
    remaining = []
    for i in range(3):
        r = tweet(http, f"t{i}")
        assert r.status_code == 201
        remaining.append(int(r.headers["x-rate-limit-remaining"]))
        assert r.headers["x-rate-limit-limit"] == "3"
    assert remaining == [2, 1, 0]
    r = tweet(http, "t3")
    assert r.status_code == 429
    assert r.json() == {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                        "status": 429}
    assert time.time() < int(r.headers["x-rate-limit-reset"]) <= time.time() + 61
    assert len(xapi.server.store.tweets) == 3
    assert tweet(http, "other user", acct=OTHER).status_code == 201  # per-user windows


def test_fault_kinds(http, xapi):
    xapi.server.set_faults(script=["error", "rate_limit", "drop_after_write", "drop"], rate_limit_reset=1)
    r = tweet(http, "a")
    assert r.status_code == 503 and not xapi.server.store.tweets
    r = tweet(http, "a")
    assert r.status_code == 429 and int(r.headers["x-rate-limit-reset"]) <= time.time() + 3
    with pytest.raises(requests.ConnectionError):
        tweet(http, "applied")
    assert [t["text"] for t in xapi.server.store.tweets] == ["applied"]
    with pytest.raises(requests.ConnectionError):
        tweet(http, "not applied")
    assert len(xapi.server.store.tweets) == 1
    assert tweet(http, "ok").status_code == 201
    kinds = [f["kind"] for f in xapi.server.timeline()["fault_log"]]
    assert kinds == ["error", "rate_limit", "drop_after_write", "drop"]


def test_delay_fault_triggers_client_timeout_and_then_applies(http, xapi):
    xapi.server.set_faults(script=["delay"], delay_seconds=0.6)
    with pytest.raises(requests.Timeout):
        http.post(f"{API}/tweets", json={"text": "slow"}, auth=auth(), timeout=0.2)
    deadline = time.time() + 3
    while not xapi.server.store.tweets and time.time() < deadline:
        time.sleep(0.05)
    assert [t["text"] for t in xapi.server.store.tweets] == ["slow"]


def test_seeded_faults_are_reproducible_and_admin_endpoints(http, xapi):
    def run(seed):
        r = requests.post(xapi.url + "/_admin/faults", json={"error_rate": 0.3, "rate_limit_rate": 0.2,
                                                              "seed": seed, "paths": ["GET /2/users/me"]})
        assert r.status_code == 200 and r.json()["faults"]["error_rate"] == 0.3
        return [http.get(f"{API}/users/me", auth=auth()).status_code for _ in range(30)]

    a, b = run(7), run(7)
    assert a == b and {200, 503, 429} == set(a)
    assert requests.post(xapi.url + "/_admin/faults", json={"nope": 1}).status_code == 400
    requests.post(xapi.url + "/_admin/faults", json={"error_rate": 0, "rate_limit_rate": 0})
    assert tweet(http, "not in the fault paths").status_code == 201
    tl = requests.get(xapi.url + "/_admin/timeline").json()
    assert [t["text"] for t in tl["tweets"]] == ["not in the fault paths"]
    assert tl["tweets"][0]["url"].startswith(f"https://x.com/{ACCOUNT.username}/status/")


def test_state_file_survives_restart(tmp_path):
    state = tmp_path / "x.json"
    s = requests.Session()
    srv = serve(accounts=[ACCOUNT], state_path=state)
    mount(s, srv.url, 5)
    first = tweet(s, "kept").json()["data"]["id"]
    srv.stop()
    assert json.loads(state.read_text())["tweets"][0]["id"] == first
    srv = serve(accounts=[ACCOUNT], state_path=state)
    s2 = requests.Session()
    mount(s2, srv.url, 5)
    try:
        assert tweet(s2, "kept").status_code == 403  # still remembered: duplicate
        second = tweet(s2, "new").json()["data"]["id"]
        assert int(second) > int(first)
    finally:
        srv.stop()


def test_runs_as_a_process(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dump_accounts([ACCOUNT], tmp_path / "accounts.json")
    proc = subprocess.Popen([sys.executable, "-m", "uprbuzz.sandbox.xapi", "--port", str(port),
                             "--state", str(tmp_path / "x.json"), "--accounts", str(tmp_path / "accounts.json")],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert "listening on http://127.0.0.1:" in proc.stdout.readline()
        s = requests.Session()
        mount(s, f"http://127.0.0.1:{port}", 5)
        assert tweet(s, "from a process").status_code == 201
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0
    assert json.loads((tmp_path / "x.json").read_text())["tweets"][0]["text"] == "from a process"
