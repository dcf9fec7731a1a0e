"""What the X API stand-in holds (tweets, media, rate-limit windows, fault settings).

Kept apart from the HTTP layer so tests can read it directly. All mutation happens under one
lock, so checks such as "duplicate content" are atomic across concurrent requests.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
import unicodedata
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uprbuzz.platforms.limits import X
from uprbuzz.sandbox.http_serve import FAULT_KINDS, Faults, draw_fault, set_faults

TWITTER_EPOCH_MS = 1288834974657

# "METHOD route" -> (limit, window seconds): X's per-user limits, as declared.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    route: (r.limit, r.window) for route, r in X.rate_limits.items()}

# The fault model is shared with the Mastodon stand-in; re-exported here for older imports.
__all__ = ["DEFAULT_LIMITS", "FAULT_KINDS", "TWITTER_EPOCH_MS", "Faults", "XStore", "normalise"]


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


class XStore:
    def __init__(self, *, limits: dict[str, tuple[int, int]] | None = None,
                 faults: Faults | None = None, state_path: str | Path | None = None,
                 duplicate_window: float = float(X.duplicate_window)) -> None:
        self.lock = threading.RLock()
        self.tweets: list[dict[str, Any]] = []  # oldest first
        self.media: dict[str, dict[str, Any]] = {}
        self.media_bytes: dict[str, bytearray] = {}  # upload sessions (not persisted)
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.windows: dict[tuple[str, str], list[float]] = {}  # (user, route) -> [start, count]
        self.faults = faults or Faults()
        self.rng = random.Random(self.faults.seed)
        self.duplicate_window = duplicate_window
        self.requests = 0
        self.reads = 0  # posts returned by GET /2/tweets (X bills each as a read)
        self.fault_log: list[dict[str, Any]] = []
        self.state_path = Path(state_path) if state_path else None
        self._last_id = 0
        if self.state_path and self.state_path.is_file():
            self._load()

    # --- ids -------------------------------------------------------------------------------
    def new_id(self) -> str:
        """Snowflake-like ids: 19 digits, increasing with time (since_id relies on it)."""
        with self.lock:
            snow = (int(time.time() * 1000) - TWITTER_EPOCH_MS) << 22
            self._last_id = max(self._last_id + 1, snow)
            return str(self._last_id)

    # --- faults ----------------------------------------------------------------------------
    def set_faults(self, settings: dict[str, Any]) -> Faults:
        return set_faults(self, settings)

    def draw_fault(self, route: str) -> str | None:
        with self.lock:
            kind = draw_fault(self.faults, self.rng, route)
            if kind:
                self.fault_log.append({"at": time.time(), "route": route, "kind": kind})
            return kind

    # --- rate limits -----------------------------------------------------------------------
    def take(self, user: str, route: str) -> tuple[dict[str, str], bool]:
        """Count one request; returns (headers, allowed)."""
        if route not in self.limits:
            return {}, True
        limit, window = self.limits[route]
        now = time.time()
        with self.lock:
            w = self.windows.get((user, route))
            if w is None or now >= w[0] + window:
                w = self.windows[(user, route)] = [now, 0]
            allowed = w[1] < limit
            if allowed:
                w[1] += 1
            reset = math.ceil(w[0] + window)
            return {"x-rate-limit-limit": str(limit), "x-rate-limit-remaining": str(limit - w[1]),
                    "x-rate-limit-reset": str(reset)}, allowed

    # --- tweets ----------------------------------------------------------------------------
    def find(self, tweet_id: str) -> dict[str, Any] | None:
        with self.lock:
            for t in self.tweets:
                if t["id"] == tweet_id:
                    return t
        return None

    def is_duplicate(self, user: str, text: str) -> bool:
        if not text:
            return False
        cutoff = time.time() - min(self.duplicate_window, time.time())  # X: no end declared
        return any(t["author_id"] == user and not t["deleted"] and t["text"] == text
                   and t["ts"] >= cutoff for t in self.tweets)

    def add_tweet(self, user: str, text: str, reply_to: str | None, media_ids: list[str],
                  quote_of: str | None = None) -> dict[str, Any]:
        with self.lock:
            parent = self.find(reply_to) if reply_to else None
            tid = self.new_id()
            now = time.time()
            t = {
                "id": tid, "text": text, "author_id": user, "ts": now,
                "created_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "in_reply_to_tweet_id": reply_to,
                "conversation_id": (parent or {}).get("conversation_id", tid) if parent else tid,
                "media_ids": list(media_ids),
                "alt_texts": [self.media[m].get("alt_text") for m in media_ids],
                "deleted": False,
                "quote_tweet_id": quote_of, "liked_by": [], "retweeted_by": [], "impressions": 0,
            }
            for m in media_ids:
                self.media[m]["used_by"] = tid
            self.tweets.append(t)
            self.save()
            return t

    def user_tweets(self, user: str) -> list[dict[str, Any]]:
        """Live tweets of ``user``, newest first (like X)."""
        with self.lock:
            return [t for t in reversed(self.tweets) if t["author_id"] == user and not t["deleted"]]

    # --- persistence -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"tweets": [dict(t) for t in self.tweets],
                    "media": [dict(m) for m in self.media.values()],
                    "faults": asdict(self.faults), "fault_log": list(self.fault_log[-200:]),
                    "requests": self.requests, "last_id": self._last_id}

    def save(self) -> None:
        if not self.state_path:
            return
        with self.lock:
            data = self.snapshot()
            tmp = self.state_path.with_suffix(self.state_path.suffix + ".tmp")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.state_path)

    def _load(self) -> None:
        assert self.state_path
        data = json.loads(self.state_path.read_text(encoding="utf-8") or "{}")
        self.tweets = list(data.get("tweets", []))
        self.media = {m["id"]: m for m in data.get("media", [])}
        self._last_id = int(data.get("last_id", 0))

    def clear(self) -> None:
        with self.lock:
            self.tweets.clear()
            self.media.clear()
            self.media_bytes.clear()
            self.windows.clear()
            self.fault_log.clear()
            self.save()
