"""The JSON round-trip of Posts (stored posts, the parse cache, live posts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from uprbuzz.model import Card, Loc, Media, Override, Part, Post, post_from_dict, post_to_dict


def full_post() -> Post:
    img = Media("media/a.png", "A chart", False, Loc("posts/a.md", 4, 3), 1600, 900)
    return Post(
        id="a", parts=(Part("First", (img,), Loc("posts/a.md", 6, 1)), Part("Second")),
        at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), status="approved",
        platforms=("bluesky",), langs=("en", "fr"), link="https://example.org/a", tags=("upr",),
        overrides={"x": Override(parts=(Part("Short"),), media=(Media("m/b.png", "", True),)),
                   "bluesky": Override(skip=True)},
        card=Card("quote", {"text": "Hi", "name": "Ana"}, "1080x1080", "A quote card"),
        source=Loc("posts/a.md", 1, 1), origin="campaign")


def test_round_trip_through_json_keeps_every_field() -> None:
    post = full_post()
    back = post_from_dict(json.loads(json.dumps(post_to_dict(post))))
    assert back == post and back.content_hash() == post.content_hash()
    # fields that take no part in equality survive too
    assert back.source == post.source and back.origin == "campaign"
    assert back.parts[0].loc == Loc("posts/a.md", 6, 1)
    m = back.parts[0].media[0]
    assert (m.loc, m.width, m.height) == (Loc("posts/a.md", 4, 3), 1600, 900)
    assert isinstance(back.platforms, tuple) and isinstance(back.overrides["x"].parts, tuple)


def test_round_trip_of_a_minimal_post_keeps_defaults() -> None:
    post = Post(id="b", parts=(Part("Only text"),))
    back = post_from_dict(json.loads(json.dumps(post_to_dict(post))))
    assert back == post
    assert back.card is None and back.at is None and back.source is None


@pytest.mark.parametrize("change, error", [
    ({"status": "published"}, ValueError),
    ({"platforms": "x"}, TypeError),  # a string is not an array of platforms
    ({"tags": [1]}, TypeError),
    ({"link": 3}, TypeError),
    ({"parts": [{"text": "t", "media": [{"path": "p", "width": "wide"}]}]}, TypeError),
    ({"card": {"template": "quote", "fields": {"n": 1}}}, TypeError),
    ({"source": ["posts/a.md", "one", 1]}, TypeError),
])
def test_a_corrupt_stored_post_is_reported_not_coerced(change: dict[str, object],
                                                       error: type[Exception]) -> None:
    d = post_to_dict(full_post())
    d.update(change)
    with pytest.raises(error, match="stored post"):
        post_from_dict(d)
