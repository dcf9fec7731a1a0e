"""No accidental duplicates, and who posted: the same text asks first, two operators at the same
moment make one post, every post says who sent it."""

from __future__ import annotations

import json
import threading

from starlette.testclient import TestClient

from tests.live.conftest import wait_for
from uprbuzz.live.app import create_app
from uprbuzz.store.live_tables import LiveStore

TOKEN = "t0ken-for-tests"
TEXT = "Slovakia: abolish the death penalty #UPR36"


def operator_client(app) -> TestClient:
    c = TestClient(app, base_url="http://127.0.0.1:8765")
    c.get(f"/?token={TOKEN}", follow_redirects=False)
    return c


def post(c: TestClient, name: str, body: dict):
    return c.post(f"/api/{name}", content=json.dumps(body),
                  headers={"X-Uprbuzz-Token": TOKEN, "Content-Type": "application/json"})


def test_the_same_text_again_asks_first_and_says_who_sent_it(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    app = create_app(con, TOKEN)
    ana, ben = operator_client(app), operator_client(app)
    assert post(ana, "operator", {"name": "  Ana  "}).json()["result"] == "Ana"
    post(ben, "operator", {"name": "Ben"})
    first = post(ana, "post", {"text": TEXT, "client_id": "a1"})
    assert first.status_code == 200
    assert post(ana, "post", {"text": TEXT, "client_id": "a1"}).json()["result"]["n"] == 1  # resent
    again = post(ben, "post", {"text": " slovakia: ABOLISH the death penalty  #UPR36", "client_id": "b1"})
    assert again.status_code == 409 and again.json()["confirm"] is True
    assert "The same text went out" in again.json()["error"] and "by Ana" in again.json()["error"]
    ok = post(ben, "post", {"text": TEXT, "client_id": "b1", "confirm": True})
    assert ok.status_code == 200 and ok.json()["result"]["n"] == 2
    posts = LiveStore(store.db).posts(con.key)
    assert [p.platforms.get("_meta", {}).get("by") for p in posts] == [None, "Ana", "Ben"]
    # a recommendation card is asked about the same way
    card = {"state": "Slovakia", "paragraph": "26.46", "text": "Abolish the death penalty"}
    assert post(ana, "card", {**card, "client_id": "c1"}).status_code == 200
    assert post(ana, "card", {**card, "client_id": "c2"}).status_code == 409
    assert post(ana, "card", {**card, "client_id": "c2", "confirm": True}).status_code == 200
    wait_for(lambda: all(p.state == "sent" for p in LiveStore(store.db).posts(con.key)), timeout=30)


def test_two_operators_sending_the_same_text_at_once_make_one_post(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    app = create_app(con, TOKEN)
    clients = [operator_client(app) for _ in range(4)]
    go = threading.Barrier(len(clients))
    codes: list[int] = []

    def send(i: int) -> None:
        go.wait()
        codes.append(post(clients[i], "post", {"text": TEXT, "client_id": f"c{i}"}).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409, 409, 409]
    ls = LiveStore(store.db)
    wait_for(lambda: all(p.state == "sent" for p in ls.posts(con.key)), timeout=30)
    for f in fakes.values():
        assert [p["text"] for p in f.posts].count(TEXT) == 1


def test_presence_lists_the_operators_with_the_console_open(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.operators["op1"] = {"name": "Ana", "pages": 1}
    con.operators["op2"] = {"name": "Ben", "pages": 0}  # closed the page
    con.operators["op3"] = {"name": "", "pages": 2}
    assert con.state()["operators"] == ["Ana", "unnamed operator"]


def test_a_posted_card_has_a_thumbnail_for_the_last_posts(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    app = create_app(con, TOKEN)
    c = operator_client(app)
    r = post(c, "card", {"state": "Slovakia", "paragraph": "26.46", "text": "Abolish it"})
    n = r.json()["result"]["n"]
    wait_for(lambda: LiveStore(store.db).post(con.key, n).state == "sent", timeout=30)
    card = next(p for p in c.get("/api/state").json()["posts"] if p["n"] == n)
    assert card["thumb"] == f"/api/card/{n}" and card["thumb_alt"]
    img = c.get(card["thumb"])
    assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
    assert c.get("/api/card/999").status_code == 404
    bare = TestClient(app, base_url="http://127.0.0.1:8765")  # no token: no picture
    assert bare.get(card["thumb"]).status_code == 401
