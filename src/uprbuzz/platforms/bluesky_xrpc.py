"""A small XRPC client for a PDS: sessions (password, stored, refreshed) and raw JSON calls.

Why not the atproto SDK's ``Client``: uprbuzz sends records as JSON it built itself (their exact
bytes give the local CIDs) and never uses the SDK's models, but importing ``atproto_client``
loads every lexicon model and both namespace trees, 2-3 s of CPU in every publishing process,
longer than a whole run of 45 posts takes. This client speaks the same four endpoints
(createSession, refreshSession, queries, procedures) over httpx, which uprbuzz already uses.

Errors are :class:`XrpcError` (the server answered with a status) or httpx's own transport
exceptions; ``bluesky_errors.map_error`` sorts both into the platform error tree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

SEP = ":::"


class XrpcError(Exception):
    """The server answered ``status`` with an XRPC error body (``error``, ``message``)."""

    def __init__(self, status: int, error: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{error or status}: {message}" if message else (error or str(status)))
        self.status, self.error, self.message = status, error, message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Session:
    did: str
    handle: str
    access_jwt: str
    refresh_jwt: str
    service: str  # the PDS that holds the account (from the DID document), or the login URL

    def export(self) -> str:
        """The atproto SDK's session string (``handle:::did:::access:::refresh:::pds``), so
        sessions stored by earlier versions of uprbuzz, which used the SDK, still resume."""
        return SEP.join((self.handle, self.did, self.access_jwt, self.refresh_jwt, self.service))

    @classmethod
    def parse(cls, text: str, default_service: str) -> Session:
        """A stored session; ValueError when it is not one (log in again then)."""
        fields = text.split(SEP)
        if len(fields) == 4:  # the SDK's older form, without the PDS
            fields.append(default_service)
        if len(fields) != 5 or not all(fields):
            raise ValueError("unreadable Bluesky session")
        handle, did, access, refresh, service = fields
        return cls(did=did, handle=handle, access_jwt=access, refresh_jwt=refresh,
                   service=service.rstrip("/"))


def pds_endpoint(did_doc: Any) -> str | None:
    """The ``#atproto_pds`` service of a DID document (where the account's repo lives)."""
    if not isinstance(did_doc, dict):
        return None
    for svc in did_doc.get("service") or []:
        if isinstance(svc, dict) and str(svc.get("id", "")).endswith("#atproto_pds"):
            url = svc.get("serviceEndpoint")
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                return url.rstrip("/")
    return None


class XrpcClient:
    """One account's connection to its PDS. ``on_session`` is called with every new session
    (login or refresh) so the caller can store it; the connection pool is reused for all calls."""

    def __init__(self, base_url: str, *, timeout: float, transport: Any = None,
                 on_session: Callable[[Session], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        kw: dict[str, Any] = {"timeout": timeout}
        if transport is not None:
            kw["transport"] = transport
        self._http = httpx.Client(**kw)
        self._on_session = on_session
        self.session: Session | None = None

    def close(self) -> None:
        self._http.close()

    # --- sessions ----------------------------------------------------------------------------

    def login(self, identifier: str, password: str) -> Session:
        out = self._send("POST", "com.atproto.server.createSession", auth=None,
                         json_body={"identifier": identifier, "password": password})
        return self._adopt(out)

    def resume(self, stored: str) -> Session:
        self.session = Session.parse(stored, self.base_url)
        return self.session

    def refresh(self) -> Session:
        if self.session is None:
            raise XrpcError(401, "AuthMissing", "no session to refresh")
        out = self._send("POST", "com.atproto.server.refreshSession",
                         auth=self.session.refresh_jwt)
        return self._adopt(out)

    def _adopt(self, out: dict[str, Any]) -> Session:
        try:
            sess = Session(did=str(out["did"]), handle=str(out["handle"]),
                           access_jwt=str(out["accessJwt"]), refresh_jwt=str(out["refreshJwt"]),
                           service=pds_endpoint(out.get("didDoc")) or self.base_url)
        except KeyError as e:
            raise XrpcError(502, "InvalidResponse", f"session answer without {e}") from None
        self.session = sess
        if self._on_session is not None:
            self._on_session(sess)
        return sess

    # --- calls -------------------------------------------------------------------------------

    def query(self, nsid: str, params: Mapping[str, Any] | None = None, *,
              auth: bool = True) -> dict[str, Any]:
        """A GET; ``auth=False`` for a public method (an AppView's), sent to ``base_url``."""
        return self._send("GET", nsid, params=params, auth=auth)

    def procedure(self, nsid: str, body: bytes | dict[str, Any], *,
                  encoding: str = "application/json") -> dict[str, Any]:
        if isinstance(body, dict):
            return self._send("POST", nsid, json_body=body)
        return self._send("POST", nsid, content=body, encoding=encoding)

    def _send(self, method: str, nsid: str, *, auth: str | bool | None = True,
              params: Mapping[str, Any] | None = None, json_body: dict[str, Any] | None = None,
              content: bytes | None = None, encoding: str | None = None) -> dict[str, Any]:
        headers: dict[str, str] = {}
        if auth is True:
            if self.session is None:
                raise XrpcError(401, "AuthMissing", "not logged in")
            headers["Authorization"] = f"Bearer {self.session.access_jwt}"
        elif isinstance(auth, str):
            headers["Authorization"] = f"Bearer {auth}"
        base = self.session.service if self.session is not None and auth is True else self.base_url
        if json_body is not None:
            # Records keep their exact bytes (their CIDs were computed from this JSON's data).
            content = json.dumps(json_body, ensure_ascii=False).encode()
            encoding = "application/json"
        if encoding:
            headers["Content-Type"] = encoding
        resp = self._http.request(method, f"{base}/xrpc/{nsid}", params=_params(params),
                                  content=content, headers=headers)
        if resp.status_code >= 400:
            err, msg = "", resp.reason_phrase
            try:
                body = resp.json()
                if isinstance(body, dict):
                    err, msg = str(body.get("error") or ""), str(body.get("message") or msg)
            except ValueError:
                pass
            raise XrpcError(resp.status_code, err, msg, resp.headers)
        if not resp.content:
            return {}
        try:
            out = resp.json()
        except ValueError:
            return {}
        return out if isinstance(out, dict) else {}


def _params(params: Mapping[str, Any] | None) -> list[tuple[str, str | int | float | bool | None]] | None:
    """Query parameters; a list value repeats its key (``uris=a&uris=b``), as XRPC wants."""
    if not params:
        return None
    out: list[tuple[str, str | int | float | bool | None]] = []
    for k, v in params.items():
        if v is None:
            continue
        for item in v if isinstance(v, list | tuple) else [v]:
            out.append((k, str(item).lower() if isinstance(item, bool) else str(item)))
    return out
