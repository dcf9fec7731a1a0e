"""Shared by the six-channel crash and fault tests: the sandbox as `uprbuzz sandbox start` sets
it up (two accounts on each of the X stand-in, the real PDS and the Mastodon stand-in, each a
channel), a fault-injecting proxy in front of the PDS, a queue of posts that goes to all six
channels, and what each account holds, read back from the servers themselves."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.pds_proxy import PdsFaultProxy
from tests.fixtures.publish import make_image, make_project, pds_records
from uprbuzz.platforms.limits import MASTODON, X
from uprbuzz.sandbox import manager

CHANNELS = {"x": "x", "x-es": "x", "bluesky": "bluesky", "bluesky-es": "bluesky",
            "mastodon": "mastodon", "mastodon-es": "mastodon"}
# the writes of each platform (where a delay or a dropped answer matters most)
WRITES = {"x": ["POST /2/tweets", "POST /2/media"],
          "mastodon": ["POST /api/v1/statuses", "POST /api/v2/media"],
          "bluesky": ["POST /xrpc/com.atproto.repo.applyWrites",
                      "POST /xrpc/com.atproto.repo.uploadBlob"]}


@dataclass
class Queue:
    """What the queue must leave on every channel: each post's parts, and its image's alt."""

    root: Path
    parts: dict[str, list[str]]  # post id -> part texts
    alts: dict[str, str] = field(default_factory=dict)  # post id -> alt text of part 1's image

    @property
    def n_parts(self) -> int:
        return sum(len(p) for p in self.parts.values())


def queue_project(root: Path, n: int, tag: str, *, timeout: float | None = None) -> Queue:
    """``n`` approved posts due a minute ago, every one routed to all six channels (no channel
    declares languages): every 4th a 3-part thread, every 5th with an image (with alt text) on
    its first part. ``timeout``: each channel's request timeout."""
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    posts, parts, alts = {}, {}, {}
    for i in range(n):
        media = ""
        if i % 5 == 0:
            alt = f"Picture {i % 3} for post {i:03d}"
            media = f"media:\n  - path: media/p{i % 3}.png\n    alt: {alt}\n"
            alts[f"q/{i:03d}"] = alt
        texts = [f"{tag} post {i:03d} part {k + 1}" for k in range(3 if i % 4 == 0 else 1)]
        posts[f"q/{i:03d}.md"] = (f"---\nat: {at}\nstatus: approved\n{media}---\n"
                                  + "\n---\n".join(texts) + "\n")
        parts[f"q/{i:03d}"] = texts
    toml = "mastodon = 100000\n"  # make_project's [budget] table goes on
    for name, platform in CHANNELS.items():
        toml += f'[channels.{name}]\nplatform = "{platform}"\n'
        if timeout is not None:
            toml += f"timeout = {timeout}\n"
    make_project(root, posts, toml=toml)
    for k in range(3):
        make_image(root / f"media/p{k}.png", 48 + 8 * k, 32, ("red", "green", "blue")[k])
    return Queue(root, parts, alts)


@dataclass
class Held:
    """One live post as its server holds it."""

    id: str
    text: str
    parent: str | None
    root: str | None = None  # Bluesky's reply root
    alts: list[str] = field(default_factory=list)


@dataclass
class SixChannels:
    root: Path
    state: dict[str, Any]
    env: dict[str, str]  # every channel's UPRBUZZ_* variables; Bluesky through the proxy
    proxy: PdsFaultProxy
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))  # polled often

    @property
    def pds_url(self) -> str:
        return str(self.state["bluesky"]["url"])

    def admin(self, platform: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.state[platform]["url"] + path
        r = self.http.post(url, json=body) if body is not None else self.http.get(url)
        r.raise_for_status()
        return r.json()

    def set_faults(self, **per_platform: dict[str, Any]) -> None:
        """``set_faults(x={...}, mastodon={...}, bluesky={...})``: the stand-ins' fault settings
        (``/_admin/faults``) and the PDS proxy's."""
        for platform, settings in per_platform.items():
            if platform == "bluesky":
                self.proxy.set_faults(**settings)
            else:
                self.admin(platform, "/_admin/faults", settings)

    def no_faults(self) -> None:
        off = {"error_rate": 0.0, "delay_rate": 0.0, "rate_limit_rate": 0.0, "drop_rate": 0.0,
               "delay_after_write_rate": 0.0, "script": []}
        self.set_faults(x=off, mastodon=off, bluesky=off)

    def counts(self) -> dict[str, Any]:
        """Requests, live posts and faults so far on the X and Mastodon stand-ins (cheap)."""
        return {p: self.admin(p, "/_admin/counts") for p in ("x", "mastodon")}

    def writes_seen(self) -> int:
        """Live posts on both stand-ins plus Bluesky thread writes (applyWrites requests through
        the proxy): how far publishing has got, cheaply."""
        c = self.counts()
        return int(c["x"]["posts"] + c["mastodon"]["posts"]
                   + self.proxy.routes["POST /xrpc/com.atproto.repo.applyWrites"])

    def holdings(self) -> dict[str, list[Held]]:
        """Every channel's live posts, read from its server."""
        out: dict[str, list[Held]] = {name: [] for name in CHANNELS}
        x = self.admin("x", "/_admin/timeline")
        users = {a["user_id"]: name for a, name in zip(self.state["x"]["accounts"],
                                                       manager.CHANNELS["x"], strict=True)}
        for t in x["tweets"]:
            if not t["deleted"]:
                out[users[t["author_id"]]].append(
                    Held(t["id"], t["text"], t["in_reply_to_tweet_id"], alts=t.get("alt_texts") or []))
        m = self.admin("mastodon", "/_admin/timeline")
        accts = {a["id"]: name for a, name in zip(self.state["mastodon"]["accounts"],
                                                  manager.CHANNELS["mastodon"], strict=True)}
        for s in m["statuses"]:
            if not s["deleted"]:
                out[accts[s["account_id"]]].append(
                    Held(s["id"], s["text"], s["in_reply_to_id"],
                         alts=[md["description"] for md in s["media"]]))
        for a, name in zip(self.state["bluesky"]["accounts"], manager.CHANNELS["bluesky"],
                           strict=True):
            for r in pds_records(self.pds_url, a["did"]):
                v = r["value"]
                reply = v.get("reply") or {}
                embed = v.get("embed") or {}
                out[name].append(Held(r["uri"], v.get("text", ""),
                                      (reply.get("parent") or {}).get("uri"),
                                      (reply.get("root") or {}).get("uri"),
                                      [img.get("alt", "") for img in embed.get("images", [])]))
        return out


@contextmanager
def six_channels(root: Path) -> Iterator[SixChannels]:
    """``uprbuzz sandbox start`` for the project at ``root`` (the stand-ins as processes, the
    PDS with two accounts), rate limits lifted (the queue is far above a day's posting), and the
    Bluesky channels pointed at a fault proxy in front of the PDS."""
    state, _ = manager.start(root)
    proxy = sc = None
    try:
        proxy = PdsFaultProxy(state["bluesky"]["url"])
        env = manager.channel_env(state)
        for name in manager.CHANNELS["bluesky"]:
            env[f"UPRBUZZ_{name.upper().replace('-', '_')}_PDS"] = proxy.url
        sc = SixChannels(root, state, env, proxy)
        sc.admin("x", "/_admin/limits", {k: [1_000_000, 900] for k in X.rate_limits})
        sc.admin("mastodon", "/_admin/limits", {k: [1_000_000, 900] for k in MASTODON.rate_limits})
        sc.admin("mastodon", "/_admin/instance", {"processing_seconds": 0.05})
        yield sc
    finally:
        if sc is not None:
            sc.http.close()
        if proxy is not None:
            proxy.stop()
        manager.stop(root)


def exactly_once_problems(held: dict[str, list[Held]], queue: Queue) -> list[str]:
    """Every way the servers' holdings differ from "each part exactly once on each channel, each
    thread chained part to part, each image with its alt text" (empty: all good)."""
    want = Counter(t for texts in queue.parts.values() for t in texts)
    problems: list[str] = []
    for channel, posts in held.items():
        got = Counter(p.text for p in posts)
        wrong = {t: got[t] for t in want.keys() | got.keys() if got[t] != want.get(t, 0)}
        if wrong:
            shown = dict(sorted(wrong.items())[:8])
            problems.append(f"{channel}: {len(wrong)} texts not exactly once, e.g. {shown}")
            continue
        by_text = {p.text: p for p in posts}
        for pid, texts in queue.parts.items():
            first = by_text[texts[0]]
            if first.parent is not None:
                problems.append(f"{channel}: {pid} part 1 is a reply to {first.parent}")
            for k in range(1, len(texts)):
                cur, prev = by_text[texts[k]], by_text[texts[k - 1]]
                if cur.parent != prev.id:
                    problems.append(f"{channel}: {pid} part {k + 1} replies to {cur.parent}, "
                                    f"not to part {k} ({prev.id})")
                if CHANNELS[channel] == "bluesky" and cur.root != first.id:
                    problems.append(f"{channel}: {pid} part {k + 1} has root {cur.root}")
            alt = queue.alts.get(pid)
            if [a for a in first.alts if a] != ([alt] if alt else []):
                problems.append(f"{channel}: {pid} part 1 images' alt texts {first.alts}, "
                                f"want {[alt] if alt else []}")
    return problems


def ledger_rows(root: Path, env: dict[str, str]) -> list[Any]:
    """The ledger's rows (read directly, as `uprbuzz status` does)."""
    from uprbuzz.config import load_config
    from uprbuzz.store import Store

    with Store.open(load_config(root, env=env)) as store:
        return list(store.publications.rows())


def ledger_states(root: Path, env: dict[str, str]) -> Counter[str]:
    return Counter(r.state for r in ledger_rows(root, env))


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)[:4000]
