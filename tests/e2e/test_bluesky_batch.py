"""A Bluesky channel's due posts go out in one applyWrites (one commit for all), in order, each
recorded with its own record; if the shared write fails, they go one by one and still land
exactly once (the keys were stored before the write). Real `uprbuzz publish`, the real PDS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.publish import make_project, pds_records, run_uprbuzz
from uprbuzz.config import load_config
from uprbuzz.platforms.base import KeySeed, OutgoingPart
from uprbuzz.platforms.bluesky import BlueskyPlatform
from uprbuzz.sources.gather import load_all

pytestmark = pytest.mark.e2e

TOML = '[channels.bsky]\nplatform = "bluesky"\n'


def project(tmp_path, n: int):
    start = datetime.now(UTC) - timedelta(minutes=10)
    posts = {}
    for i in range(n):
        at = (start + timedelta(seconds=i)).isoformat(timespec="seconds")
        body = f"Batch post {i:02d} #UPR36" if i != 3 else f"Batch post {i:02d}, 1/2\n---\nand 2/2"
        posts[f"p{i:02d}.md"] = f"---\nat: {at}\nstatus: approved\n---\n{body}\n"
    return make_project(tmp_path / "p", posts, toml=TOML)


def env(bsky) -> dict[str, str]:
    return {"UPRBUZZ_BSKY_PDS": bsky.pds_url, "UPRBUZZ_BSKY_HANDLE": bsky.handle,
            "UPRBUZZ_BSKY_PASSWORD": bsky.password.reveal()}


def texts(pds, bsky) -> list[str]:
    recs = sorted(pds_records(pds.url, bsky.handle), key=lambda r: r["uri"].rsplit("/", 1)[1])
    return [r["value"]["text"] for r in recs]


def test_due_posts_go_out_in_one_write_in_order(tmp_path, pds, bsky_config):
    root = project(tmp_path, 12)
    before = pds.counters().get("com.atproto.repo.applyWrites", 0)
    r = run_uprbuzz(["publish"], root, env(bsky_config))
    assert r.returncode == 0, r.stdout + r.stderr
    writes = pds.counters()["com.atproto.repo.applyWrites"] - before
    assert writes <= 3, writes  # the first post may go alone while the rest are being checked
    got = texts(pds, bsky_config)  # record keys sort by the posts' times
    assert got == [t for i in range(12) for t in (
        [f"Batch post {i:02d}, 1/2", "and 2/2"] if i == 3 else [f"Batch post {i:02d} #UPR36"])]
    assert "13 published" not in r.stdout and "12 published" in r.stdout
    again = run_uprbuzz(["publish"], root, env(bsky_config))
    assert "0 published" in again.stdout and len(texts(pds, bsky_config)) == 13


def test_a_failed_shared_write_falls_back_to_one_by_one_exactly_once(tmp_path, pds, bsky_config):
    """Post 5 already holds its record (sent before a ledger was lost): the shared write is
    refused as a whole, then each post goes on its own; post 5 is found at its key."""
    root = project(tmp_path, 8)
    config = load_config(root, env=env(bsky_config))
    post = {p.id: p for p in load_all(config).posts}["p05"]
    plat = BlueskyPlatform(config.channel("bsky").account)  # type: ignore[union-attr,arg-type]
    keys = plat.new_keys(1, KeySeed(post.id, post.content_hash(), 0, post.at))
    plat.publish([OutgoingPart(post.parts[0].text, langs=("en",))], keys)
    r = run_uprbuzz(["publish"], root, env(bsky_config))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sending them one by one" in r.stdout and "8 published" in r.stdout, r.stdout
    got = texts(pds, bsky_config)
    assert sorted(got) == sorted([f"Batch post {i:02d} #UPR36" for i in range(8) if i != 3]
                                 + ["Batch post 03, 1/2", "and 2/2"])
    assert len(got) == 9  # nothing twice
