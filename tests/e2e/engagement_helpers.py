"""Engaging on the local PDS as a second account would: likes, reposts, replies and quotes
written over XRPC (``com.atproto.repo.createRecord``) with the account's own session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx


class Bsky:
    """One PDS account writing records over XRPC (likes, reposts, replies, quotes)."""

    def __init__(self, url: str, handle: str, password: str) -> None:
        self.url, self.http = url, httpx.Client(timeout=30)
        r = self.http.post(f"{url}/xrpc/com.atproto.server.createSession",
                           json={"identifier": handle, "password": password})
        r.raise_for_status()
        self.did, self.jwt = r.json()["did"], r.json()["accessJwt"]

    def create(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(f"{self.url}/xrpc/com.atproto.repo.createRecord",
                           headers={"Authorization": f"Bearer {self.jwt}"},
                           json={"repo": self.did, "collection": collection,
                                 "record": {**record, "createdAt": _now()}})
        r.raise_for_status()
        return dict(r.json())

    def like(self, ref: dict[str, str]) -> None:
        self.create("app.bsky.feed.like", {"subject": ref})

    def repost(self, ref: dict[str, str]) -> None:
        self.create("app.bsky.feed.repost", {"subject": ref})

    def reply(self, ref: dict[str, str], text: str) -> None:
        self.create("app.bsky.feed.post", {"text": text, "reply": {"root": ref, "parent": ref}})

    def quote(self, ref: dict[str, str], text: str) -> None:
        self.create("app.bsky.feed.post", {"text": text, "embed": {
            "$type": "app.bsky.embed.record", "record": ref}})


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
