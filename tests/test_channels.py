"""Channels: several accounts per platform. Config parsing (legacy [platforms.*] tables keep
working as channels x and bluesky), routing by language or by name, per-channel variants and
caps, the ledger's lane per channel, and a store from before channels carried over without
re-sending anything."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.publish import FakePlatform
from uprbuzz.checks.budget import Budget
from uprbuzz.clock import FixedClock
from uprbuzz.config import Config, ConfigError, load_config, read_config
from uprbuzz.model import Part, Post
from uprbuzz.publish.publisher import Publisher
from uprbuzz.sources.posts.post_parse import parse_post_bytes
from uprbuzz.store import Store
from uprbuzz.store.migrations import MIGRATIONS

T0 = datetime(2020, 11, 9, 13, 30, tzinfo=UTC)
NETWORK = """[project]
name = "network"
timezone = "UTC"

[channels.main]
platform = "x"
langs = ["en"]

[channels.main-es]
platform = "x"
langs = ["es"]

[channels.bsky]
platform = "bluesky"
handle = "network.test"

[channels.toot]
platform = "mastodon"
url = "http://127.0.0.1:9"
visibility = "unlisted"
max_characters = 1000

[budget]
x = 100
main-es = 1
"""


def project(tmp_path: Path, toml: str = NETWORK) -> Path:
    (tmp_path / "posts").mkdir(parents=True, exist_ok=True)
    (tmp_path / "uprbuzz.toml").write_text(toml, encoding="utf-8")
    return tmp_path


def test_legacy_config_is_two_channels_named_after_their_platforms(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path, '[project]\nname = "old"\n[platforms.bluesky]\n'
                                        'enabled = false\n'), env={"UPRBUZZ_X_ACCESS_TOKEN": "t"})
    assert [(c.name, c.platform, c.enabled) for c in cfg.channels] == [
        ("x", "x", True), ("bluesky", "bluesky", False)]
    assert cfg.platforms == ("x",) and cfg.channel("x").account is cfg.x
    assert cfg.x.access_token is not None  # UPRBUZZ_X_* as before


def test_channels_read_with_credentials_per_channel(tmp_path: Path) -> None:
    env = {"UPRBUZZ_MAIN_ES_CONSUMER_KEY": "k", "UPRBUZZ_MAIN_ES_CONSUMER_SECRET": "s",
           "UPRBUZZ_MAIN_ES_ACCESS_TOKEN": "t", "UPRBUZZ_MAIN_ES_ACCESS_SECRET": "a",
           "UPRBUZZ_TOOT_ACCESS_TOKEN": "m", "UPRBUZZ_BSKY_PASSWORD": "p"}
    cfg = load_config(project(tmp_path), env=env)
    assert [(c.name, c.platform) for c in cfg.channels] == [
        ("main", "x"), ("main-es", "x"), ("bsky", "bluesky"), ("toot", "mastodon")]
    assert cfg.channel("main-es").account.has_credentials
    assert not cfg.channel("main").account.has_credentials  # its own variables, not x's
    toot = cfg.channel("toot")
    assert toot.account.visibility == "unlisted" and toot.max_characters == 1000
    assert toot.account.access_token.reveal() == "m"
    assert cfg.channel("bsky").account.handle == "network.test"
    assert cfg.platforms == ("x", "bluesky", "mastodon")


def test_channel_mistakes_are_located(tmp_path: Path) -> None:
    root = project(tmp_path, '[project]\nname = "n"\n[channels.a]\nplatform = "myspace"\n'
                             '[channels.b]\nplatform = "mastodon"\nvisibilty = "public"\n'
                             '[channels.Bad_Name]\nplatform = "x"\n')
    problems = {(e.line, e.message.split(":")[0]) for e in read_config(root, env={}).problems}
    assert (4, '[channels.a] needs platform = "x", "bluesky" or "mastodon"') in problems
    assert any(line == 7 and "visibilty" in msg for line, msg in
               ((e.line, e.message) for e in read_config(root, env={}).problems))
    assert any("Bad_Name" in e.message for e in read_config(root, env={}).problems)
    with pytest.raises(ConfigError, match="uprbuzz.toml:4"):
        load_config(root, env={})


def _post(text: str, lang: str = "en", **kw: object) -> Post:
    return Post("p", (Part(text),), at=T0, status="approved",
                platforms=("x", "bluesky", "mastodon"), langs=(lang,), **kw)  # type: ignore[arg-type]


def test_routing_by_language_by_name_and_skips(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path), env={})
    names = lambda post: [c.name for c in cfg.route(post)]  # noqa: E731
    assert names(_post("Hello")) == ["main", "bsky", "toot"]  # no langs: every language
    assert names(_post("Hola", "es")) == ["main-es", "bsky", "toot"]
    assert names(_post("Hola", "es-MX")) == ["main-es", "bsky", "toot"]
    # nobody speaks French on X: every X channel; Bluesky's only channel takes any language
    assert names(_post("Bonjour", "fr")) == ["main", "main-es", "bsky", "toot"]
    assert names(_post("Hi", channels=("main", "toot"))) == ["main", "toot"]
    only_x = Post("p", (Part("x"),), platforms=("x",), langs=("fr",))
    assert names(only_x) == ["main", "main-es"]  # nobody speaks French on X: all X channels


def test_post_file_channels_and_a_channel_block(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path), env={})
    text = ("---\nstatus: approved\nchannels: [main, toot]\ncontent_warning: Police violence\n"
            "sensitive: true\ntoot:\n  text: A longer variant for Mastodon\n---\nShort for X\n")
    post, diags = parse_post_bytes(text.encode(), "posts/a.md", cfg)
    assert post is not None and [d for d in diags if d.severity == "error"] == []
    assert post.channels == ("main", "toot") and post.content_warning == "Police violence"
    assert post.sensitive
    assert [p.text for p in post.parts_on("main", "x")] == ["Short for X"]
    assert [p.text for p in post.parts_on("toot", "mastodon")] == ["A longer variant for Mastodon"]
    bad, diags = parse_post_bytes(b"---\nchannels: [mian]\n---\nHi\n", "posts/b.md", cfg)
    assert any(d.code == "unknown-channel" and "did you mean 'main'" in d.message for d in diags)


def test_budget_caps_per_channel_and_per_platform(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path), env={})
    b = Budget.from_config(cfg)
    assert b.caps["main-es"] == 1 and b.caps["x"] == 100
    with Store.open(tmp_path / "s.sqlite") as store:
        store.publications.mark("old", "main-es", 0, "sent", T0)
        es = _post("Hola", "es")
        assert "channel main-es" in (b.defer_reason(store, "main-es", es, T0) or "")
        assert b.defer_reason(store, "main", _post("Hello"), T0) is None
    with pytest.raises(ConfigError, match="did you mean 'main-es'"):
        Budget.from_config(load_config(project(tmp_path, NETWORK.replace("main-es = 1",
                                                                          "main_es = 1")), env={}))


def test_one_post_on_two_x_accounts_is_two_lanes(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path), env={})
    clock = FixedClock(T0)
    main, es = FakePlatform("x", clock=clock), FakePlatform("x", clock=clock)
    with Store.open(tmp_path / "s.sqlite") as store:
        pub = Publisher(cfg, store, clock=clock, platforms={"main": main, "main-es": es},
                        log=lambda _l: None)
        out = pub.publish_post(_post("Same words on both accounts", channels=("main", "main-es")))
        assert {k: o.state for k, o in out.items()} == {"main": "sent", "main-es": "sent"}
        assert main.texts() == es.texts() == ["Same words on both accounts"]
        assert {r.channel for r in store.publications.rows()} == {"main", "main-es"}
        again = pub.publish_post(_post("Same words on both accounts",
                                       channels=("main", "main-es")))
        assert all(o.state == "sent" for o in again.values()) and len(main.texts()) == 1


SENT = Post("sent-post", (Part("Already out"),), at=T0, status="approved",
            platforms=("x", "bluesky"))
THREAD = Post("thread", (Part("Part one"), Part("Part two")), at=T0, status="approved",
              platforms=("x",))


def _v3_store(path: Path) -> None:
    """A state store as today's main wrote it (schema 3: lanes named by platform), with a post
    sent to X and Bluesky and a thread whose second X part never went out."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for version, sql in MIGRATIONS:
        if version > 3:
            break
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, T0.isoformat()))
    now = T0.isoformat()
    rows = [(SENT, "x", 0, "101"), (SENT, "bluesky", 0, "3kabc"), (THREAD, "x", 0, "102")]
    for post, plat, part, rid in rows:
        conn.execute("INSERT INTO publications (post_id, platform, part, content_hash, state, "
                     "remote_id, url, updated_at, sent_at, text) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (post.id, plat, part, post.content_hash(), "sent", rid, f"https://t/{rid}",
                      now, now, post.parts[part].text))
    conn.commit()
    conn.close()


def test_a_store_from_before_channels_resends_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, '[project]\nname = "old"\ntimezone = "UTC"\n')
    db = tmp_path / "state.sqlite"
    _v3_store(db)
    cfg = load_config(root, env={})
    clock = FixedClock(T0 + timedelta(minutes=1))
    x, bs = FakePlatform("x", clock=clock), FakePlatform("bluesky", clock=clock)
    for plat, rid, text in ((x, "101", "Already out"), (bs, "3kabc", "Already out"),
                            (x, "102", "Part one")):  # what the platforms already hold
        plat.posts.append({"id": rid, "key": None, "text": text, "parent": None, "root": rid,
                           "media": [], "sizes": [], "langs": ("en",), "link": None, "at": T0})
    with Store.open(db) as store:  # migrates to channels
        assert store.db.version == max(v for v, _ in MIGRATIONS)
        pub = Publisher(cfg, store, clock=clock, platforms={"x": x, "bluesky": bs},
                        log=lambda _l: None)
        pub.publish_post(SENT)
        pub.publish_post(THREAD)
        rows = {(r.post_id, r.channel, r.part): r.state for r in store.publications.rows()}
    # only what had not gone out, replying to the part that had
    assert x.texts() == ["Already out", "Part one", "Part two"]
    assert x.posts[-1]["parent"] == "102" and bs.texts() == ["Already out"]
    assert rows == {("sent-post", "x", 0): "sent", ("sent-post", "bluesky", 0): "sent",
                    ("thread", "x", 0): "sent", ("thread", "x", 1): "sent"}


def test_status_json_names_channel_and_platform(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from uprbuzz.cli import main

    root = project(tmp_path)
    with Store.open(Config(root=root, state=".uprbuzz/state.sqlite").state_path) as store:
        store.publications.mark("p", "main-es", 0, "failed", T0, error="nope")
    r = CliRunner().invoke(main, ["-C", str(root), "status", "--json"], env={})
    assert r.exit_code == 0, r.output
    assert {"channel": "main-es", "platform": "x"}.items() <= json.loads(r.output)[0].items()


@pytest.mark.e2e
def test_a_warm_publish_does_not_measure_again(tmp_path: Path, xapi) -> None:  # type: ignore[no-untyped-def]
    """Content whose checks passed is not measured again: the second run, which sends it,
    never imports twitter-text (0.4 s of regex compilation per process)."""
    import os
    import subprocess
    import sys

    from tests.fixtures.publish import REPO, make_project

    root = make_project(tmp_path / "p", {"a.md": "---\nstatus: approved\n---\nHello, network\n"},
                        toml="[platforms.bluesky]\nenabled = false\n")
    # the click CLI itself: the console script's entry leaves with os._exit after an SDK import
    script = ("import sys\nfrom uprbuzz.cli import main\n"
              "try:\n    main(['-C', sys.argv[1], 'publish', 'a'])\n"
              "except SystemExit:\n    pass\nprint('twitter_text imported:', "
              "'twitter_text' in sys.modules)\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    base["PYTHONPATH"] = str(REPO / "src")

    def run(env: dict[str, str]) -> str:
        r = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True,
                           text=True, env={**base, **env}, timeout=120)
        return r.stdout + r.stderr

    first = run({})  # no X credentials: checked (and measured), then not sent
    assert "no credentials" in first and "twitter_text imported: True" in first
    second = run(xapi.env)
    assert "twitter_text imported: False" in second, second
    assert [t["text"] for t in xapi.server.store.tweets] == ["Hello, network"]
