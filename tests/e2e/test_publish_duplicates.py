"""Two posts with identical text against the X stand-in (which refuses duplicate content as X
does): the second must fail as a duplicate naming the first, never be recorded with the first's
tweet — neither by the loop nor by reconciliation after a crash."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.publish import make_project, run_uprbuzz
from uprbuzz.clock import SystemClock
from uprbuzz.config import load_config
from uprbuzz.publish.publisher import Publisher
from uprbuzz.store import Store

pytestmark = pytest.mark.e2e
SAME = "Follow the #UPR review of our country on 9 November"
X_ONLY = "[platforms.bluesky]\nenabled = false\n"


def _post(minutes_ago: int, text: str) -> str:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")
    return f"---\nat: {at}\nstatus: approved\n---\n{text}\n"


def _status(root, env) -> dict[str, dict]:
    rows = json.loads(run_uprbuzz(["status", "--json"], root, env).stdout)
    return {r["post_id"]: r for r in rows if r["platform"] == "x"}


def test_identical_texts_second_fails_as_duplicate_of_the_first(tmp_path, xapi):
    root = make_project(tmp_path / "proj", {
        "camp/a.md": _post(3, SAME), "camp/b.md": _post(2, SAME),
        "camp/c.md": _post(1, "Something else entirely")}, toml=X_ONLY)
    env = dict(xapi.env)
    r = run_uprbuzz(["publish", "--json"], root, env)
    assert r.returncode == 1, r.stdout + r.stderr  # a failure to report
    items = {i["post"]: i for i in json.loads(r.stdout)["items"]}
    tweets = xapi.server.store.tweets
    assert [t["text"] for t in tweets].count(SAME) == 1 and len(tweets) == 2
    first = next(t for t in tweets if t["text"] == SAME)
    st = _status(root, env)
    url = st["camp/a"]["url"]
    assert st["camp/a"]["state"] == "sent" and st["camp/a"]["remote_id"] == first["id"]
    assert url.endswith("/status/" + first["id"])
    want = f"X refused this text as a duplicate of camp/a ({url}); edit the text to post it"
    assert (items["camp/b"]["state"], items["camp/b"]["message"]) == ("failed", want)
    assert items["camp/c"]["state"] == "sent"
    b = st["camp/b"]
    assert (b["state"], b["kind"], b["error"], b["url"], b["remote_id"]) == (
        "failed", "duplicate", want, None, None)

    # never retried while the text stays the same: not by a later run, not when named
    requests = xapi.server.store.requests
    again = run_uprbuzz(["publish"], root, env)
    assert again.returncode == 0 and "0 published" in again.stdout, again.stdout + again.stderr
    named = run_uprbuzz(["publish", "camp/b"], root, env)
    assert named.returncode == 1 and "duplicate of camp/a" in named.stdout, named.stdout
    assert xapi.server.store.requests == requests and len(xapi.server.store.tweets) == 2
    assert _status(root, env)["camp/b"]["attempts"] == b["attempts"]

    # an edit posts it, as its own tweet
    (root / "posts/camp/b.md").write_text(_post(2, SAME + " (edited)"))
    edited = run_uprbuzz(["publish"], root, env)
    assert edited.returncode == 0, edited.stdout + edited.stderr
    st = _status(root, env)
    assert st["camp/b"]["state"] == "sent" and st["camp/b"]["url"] != st["camp/a"]["url"]
    assert sorted(t["text"] for t in xapi.server.store.tweets) == sorted(
        [SAME, SAME + " (edited)", "Something else entirely"])


def test_reconcile_after_a_crash_does_not_adopt_the_other_posts_tweet(tmp_path, xapi):
    root = make_project(tmp_path / "proj", {"camp/a.md": _post(3, SAME)}, toml=X_ONLY)
    config = load_config(root, env=dict(xapi.env))
    with Store.open(config) as store:
        pub = Publisher(config, store, clock=SystemClock(), log=lambda _l: None)
        assert pub.publish_due().published
        a = store.publications.lane("camp/a", "x")[0]
        # a process died after claiming camp/b (same text) and before sending it
        (root / "posts/camp/b.md").write_text(_post(2, SAME))
        dead = f"{socket.gethostname()}:999999999:1:dead"
        store.publications.claim("camp/b", "x", [(0, SAME, None)], "old-hash", dead,
                                 datetime.now(UTC), timedelta(minutes=15))
        lines: list[str] = []
        report = Publisher(config, store, clock=SystemClock(), log=lines.append).publish_due()
        b = store.publications.lane("camp/b", "x")[0]
        assert any("camp/b part 1: reconciled, the interrupted attempt did not land" in ln
                   for ln in lines), lines
        assert (b.state, b.kind, b.remote_id) == ("failed", "duplicate", None)
        assert b.error == (f"X refused this text as a duplicate of camp/a ({a.url}); "
                           "edit the text to post it")
        assert [(i.post_id, i.platform) for i in report.failed] == [("camp/b", "x")]
        assert store.publications.lane("camp/a", "x")[0].remote_id == a.remote_id
    assert [t["text"] for t in xapi.server.store.tweets] == [SAME]
