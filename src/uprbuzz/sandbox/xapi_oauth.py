"""OAuth 1.0a verification for the X API stand-in, with oauthlib's ResourceEndpoint.

The client signs the *original* https URL (tweepy talks to api.twitter.com; a loopback adapter
reroutes the socket but keeps the ``Host`` header), so the signed URI is rebuilt here as
``https://{Host}{path}``. A request without ``Host`` cannot be verified and gets a 401, as do a
wrong secret, an altered query or form body, a stale timestamp and a replayed nonce.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from oauthlib.oauth1 import RequestValidator, ResourceEndpoint


@dataclass(frozen=True)
class XAccount:
    """One user of one app. ``access_token`` looks like X's: ``<user id>-<random>``."""

    user_id: str
    username: str
    name: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_secret: str = field(repr=False)

    def public(self) -> dict[str, str]:
        return {"id": self.user_id, "username": self.username, "name": self.name}


_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class _Validator(RequestValidator):
    # oauthlib's defaults (20-30 alphanumerics) reject real X keys such as "12345-AbC...".
    safe_characters = _SAFE
    client_key_length = (10, 64)
    access_token_length = (10, 128)
    nonce_length = (8, 64)
    enforce_ssl = True
    timestamp_lifetime = 600
    dummy_client = "dummy_client_key_0000"
    dummy_access_token = "0000000000-dummyaccesstoken000000"
    dummy_secret = "dummy-secret"  # oauthlib reads this attribute for the constant-time path

    def __init__(self, accounts: list[XAccount]) -> None:
        super().__init__()
        self._accounts = accounts
        self._nonces: dict[tuple[str, str, str, str], float] = {}
        self._lock = threading.Lock()

    @property
    def apps(self) -> dict[str, str]:
        return {a.consumer_key: a.consumer_secret for a in self._accounts}

    @property
    def tokens(self) -> dict[tuple[str, str], XAccount]:
        return {(a.consumer_key, a.access_token): a for a in self._accounts}

    def validate_client_key(self, client_key, request):
        return client_key in self.apps

    def get_client_secret(self, client_key, request):
        return self.apps.get(client_key, "dummy-secret")

    def validate_access_token(self, client_key, token, request):
        return (client_key, token) in self.tokens

    def get_access_token_secret(self, client_key, token, request):
        acct = self.tokens.get((client_key, token))
        return acct.access_secret if acct else "dummy-secret"

    def validate_realms(self, *args, **kwargs):
        return True

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        now = time.time()
        key = (client_key, str(timestamp), nonce, access_token or "")
        with self._lock:
            if len(self._nonces) > 50_000:  # forget nonces older than the timestamp window
                cutoff = now - 2 * self.timestamp_lifetime
                self._nonces = {k: t for k, t in self._nonces.items() if t > cutoff}
            if key in self._nonces:
                return False
            self._nonces[key] = now
        return True


class OAuthVerifier:
    def __init__(self, accounts: list[XAccount]) -> None:
        self.validator = _Validator(accounts)
        self.endpoint = ResourceEndpoint(self.validator)

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> XAccount | None:
        """The signing account, or None when the request must be answered with 401."""
        host = headers.get("Host") or headers.get("host")
        if not host or "Authorization" not in headers and "authorization" not in headers:
            return None
        uri = f"https://{host}{path}"
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        # Only form bodies are part of the OAuth 1.0a signature base string.
        form = body.decode("utf-8", "replace") if ctype == "application/x-www-form-urlencoded" else None
        hdrs = {"Authorization": headers.get("Authorization") or headers.get("authorization") or ""}
        if form is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            ok, req = self.endpoint.validate_protected_resource_request(uri, method, form, hdrs)
        except Exception:  # malformed headers etc.: same answer as a bad signature
            return None
        if not ok:
            return None
        return self.validator.tokens.get((req.client_key, req.resource_owner_key))
