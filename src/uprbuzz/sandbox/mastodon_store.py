"""What the Mastodon API stand-in holds: accounts, statuses, media, idempotency keys, rate-limit
windows, the instance's configuration, fault settings, and its own clock.

Kept apart from HTTP (:mod:`uprbuzz.sandbox.mastodon_api` holds the routes) so tests can read
it directly. All mutation happens under one lock. Time is the stand-in's clock (``now()``:
the real time plus an offset an admin route moves), so a test can age idempotency keys past
the server's hour, expire rate-limit windows or finish media processing without waiting.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uprbuzz.platforms.limits import MASTODON
from uprbuzz.sandbox.http_serve import Faults, draw_fault, set_faults

IDEMPOTENCY_TTL = 3600.0  # PostStatusService: redis.setex(idempotency_key, 3_600, status.id)

# name -> (limit, window seconds), as declared in platforms/limits.py. "API requests" counts
# every authenticated /api request of the account's token; the others count their route.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    name: (r.limit, r.window) for name, r in MASTODON.rate_limits.items()}


@dataclass(frozen=True)
class MastodonAccount:
    """A local account and its bearer token (the ``--accounts`` file holds a list of these)."""

    id: str
    username: str
    access_token: str
    display_name: str = ""
    bot: bool = False

    def public(self, domain: str, statuses_count: int = 0) -> dict[str, Any]:
        """Mastodon's Account entity."""
        url = f"https://{domain}/@{self.username}"
        return {
            "id": self.id, "username": self.username, "acct": self.username,
            "display_name": self.display_name or self.username, "locked": False, "bot": self.bot,
            "discoverable": True, "indexable": True, "group": False,
            "created_at": "2024-01-01T00:00:00.000Z", "note": "", "url": url,
            "uri": f"https://{domain}/users/{self.username}",
            "avatar": f"https://{domain}/avatars/original/missing.png",
            "avatar_static": f"https://{domain}/avatars/original/missing.png",
            "header": f"https://{domain}/headers/original/missing.png",
            "header_static": f"https://{domain}/headers/original/missing.png",
            "followers_count": 0, "following_count": 0, "statuses_count": statuses_count,
            "last_status_at": None, "hide_collections": False, "noindex": False,
            "emojis": [], "roles": [], "fields": [],
        }


def make_account(username: str = "upr_coalition", account_id: str | None = None,
                 access_token: str | None = None, display_name: str = "") -> MastodonAccount:
    """A new account with a fresh token shaped like Mastodon's (43 URL-safe characters)."""
    return MastodonAccount(
        id=account_id or str(109_000_000_000_000_000 + secrets.randbelow(10**15)),
        username=username, access_token=access_token or secrets.token_urlsafe(32),
        display_name=display_name or username.replace("_", " ").title())


@dataclass
class InstanceConfig:
    """What ``GET /api/v2/instance`` states and the stand-in enforces (upstream defaults)."""

    domain: str = "mastodon.sandbox.test"
    version: str = "4.4.0"
    max_characters: int = MASTODON.max_length
    max_media_attachments: int = MASTODON.max_images
    characters_reserved_per_url: int = MASTODON.url_chars
    image_size_limit: int = MASTODON.max_image_bytes + 1  # uploads must stay under it
    image_matrix_limit: int = MASTODON.max_image_pixels
    description_limit: int = MASTODON.max_alt
    supported_mime_types: list[str] = field(default_factory=lambda: list(MASTODON.mime_types))
    processing_seconds: float = 0.5  # how long an upload stays "processing" (0: ready at once)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, base: InstanceConfig | None = None) -> InstanceConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d or {}) - known
        if unknown:
            raise ValueError(f"unknown instance settings: {sorted(unknown)} (known: {sorted(known)})")
        return cls(**{**asdict(base or cls()), **(d or {})})


def iso(ts: float) -> str:
    """Mastodon's timestamps: ISO 8601, milliseconds, Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MastodonStore:
    def __init__(self, accounts: list[MastodonAccount], *, instance: InstanceConfig | None = None,
                 limits: dict[str, tuple[int, int]] | None = None, faults: Faults | None = None,
                 state_path: str | Path | None = None) -> None:
        self.lock = threading.RLock()
        self.accounts: list[MastodonAccount] = list(accounts)
        self.instance = instance or InstanceConfig()
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.faults = faults or Faults()
        self.rng = random.Random(self.faults.seed)
        self.fault_log: list[dict[str, Any]] = []
        self.requests = 0
        self.offset = 0.0  # the stand-in's clock minus the real one
        self.statuses: list[dict[str, Any]] = []  # oldest first, deleted ones kept (flagged)
        self.media: dict[str, dict[str, Any]] = {}
        self.media_bytes: dict[str, bytes] = {}  # not persisted
        self.idempotency: dict[tuple[str, str], tuple[str, float]] = {}  # -> (status id, expiry)
        self.windows: dict[tuple[str, str, int], int] = {}  # (account, limit, window index) -> n
        self.state_path = Path(state_path) if state_path else None
        self._last_id = 0
        if self.state_path and self.state_path.is_file():
            self._load()

    # --- clock and ids ---------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        with self.lock:
            self.offset += seconds
            self.save()
            return self.now()

    def new_id(self) -> str:
        """Mastodon's snowflake-like ids: milliseconds << 16, then a sequence; increasing."""
        with self.lock:
            self._last_id = max(self._last_id + 1, int(self.now() * 1000) << 16)
            return str(self._last_id)

    # --- accounts --------------------------------------------------------------------------
    def by_token(self, token: str) -> MastodonAccount | None:
        with self.lock:
            return next((a for a in self.accounts
                         if token and secrets.compare_digest(a.access_token, token)), None)

    def account(self, account_id: str) -> MastodonAccount | None:
        with self.lock:
            return next((a for a in self.accounts if a.id == account_id), None)

    def by_username(self, username: str) -> MastodonAccount | None:
        with self.lock:
            return next((a for a in self.accounts if a.username.lower() == username.lower()), None)

    def add_account(self, account: MastodonAccount) -> MastodonAccount:
        with self.lock:
            if self.by_username(account.username) or self.account(account.id):
                raise ValueError(f"an account @{account.username} or id {account.id} exists")
            self.accounts.append(account)
            self.save()
            return account

    # --- faults ----------------------------------------------------------------------------
    def set_faults(self, settings: dict[str, Any]) -> Faults:
        return set_faults(self, settings)

    def draw_fault(self, route: str) -> str | None:
        with self.lock:
            kind = draw_fault(self.faults, self.rng, route)
            if kind:
                self.fault_log.append({"at": self.now(), "route": route, "kind": kind})
            return kind

    # --- rate limits -----------------------------------------------------------------------
    def _window(self, name: str) -> tuple[int, int, int]:
        limit, period = self.limits[name]
        return limit, period, int(self.now() // period)

    def headers(self, account: str, name: str) -> dict[str, str]:
        """X-RateLimit-* for ``name`` as they stand. Rack::Attack's windows are aligned to the
        epoch, so the reset is the end of the current period (ISO 8601, microseconds)."""
        with self.lock:
            limit, period, idx = self._window(name)
            used = self.windows.get((account, name, idx), 0)
            reset = datetime.fromtimestamp((idx + 1) * period, UTC)
            return {"X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": str(max(0, limit - used)),
                    "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z")}

    def hit(self, account: str, names: list[str]) -> str | None:
        """Count one request against each limit in ``names`` (Rack::Attack counts refused
        requests too); returns the first limit now exceeded, or None."""
        over = None
        with self.lock:
            for name in names:
                if name not in self.limits:
                    continue
                limit, _, idx = self._window(name)
                key = (account, name, idx)
                self.windows[key] = self.windows.get(key, 0) + 1
                if self.windows[key] > limit and over is None:
                    over = name
        return over

    def would_exceed(self, account: str, name: str) -> bool:
        with self.lock:
            if name not in self.limits:
                return False
            limit, _, idx = self._window(name)
            return self.windows.get((account, name, idx), 0) >= limit

    # --- idempotency -----------------------------------------------------------------------
    def remembered(self, account: str, key: str) -> str | None:
        """The status id stored for this key, while the server still remembers it."""
        with self.lock:
            hit = self.idempotency.get((account, key))
            if hit is None:
                return None
            if hit[1] <= self.now():  # expired: Redis has dropped it
                del self.idempotency[(account, key)]
                return None
            return hit[0]

    def remember(self, account: str, key: str, status_id: str) -> None:
        with self.lock:
            self.idempotency[(account, key)] = (status_id, self.now() + IDEMPOTENCY_TTL)

    # --- statuses and media ----------------------------------------------------------------
    def find(self, status_id: str, *, deleted: bool = False) -> dict[str, Any] | None:
        with self.lock:
            s = next((s for s in self.statuses if s["id"] == status_id), None)
            return s if s is not None and (deleted or not s["deleted"]) else None

    def account_statuses(self, account: str) -> list[dict[str, Any]]:
        """The account's live statuses, newest first."""
        with self.lock:
            return [s for s in reversed(self.statuses) if s["account_id"] == account and not s["deleted"]]

    def media_ready(self, rec: dict[str, Any]) -> bool:
        return bool(rec["ready_at"] <= self.now())

    # --- persistence -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "statuses": [dict(s) for s in self.statuses],
                "media": [dict(m) for m in self.media.values()],
                "idempotency": [{"account_id": a, "key": k, "status_id": sid, "expires_at": exp}
                                for (a, k), (sid, exp) in self.idempotency.items()],
                "accounts": [asdict(a) for a in self.accounts],
                "instance": asdict(self.instance), "limits": dict(self.limits),
                "faults": asdict(self.faults), "fault_log": list(self.fault_log[-200:]),
                "requests": self.requests, "last_id": self._last_id, "offset": self.offset,
                "now": iso(self.now()),
            }

    def save(self) -> None:
        if not self.state_path:
            return
        with self.lock:
            data = self.snapshot()
            tmp = self.state_path.with_suffix(self.state_path.suffix + ".tmp")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            tmp.chmod(0o600)  # it holds the accounts' tokens
            os.replace(tmp, self.state_path)

    def _load(self) -> None:
        assert self.state_path
        data = json.loads(self.state_path.read_text(encoding="utf-8") or "{}")
        self.statuses = list(data.get("statuses", []))
        self.media = {m["id"]: m for m in data.get("media", [])}
        self.idempotency = {(i["account_id"], i["key"]): (i["status_id"], float(i["expires_at"]))
                            for i in data.get("idempotency", [])}
        self._last_id = int(data.get("last_id", 0))
        self.offset = float(data.get("offset", 0.0))
        known = {a.id for a in self.accounts}  # accounts added through the admin route
        self.accounts += [MastodonAccount(**a) for a in data.get("accounts", []) if a["id"] not in known]

    def clear(self) -> None:
        with self.lock:
            self.statuses.clear()
            self.media.clear()
            self.media_bytes.clear()
            self.idempotency.clear()
            self.windows.clear()
            self.fault_log.clear()
            self.offset = 0.0
            self.save()
