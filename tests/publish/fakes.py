"""An in-memory Platform (the protocol, no HTTP) to drive the publish loop's error policy.

It is not a stand-in server: e2e tests use the real X stand-in and the real PDS. It keeps what
it accepted (so a duplicate is visible) and raises scripted errors, optionally *after* applying
the write (the ambiguous case).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

from uprbuzz.platforms.base import Limits, OutgoingPart, Remote

_ids = itertools.count(1000)


class FakePlatform:
    def __init__(self, name: str = "x", atomic: bool = False, clock=None) -> None:
        self.name = name
        self.limits = Limits(max_length=300, atomic_threads=atomic)
        self.posts: list[dict] = []  # accepted writes, in order
        self.script: list[tuple[BaseException, bool]] = []  # (error, apply_first)
        self.calls: list[list[str]] = []
        self.keys_seen: list[list[str | None]] = []
        self.deleted: list[str] = []
        self.lookups = 0
        self.on_publish = None  # hook(parts, keys) called before anything else
        self.clock = clock

    def fail(self, err: BaseException, *, applied: bool = False, times: int = 1) -> None:
        self.script.extend([(err, applied)] * times)

    def verify(self):
        return None

    def new_keys(self, count: int) -> list[str | None]:
        if not self.limits.atomic_threads:
            return [None] * count
        return [f"k{next(_ids)}" for _ in range(count)]

    def _now(self) -> datetime:
        return self.clock.now() if self.clock else datetime.now(UTC)

    def publish(self, parts: Sequence[OutgoingPart], keys, reply_to=None) -> list[Remote]:
        if self.on_publish:
            self.on_publish(parts, keys)
        self.calls.append([p.text for p in parts])
        self.keys_seen.append(list(keys))
        err, applied = self.script.pop(0) if self.script else (None, False)
        if err is not None and not applied:
            raise err
        out = []
        parent = reply_to[1].id if reply_to else None
        for p, k in zip(parts, keys):
            if self.limits.atomic_threads and any(x["key"] == k for x in self.posts if k):
                from uprbuzz.platforms.base import Rejected
                raise Rejected("record already exists", platform=self.name)
            rid = k or str(next(_ids))
            self.posts.append({"id": rid, "key": k, "text": p.text, "parent": parent,
                               "media": [(m.alt, m.width, m.height) for m in p.media],
                               "langs": p.langs, "link": p.link, "at": self._now()})
            out.append(Remote(self.name, rid, f"https://{self.name}.test/{rid}"))
            parent = rid
        if err is not None:
            raise err
        return out

    def lookup(self, part: OutgoingPart, key, since: datetime) -> Remote | None:
        self.lookups += 1
        for x in reversed(self.posts):  # newest first, as X's recent posts
            if (key and x["key"] == key) or (not key and x["text"] == part.text and x["at"] >= since):
                return Remote(self.name, x["id"], f"https://{self.name}.test/{x['id']}")
        return None

    def delete(self, remote: Remote) -> None:
        self.deleted.append(remote.id)
        self.posts = [x for x in self.posts if x["id"] != remote.id]

    def texts(self) -> list[str]:
        return [x["text"] for x in self.posts]
