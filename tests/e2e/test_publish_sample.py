"""The repository's sample queue, published (every approved post, by name) to the X stand-in and
the real PDS, then read back: texts, thread structure, image alt texts and aspect ratios."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fixtures.publish import pds_records, pub_env, run_uprbuzz

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def _sample_posts(root: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    from uprbuzz.config import load_config
    from uprbuzz.sources.gather import load_all

    config = load_config(root, env=env)
    loaded = load_all(config)
    return config, [p for p in loaded.posts if p.status == "approved" and p.origin == "queue"]


@pytest.mark.skipif(not (REPO / "uprbuzz.toml").is_file() or not any((REPO / "posts").rglob("*.md")),
                    reason="the sample queue (uprbuzz.toml, posts/) is not in the repository yet")
def test_sample_queue_lands_as_written(tmp_path, xapi, bsky_config, pds):
    from tests.e2e.test_publish_crash import unlimited

    unlimited(xapi)
    root = tmp_path / "sample"
    for name in ("uprbuzz.toml", "posts", "media", "schedules"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("rendered"))
        elif src.is_file():
            root.mkdir(exist_ok=True)
            shutil.copy(src, root / name)
    toml = (root / "uprbuzz.toml").read_text(encoding="utf-8")
    if "[budget]" not in toml:  # the editorial daily caps are not what this test is about
        (root / "uprbuzz.toml").write_text(toml + "\n[budget]\nx = 10000\nbluesky = 10000\n")
    env = pub_env(xapi, bsky_config)
    config, posts = _sample_posts(root, env)
    assert posts, "the sample queue has no approved post"
    r = run_uprbuzz(["publish", "--json", *[p.id for p in posts]], root, env, timeout=300)
    report = json.loads(r.stdout)
    states = {(i["post"], i["platform"]): i for i in report["items"]}
    tweets = [t for t in xapi.server.store.tweets if not t["deleted"]]
    recs = {rec["uri"]: rec for rec in pds_records(pds.url, bsky_config.handle)}
    rows = json.loads(run_uprbuzz(["status", "--json"], root, env).stdout)
    sent = {(row["post_id"], row["platform"], row["part"]): row for row in rows
            if row["state"] == "sent"}
    checked = 0
    for post in posts:
        for name in post.targets:
            if name not in config.platforms:
                continue
            item = states.get((post.id, name))
            assert item and item["state"] == "sent", (post.id, name, item)
            parts = post.parts_for(name) or ()
            for k, part in enumerate(parts):
                row = sent[(post.id, name, k)]
                if name == "x":
                    t = next(t for t in tweets if t["id"] == row["remote_id"])
                    assert t["text"] == part.text.strip() or t["text"] == part.text
                    parent = sent.get((post.id, name, k - 1))
                    assert t["in_reply_to_tweet_id"] == (parent["remote_id"] if parent else None)
                    own_alts = [m.alt or None for m in part.media]
                    assert t["alt_texts"][-len(own_alts):] == own_alts if own_alts else True
                else:
                    rec = recs[row["uri"]]["value"]
                    assert rec["text"] == part.text
                    assert rec["langs"] == list(post.langs)
                    if k:
                        assert rec["reply"]["parent"]["uri"] == sent[(post.id, name, k - 1)]["uri"]
                    imgs = (rec.get("embed") or {}).get("images", [])
                    own = [m for m in part.media]
                    if own and imgs:
                        assert [i["alt"] for i in imgs][-len(own):] == [m.alt for m in own]
                        assert all(i["aspectRatio"]["width"] > 0 for i in imgs)
                checked += 1
    assert checked >= len(posts)
    # nothing twice
    assert len({t["text"] for t in tweets}) == len(tweets)
