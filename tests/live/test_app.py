"""The console app in-process: auth, CSRF, posts stored before sending, threading, retries."""

from __future__ import annotations

import json
import threading

import pytest
from starlette.testclient import TestClient

from tests.live.conftest import wait_for
from uprbuzz.live.app import create_app
from uprbuzz.platforms.base import TransientError
from uprbuzz.store.live_tables import LiveStore

TOKEN = "t0ken-for-tests"


@pytest.fixture
def client(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    c = TestClient(create_app(con, TOKEN), base_url="http://127.0.0.1:8765")
    c.get(f"/?token={TOKEN}", follow_redirects=False)
    return c, con, fakes, store


def post(c: TestClient, name: str, body: dict, **headers: str):
    h = {"X-Uprbuzz-Token": TOKEN, "Content-Type": "application/json", **headers}
    return c.post(f"/api/{name}", content=json.dumps(body), headers=h)


def test_the_console_needs_the_access_token(live_env):
    config, store, fakes, make = live_env
    c = TestClient(create_app(make(), TOKEN), base_url="http://127.0.0.1:8765")
    assert c.get("/").status_code == 401
    assert c.get("/api/state").status_code == 401
    assert c.get("/api/events").status_code == 401
    assert c.get("/?token=wrong").status_code == 401
    r = c.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = c.get("/")
    assert page.status_code == 200 and 'id="composer"' in page.text
    state = c.get("/api/state").json()
    assert state["session"]["id"] == "us-upr-2020" and state["timeline"]


def test_posts_need_the_csrf_header_json_and_same_origin(client):
    c, con, fakes, store = client
    body = {"text": "Slovakia asks about the death penalty"}
    assert c.post("/api/post", json=body).status_code == 403  # cookie alone is not enough
    assert post(c, "post", body, **{"X-Uprbuzz-Token": "nope"}).status_code == 403
    assert post(c, "post", body, Origin="http://evil.example").status_code == 403
    r = c.post("/api/post", data={"text": "x"}, headers={"X-Uprbuzz-Token": TOKEN})
    assert r.status_code == 403  # form posts are refused
    assert LiveStore(store.db).posts(con.key) == []
    ok = post(c, "post", body, Origin="http://127.0.0.1:8765")
    assert ok.status_code == 200, ok.text


def test_a_post_is_stored_before_it_is_sent_and_threads_under_the_anchor(client):
    c, con, fakes, store = client
    for f in fakes.values():
        f.gate = threading.Event()  # the platforms hang until released
    r = post(c, "post", {"text": "Slovakia: abolish the death penalty #UPR36", "client_id": "a1"})
    assert r.status_code == 200, r.text
    rows = LiveStore(store.db).posts(con.key)
    assert [p.kind for p in rows] == ["anchor", "text"]  # the anchor comes first
    assert rows[1].post_id == f"live/{con.key}/1" and rows[1].state in ("submitted", "sending")
    assert rows[1].offset is not None and all(f.posts == [] for f in fakes.values())
    # The same submission again (a retried request) is the same post.
    again = post(c, "post", {"text": "Slovakia: abolish the death penalty #UPR36", "client_id": "a1"})
    assert again.json()["result"]["n"] == 1
    post(c, "post", {"text": "Slovenia: ratify the CRC #UPR36", "client_id": "a2"})
    for f in fakes.values():
        f.gate.set()
    wait_for(lambda: all(p.state == "sent" for p in LiveStore(store.db).posts(con.key)))
    for f in fakes.values():
        texts = [p["text"] for p in f.posts]
        assert texts[0] == con.session.anchor and len(texts) == 3
        anchor, first, second = f.posts
        assert anchor["parent"] is None
        assert (first["root"], first["parent"]) == (anchor["id"], anchor["id"])
        assert (second["root"], second["parent"]) == (anchor["id"], first["id"])
    state = c.get("/api/state").json()
    assert [p["platforms"]["x"]["url"] for p in state["posts"]] == [
        "https://x.test/1", "https://x.test/2", "https://x.test/3"]


def test_a_failing_platform_retries_without_holding_up_the_other(client):
    c, con, fakes, store = client
    fakes["x"].fail = [TransientError("X is down", platform="x") for _ in range(6)]
    post(c, "post", {"text": "Cuba speaks #UPR36"})
    ls = LiveStore(store.db)
    wait_for(lambda: ls.post(con.key, 1).platforms.get("bluesky", {}).get("state") == "sent")
    lp = ls.post(con.key, 1)
    assert lp.platforms["x"]["state"] in ("retrying", "sending", "queued", "waiting", "sent")
    wait_for(lambda: any("X is down" in (p.platforms.get("x", {}).get("error") or "")
                         for p in ls.posts(con.key)) or ls.post(con.key, 1).state == "sent")
    wait_for(lambda: ls.post(con.key, 1).state == "sent", timeout=20)
    assert [p["text"] for p in fakes["x"].posts] == [con.session.anchor, "Cuba speaks #UPR36"]


def test_too_long_and_empty_posts_are_refused_with_a_reason(client):
    c, con, fakes, store = client
    r = post(c, "post", {"text": "x" * 400})
    assert r.status_code == 400 and "too long" in r.json()["error"]
    assert post(c, "post", {"text": "  "}).status_code == 400
    assert LiveStore(store.db).posts(con.key) == []


def test_measure_sync_mark_template_and_cues(client):
    c, con, fakes, store = client
    m = post(c, "measure", {"text": "hello https://example.org/a/very/long/path"}).json()["result"]
    assert m["x"]["limit"] == 280 and "bluesky" in m
    assert post(c, "sync", {"shown": "00:30:05"}).status_code == 200
    st = c.get("/api/state").json()
    assert st["who"]["speaker"] == "Slovakia" and 30 * 60 + 5 <= st["clock"]["offset"] < 30 * 60 + 8
    assert post(c, "sync", {"shown": "soon"}).status_code == 400
    r = post(c, "mark", {"who": "Cuba"})
    assert r.status_code == 200 and r.json()["result"]["speaker"] == "Cuba"
    assert post(c, "template", {"template": "{speaker} says: {cursor}"}).status_code == 200
    assert c.get("/api/state").json()["template"] == "{speaker} says: {cursor}"
    fired = post(c, "cue", {"id": "dialogue"}).json()["result"]
    assert fired["kind"] == "cue" and "Slovakia first" in fired["text"]
    assert post(c, "cue", {"id": "dialogue"}).json()["result"] is None  # once only
    assert post(c, "cue", {"id": "concluding", "action": "skip"}).status_code == 200
    cues = {q["id"]: q["state"] for q in c.get("/api/state").json()["cues"]}
    assert cues["dialogue"] == "fired" and cues["concluding"] == "skipped"
    assert cues["presentation"] == "ready"


def test_a_recommendation_card_post_carries_the_offset(client):
    c, con, fakes, store = client
    post(c, "sync", {"shown": "01:02:03"})
    r = post(c, "card", {"state": "Switzerland", "paragraph": "26.49",
                         "text": "Ratify the Convention on the Rights of the Child"})
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    assert res["kind"] == "card" and res["card"]["template"] == "recommendation"
    fields = res["card"]["fields"]
    assert fields["state"] == "Switzerland" and fields["paragraph"] == "26.49"
    assert fields["timestamp"].startswith("01:02:0")
    assert "Switzerland recommends" in res["text"] and "26.49" in res["text"]
    assert post(c, "card", {"state": "", "paragraph": "1", "text": "t"}).status_code == 400
    ls = LiveStore(store.db)
    wait_for(lambda: ls.post(con.key, res["n"]).state in ("sent", "failed", "partial"), timeout=30)
    assert ls.post(con.key, res["n"]).state == "sent", ls.post(con.key, res["n"]).platforms
    assert fakes["x"].posts[-1]["media"] == 1


def test_restart_resends_what_was_stored_but_not_sent(live_env):
    config, store, fakes, make = live_env
    first = make()  # never started: the process "died" right after storing
    first.submit("Stored, then the console died #UPR36")
    assert fakes["x"].posts == []
    second = make()
    second.start()
    ls = LiveStore(store.db)
    wait_for(lambda: all(p.state == "sent" for p in ls.posts(second.key)))
    for f in fakes.values():
        assert [p["text"] for p in f.posts] == [second.session.anchor,
                                                "Stored, then the console died #UPR36"]
    third = make()  # a further restart sends nothing twice
    third.start()
    third.stop()  # the workers drain what start() queued, then exit: no waiting on a timer
    assert not any(w.thread.is_alive() for w in third.workers.values())
    assert all(len(f.posts) == 2 for f in fakes.values())
