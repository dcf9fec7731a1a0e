"""A recording in-memory Platform for console tests (the e2e tests use the real local servers)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from uprbuzz.platforms.base import KeySeed, Limits, OutgoingPart, Remote


class FakePlatform:
    def __init__(self, name: str) -> None:
        self.name = name
        self.limits = Limits(300 if name == "bluesky" else 280, atomic_threads=name == "bluesky")
        self.posts: list[dict[str, object]] = []
        self.fail: list[Exception] = []  # raised (and consumed) one per call, in order
        self.gate: threading.Event | None = None  # publish blocks until set
        self.calls = 0
        self._lock = threading.Lock()

    def verify(self) -> object:
        return None

    def new_keys(self, count: int, seed: KeySeed | None = None) -> list[str | None]:
        return [None] * count

    def publish(self, parts: Sequence[OutgoingPart], keys: Sequence[str | None],
                reply_to: tuple[Remote, Remote] | None = None) -> list[Remote]:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        with self._lock:
            if self.fail:
                raise self.fail.pop(0)
            out = []
            for part in parts:
                rid = str(len(self.posts) + 1)
                r = Remote(self.name, rid, f"https://{self.name}.test/{rid}",
                           f"at://did:test/{self.name}/{rid}", f"cid{rid}")
                self.posts.append({"id": rid, "text": part.text, "media": len(part.media),
                                   "root": reply_to[0].id if reply_to else None,
                                   "parent": reply_to[1].id if reply_to else None})
                reply_to = (reply_to[0] if reply_to else r, r)
                out.append(r)
            return out

    def lookup(self, part: OutgoingPart, key: str | None, since: datetime) -> Remote | None:
        for p in self.posts:
            if p["text"] == part.text:
                rid = str(p["id"])
                return Remote(self.name, rid, f"https://{self.name}.test/{rid}",
                              f"at://did:test/{self.name}/{rid}", f"cid{rid}")
        return None

    def delete(self, remote: Remote) -> None:
        self.posts = [p for p in self.posts if p["id"] != remote.id]
