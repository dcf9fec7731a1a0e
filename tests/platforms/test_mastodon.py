"""MastodonPlatform specifics (the shared cases are in test_contract.py): waiting for media
processing, rate limits, errors mapped into the tree, lookup after the server forgot the
idempotency key, the instance's limits kept through the callables, what a post carries."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fixtures.mastodon import ACCOUNT, OTHER, mastodon_config
from tests.platforms.test_contract import png
from uprbuzz.config import MastodonConfig, Secret
from uprbuzz.platforms import get_platform
from uprbuzz.platforms.base import (
    Ambiguous,
    AuthFailed,
    OutgoingPart,
    Platform,
    RateLimited,
    Rejected,
    Remote,
    TransientError,
)
from uprbuzz.platforms.limits import MASTODON
from uprbuzz.platforms.mastodon import MastodonPlatform, comparable, html_to_text
from uprbuzz.sandbox.mastodon_store import IDEMPOTENCY_TTL


@pytest.fixture
def srv(mastodon_api):  # type: ignore[no-untyped-def]
    return mastodon_api.server


@pytest.fixture
def plat(mastodon_api) -> MastodonPlatform:  # type: ignore[no-untyped-def]
    return MastodonPlatform(mastodon_api.config)


def statuses(srv: Any, account: str = ACCOUNT.id) -> list[dict[str, Any]]:
    return list(reversed(srv.store.account_statuses(account)))


def one(plat: MastodonPlatform, part: OutgoingPart, **kw: Any) -> Remote:
    [r] = plat.publish([part], plat.new_keys(1), **kw)
    return r


def test_built_by_name_and_lazy() -> None:
    cfg = MastodonConfig(api_url="https://mastodon.example", access_token=Secret("t"))
    p = get_platform("mastodon", cfg, name="mastodon-ngo")
    assert isinstance(p, MastodonPlatform) and isinstance(p, Platform) and p.name == "mastodon-ngo"
    code = ("import sys, uprbuzz.platforms, uprbuzz.platforms.mastodon, uprbuzz.cli; "
            "print('mastodon' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_missing_credentials_are_auth_failed() -> None:
    with pytest.raises(AuthFailed, match="access token"):
        MastodonPlatform(MastodonConfig(api_url="https://mastodon.example")).verify()


# --- what a post carries --------------------------------------------------------------------

def test_a_post_carries_language_warning_visibility_alt_and_focus(mastodon_api, srv) -> None:  # type: ignore[no-untyped-def]
    plat = MastodonPlatform(replace(mastodon_api.config, visibility="unlisted"))
    media = replace(png(alt="a" * 2000), focus=(0.25, -0.5))  # alt over the instance's 1,500
    r = one(plat, OutgoingPart("Bonjour", (media,), langs=("fr-CH", "en"),
                               spoiler_text="Violence", sensitive=True))
    [st] = statuses(srv)
    assert st["id"] == r.id and r.url == f"https://mastodon.sandbox.test/@upr_coalition/{r.id}"
    assert (st["language"], st["visibility"], st["spoiler_text"], st["sensitive"]) == \
        ("fr", "unlisted", "Violence", True)
    [m] = [srv.store.media[i] for i in st["media_ids"]]
    assert m["description"] == "a" * 1500 and m["focus"] == (0.25, -0.5)


def test_a_thread_under_an_existing_post(plat: MastodonPlatform, srv: Any) -> None:
    root = one(plat, OutgoingPart("The session opens"))
    rs = plat.publish([OutgoingPart("First"), OutgoingPart("Second")], plat.new_keys(2),
                      reply_to=(root, root))
    by_id = {s["id"]: s["in_reply_to_id"] for s in statuses(srv)}
    assert by_id == {root.id: None, rs[0].id: root.id, rs[1].id: rs[0].id}
    assert rs[1].extra == {"root": root.id, "parent": rs[0].id, "text": "Second"}


# --- media processing -----------------------------------------------------------------------

def test_publish_waits_until_the_uploads_are_processed(plat: MastodonPlatform, srv: Any) -> None:
    srv.set_instance(processing_seconds=0.3)
    r = one(plat, OutgoingPart("Two placards", (png("red"), png("blue"))))
    assert [len(s["media_ids"]) for s in statuses(srv)] == [2] and r.id
    polls = [k for k in plat.rate if k.startswith("GET /api/v1/media")]
    assert polls  # it asked GET /api/v1/media/:id until the URL was there


def test_processing_that_outlasts_the_timeout_posts_nothing(mastodon_api, srv) -> None:  # type: ignore[no-untyped-def]
    srv.set_instance(processing_seconds=30)
    plat = MastodonPlatform(replace(mastodon_api.config, timeout=0.5))
    with pytest.raises(TransientError, match="still processing") as e:
        plat.publish([OutgoingPart("Too slow", (png(),))], plat.new_keys(1))
    assert e.value.published == [] and statuses(srv) == []  # type: ignore[attr-defined]


# --- errors ---------------------------------------------------------------------------------

def test_rate_limited_with_the_reset_on_our_clock(plat: MastodonPlatform, srv: Any) -> None:
    srv.advance(5000)  # the server's clock runs ahead: Date and reset move together
    srv.set_limits({"API requests": (2, 300)})
    plat.verify()
    one(plat, OutgoingPart("fits"))
    with pytest.raises(RateLimited) as e:
        one(plat, OutgoingPart("one too many"))
    reset = e.value.reset_at
    assert reset is not None and timedelta(0) < reset - datetime.now(UTC) <= timedelta(seconds=301)
    assert e.value.published == [] and len(statuses(srv)) == 1  # type: ignore[attr-defined]


def test_a_fault_429_is_rate_limited(plat: MastodonPlatform, srv: Any) -> None:
    srv.set_faults(script=["rate_limit"], rate_limit_reset=30)
    with pytest.raises(RateLimited) as e:
        plat.verify()
    assert e.value.reset_at and e.value.reset_at > datetime.now(UTC) + timedelta(seconds=20)


def test_errors_map_into_the_tree(mastodon_api, plat: MastodonPlatform, srv: Any) -> None:  # type: ignore[no-untyped-def]
    first = one(plat, OutgoingPart("Lands"))
    srv.set_faults(script=["ok", "error"], paths=["POST /api/v1/statuses"])  # a 503 on part 2
    with pytest.raises(TransientError) as e:
        plat.publish([OutgoingPart("Part 1"), OutgoingPart("Part 2")], plat.new_keys(2))
    assert e.value.status == 503 and [r.extra["text"] for r in e.value.published] == ["Part 1"]  # type: ignore[attr-defined]
    with pytest.raises(Rejected, match="character limit of 500 exceeded") as r:
        one(plat, OutgoingPart("x" * 501))
    assert r.value.status == 422
    with pytest.raises(Rejected, match="does not appear to exist"):
        one(plat, OutgoingPart("orphan"), reply_to=(first, replace(first, id="424242")))
    with pytest.raises(AuthFailed):
        MastodonPlatform(replace(mastodon_api.config, access_token=Secret("wrong"))).verify()


def test_no_answer_after_sending_is_ambiguous_and_refused_is_transient(mastodon_api, srv) -> None:  # type: ignore[no-untyped-def]
    plat = MastodonPlatform(replace(mastodon_api.config, timeout=0.5))
    srv.set_faults(script=["drop_after_write"], paths=["POST /api/v1/statuses"])
    with pytest.raises(Ambiguous):
        one(plat, OutgoingPart("Dropped after the write"))
    srv.set_faults(script=["delay_after_write"], delay_seconds=1.0, paths=["POST /api/v1/statuses"])
    with pytest.raises(Ambiguous):
        one(plat, OutgoingPart("Timed out after the write"))
    assert [s["text"] for s in statuses(srv)] == ["Dropped after the write", "Timed out after the write"]
    srv.set_faults(script=["drop"], paths=["GET /api/v1/accounts/verify_credentials"])
    with pytest.raises(TransientError):  # a read that got no answer
        plat.verify()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = MastodonPlatform(MastodonConfig(api_url=f"http://127.0.0.1:{port}",
                                             access_token=Secret("t"), timeout=1))
    with pytest.raises(TransientError) as e:
        closed.publish([OutgoingPart("Never sent")], closed.new_keys(1))
    assert not isinstance(e.value, Ambiguous)


def test_a_resend_with_the_stored_key_returns_the_first_post(plat: MastodonPlatform, srv: Any) -> None:
    srv.set_faults(script=["drop_after_write"], paths=["POST /api/v1/statuses"])
    part, keys = OutgoingPart("Sent once"), plat.new_keys(1)
    with pytest.raises(Ambiguous):
        plat.publish([part], keys)
    [r] = plat.publish([part], keys)  # within the hour: the server returns the original
    assert [s["id"] for s in statuses(srv)] == [r.id]


# --- lookup ---------------------------------------------------------------------------------

def test_lookup_after_the_server_forgot_the_key(plat: MastodonPlatform, srv: Any) -> None:
    """The part landed but the answer was lost, and over an hour passed: the key is gone, so
    only the account's statuses can say it landed (a resend would post it twice)."""
    since = datetime.now(UTC) - timedelta(seconds=5)
    text = "Review of <Country> & \"friends\"\n\nSee https://www.ohchr.org/en/hr-bodies/upr/upr-main #UPR37\nline 2"
    part, keys = OutgoingPart(text), plat.new_keys(1)
    srv.set_faults(script=["drop_after_write"], paths=["POST /api/v1/statuses"])
    with pytest.raises(Ambiguous):
        plat.publish([part], keys)
    [landed] = statuses(srv)
    srv.advance(IDEMPOTENCY_TTL + 1)
    found = plat.lookup(part, keys[0], since)
    assert found is not None and found.id == landed["id"]
    assert plat.lookup(OutgoingPart("Never sent"), plat.new_keys(1)[0], since) is None
    # the proof that it mattered: the forgotten key would now make a second post
    plat.publish([part], keys)
    assert len(statuses(srv)) == 2


def test_lookup_pages_and_stops_at_since(plat: MastodonPlatform, srv: Any) -> None:
    srv.advance(-3600)  # the needle is an hour old
    target = one(plat, OutgoingPart("Needle"))
    srv.advance(3600)
    for i in range(45):  # more than a page of 40 on top of it
        one(plat, OutgoingPart(f"Hay {i}"))
    now = datetime.now(UTC)
    assert plat.lookup(OutgoingPart("Needle"), None, now - timedelta(hours=2)) == Remote(
        "mastodon", target.id, target.url, extra={"parent": "", "text": "Needle"})
    # posted before ``since`` (less 10 minutes for clock skew): not looked for further back
    assert plat.lookup(OutgoingPart("Needle"), None, now - timedelta(minutes=5)) is None


def test_lookup_matches_warnings_and_media_only_posts(plat: MastodonPlatform, srv: Any) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    warned = one(plat, OutgoingPart("Same text", spoiler_text="CW"))
    plain = one(plat, OutgoingPart("Same text"))
    assert plat.lookup(OutgoingPart("Same text", spoiler_text="CW"), None, since).id == warned.id  # type: ignore[union-attr]
    assert plat.lookup(OutgoingPart("Same text"), None, since).id == plain.id  # type: ignore[union-attr]
    only_warning = one(plat, OutgoingPart("", spoiler_text="Just a warning"))
    assert plat.lookup(OutgoingPart("", spoiler_text="Just a warning"), None, since).id == only_warning.id  # type: ignore[union-attr]
    pic = one(plat, OutgoingPart("", (png(),)))
    assert plat.lookup(OutgoingPart("", (png(),)), None, since).id == pic.id  # type: ignore[union-attr]


def test_html_back_to_text() -> None:
    html = ('<p>Hello &lt;world&gt; &amp; <a href="https://x.org/a" rel="nofollow"><span class="invisible">'
            'https://</span><span class="">x.org/a</span><span class="invisible"></span></a></p>'
            '<p>two<br />lines</p>')
    assert html_to_text(html) == "Hello <world> & https://x.org/a\n\ntwo\nlines"
    assert comparable("  a \n\n b\u0301 ") == comparable("a b\u0301") == "a b\u0301"


def test_delete_of_what_is_gone_is_fine(plat: MastodonPlatform, srv: Any) -> None:
    r = one(plat, OutgoingPart("Short-lived"))
    plat.delete(r)
    plat.delete(r)
    theirs = MastodonPlatform(mastodon_config(srv, OTHER))
    other = one(theirs, OutgoingPart("Not yours"))
    plat.delete(other)  # another account's post: not found for us, and left alone
    assert [s["text"] for s in statuses(srv, OTHER.id)] == ["Not yours"]


# --- the instance's limits ------------------------------------------------------------------

def test_instance_limits_are_read_once_and_kept_through_the_callables(mastodon_api, srv) -> None:  # type: ignore[no-untyped-def]
    srv.set_instance(max_characters=5000, image_size_limit=8 * 1024 * 1024, description_limit=420)
    kept: list[dict[str, Any]] = []
    first = MastodonPlatform(mastodon_api.config, instance_cache=(lambda: None, kept.append))
    lim = first.limits
    assert (lim.max_length, lim.max_image_bytes, lim.max_alt) == (5000, 8 * 1024 * 1024 - 1, 420)
    assert first.limits is lim and len(kept) == 1  # read once
    assert kept[0]["configuration"]["statuses"]["max_characters"] == 5000
    one(first, OutgoingPart("y" * 5000))  # the instance's own limit, not 500

    before = srv.store.requests
    second = MastodonPlatform(mastodon_api.config, instance_cache=(lambda: kept[0], kept.append))
    assert second.limits.max_length == 5000 and srv.store.requests == before and len(kept) == 1

    stale = dict(kept[0], fetched_at=(datetime.now(UTC) - timedelta(days=8)).isoformat())
    srv.set_instance(max_characters=600)
    third = MastodonPlatform(mastodon_api.config, instance_cache=(lambda: stale, kept.append))
    assert third.limits.max_length == 600 and len(kept) == 2  # a week-old reading is read again


def test_limits_fall_back_to_mastodons_defaults() -> None:
    logs: list[str] = []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = MastodonPlatform(MastodonConfig(api_url=f"http://127.0.0.1:{port}", access_token=Secret("t"),
                                           timeout=1), log=logs.append)
    assert down.limits == MASTODON and "defaults" in logs[0]
    assert down.limits == MASTODON and len(logs) == 1  # not asked again at once
