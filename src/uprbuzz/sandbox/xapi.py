"""An X API v2 stand-in on 127.0.0.1, for tests and ``uprbuzz sandbox``.

Serves POST/DELETE /2/tweets, GET /2/users/me, GET /2/users/:id/tweets, the v2 media
endpoints and engagement (GET /2/tweets?ids= with public_metrics, POST /2/users/:id/likes and
/retweets: :mod:`uprbuzz.sandbox.xapi_engage`), verifies OAuth 1.0a signatures, sends rate-limit headers, and injects faults
(5xx, delays, 429s, connection dropped after the write). Admin routes (no auth, loopback):
``GET /_admin/timeline``, ``GET /_admin/counts`` (cheap: requests, live tweets per user id,
faults by kind), ``GET|POST /_admin/faults``, ``POST /_admin/limits``, ``POST /_admin/impressions``,
``POST /_admin/reset``, ``GET /_admin/health``.

In-process: ``serve(port=0, accounts=[...]) -> XApiServer``; as a process:
``python -m uprbuzz.sandbox.xapi --port N [--state FILE] [--accounts FILE]``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from uprbuzz.sandbox import xapi_api as api
from uprbuzz.sandbox import xapi_engage as engage
from uprbuzz.sandbox.http_serve import (
    JsonHandler,
    QuietServer,
    live_counts,
    serve_until_stopped,
    start,
)
from uprbuzz.sandbox.xapi_oauth import OAuthVerifier, XAccount
from uprbuzz.sandbox.xapi_store import Faults, XStore

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/2/tweets$"), "POST /2/tweets"),
    ("DELETE", re.compile(r"^/2/tweets/(\d+)$"), "DELETE /2/tweets/:id"),
    ("GET", re.compile(r"^/2/users/me$"), "GET /2/users/me"),
    ("GET", re.compile(r"^/2/users/(\d+)/tweets$"), "GET /2/users/:id/tweets"),
    ("POST", re.compile(r"^/2/media/upload$"), "POST /2/media/upload"),
    ("GET", re.compile(r"^/2/media/upload$"), "GET /2/media/upload"),
    ("POST", re.compile(r"^/2/media/upload/initialize$"), "POST /2/media/upload/initialize"),
    ("POST", re.compile(r"^/2/media/upload/(\d+)/append$"), "POST /2/media/upload/:id/append"),
    ("POST", re.compile(r"^/2/media/upload/(\d+)/finalize$"), "POST /2/media/upload/:id/finalize"),
    ("POST", re.compile(r"^/2/media/metadata$"), "POST /2/media/metadata"),
    ("GET", re.compile(r"^/2/tweets$"), "GET /2/tweets"),
    ("POST", re.compile(r"^/2/users/(\d+)/likes$"), "POST /2/users/:id/likes"),
    ("POST", re.compile(r"^/2/users/(\d+)/retweets$"), "POST /2/users/:id/retweets"),
]


def make_account(username: str = "uprbuzz_sandbox", user_id: str | None = None,
                 consumer_key: str | None = None, consumer_secret: str | None = None) -> XAccount:
    """A new account with fresh random credentials shaped like X's."""
    uid = user_id or str(1_000_000_000 + secrets.randbelow(8_999_999_999))
    return XAccount(
        user_id=uid, username=username, name=username.replace("_", " ").title(),
        consumer_key=consumer_key or secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")[:25],
        consumer_secret=consumer_secret or secrets.token_urlsafe(37)[:50],
        access_token=f"{uid}-{secrets.token_urlsafe(30).replace('-', 'x').replace('_', 'y')[:40]}",
        access_secret=secrets.token_urlsafe(34)[:45],
    )


class XApiServer:
    """A running stand-in: ``.url``, ``.store``, ``.accounts``, ``.set_faults()``, ``.stop()``."""

    def __init__(self, httpd: QuietServer, thread: threading.Thread | None) -> None:
        self.httpd, self.thread = httpd, thread
        self.port = httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> XStore:
        return self.httpd.store  # type: ignore[attr-defined]

    @property
    def accounts(self) -> list[XAccount]:
        return self.httpd.accounts  # type: ignore[attr-defined]

    def set_faults(self, **settings: Any) -> Faults:
        return self.store.set_faults(settings)

    def set_limits(self, limits: dict[str, tuple[int, int]]) -> None:
        with self.store.lock:
            self.store.limits.update(limits)
            self.store.windows.clear()

    def timeline(self) -> dict[str, Any]:
        return _timeline(self.httpd)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.store.save()


def _timeline(httpd: Any) -> dict[str, Any]:
    snap = httpd.store.snapshot()
    names = {a.user_id: a.username for a in httpd.accounts}
    for t in snap["tweets"]:
        t["url"] = f"https://x.com/{names.get(t['author_id'], 'i')}/status/{t['id']}"
    snap["accounts"] = [a.public() for a in httpd.accounts]
    return snap


def _counts(store: XStore) -> dict[str, Any]:
    with store.lock:
        return {**live_counts(store.tweets, "author_id", store.requests, store.fault_log),
                "reads": store.reads}


class _Handler(JsonHandler):
    server_version = "uprbuzz-xapi/1"

    def _read(self) -> api.Request:
        return self.read_request()

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        ctype = "application/problem+json" if status >= 400 and "title" in body else "application/json"
        self.send_json(status, body, headers, ctype)

    def _drop(self) -> None:
        self.drop()

    def handle_request(self) -> None:
        self._handle()

    def _handle(self) -> None:
        srv: Any = self.server
        req = self._read()
        if req.path.startswith("/_admin/"):
            return self._admin(srv, req)
        with srv.store.lock:
            srv.store.requests += 1
        match = next(((name, m) for meth, rx, name in _ROUTES
                      if meth == req.method and (m := rx.match(req.path))), None)
        if match is None:
            return self._send(*api.problem(404, "Not Found", f"No route for {req.method} {req.path}"))
        route, m = match
        who = srv.verifier.verify(req.method, self.path, req.headers, req.body)
        if who is None:
            return self._send(*api.unauthorized())
        fault = srv.store.draw_fault(route)
        if fault == "error":
            return self._send(*api.problem(503, "Service Unavailable", "Service Unavailable"))
        if fault == "rate_limit":
            reset = int(time.time() + srv.store.faults.rate_limit_reset) + 1
            limit = str(srv.store.limits.get(route, (100, 900))[0])
            return self._send(*api.too_many(), {"x-rate-limit-limit": limit, "x-rate-limit-remaining": "0",
                                                "x-rate-limit-reset": str(reset)})
        if fault == "drop":
            return self._drop()
        if fault == "delay":
            time.sleep(srv.store.faults.delay_seconds)
        headers, allowed = srv.store.take(who.user_id, route)
        if not allowed:
            return self._send(*api.too_many(), headers)
        status, body = self._dispatch(srv, route, m, who, req)
        if fault == "drop_after_write":
            return self._drop()
        if fault == "delay_after_write":
            time.sleep(srv.store.faults.delay_seconds)
        self._send(status, body, headers)

    def _dispatch(self, srv: Any, route: str, m: re.Match[str], who: XAccount,
                  req: api.Request) -> api.Answer:
        st, proc = srv.store, srv.processing_seconds
        if route == "POST /2/tweets":
            return api.create_tweet(st, who, req)
        if route == "DELETE /2/tweets/:id":
            return api.delete_tweet(st, who, m.group(1))
        if route == "GET /2/users/me":
            return api.users_me(st, who, req)
        if route == "GET /2/users/:id/tweets":
            return api.users_tweets(st, who, req, m.group(1), srv.accounts)
        if route == "POST /2/media/upload":
            return api.upload_simple(st, who, req, proc)
        if route == "GET /2/media/upload":
            return api.upload_status(st, who, req)
        if route == "POST /2/media/upload/initialize":
            try:
                return api.upload_init(st, who, req.json() or {})
            except ValueError:
                return api.invalid("Request body is not valid JSON.")
        if route == "POST /2/media/upload/:id/append":
            return api.upload_append(st, who, m.group(1), req.form())
        if route == "POST /2/media/upload/:id/finalize":
            return api.upload_finalize(st, who, m.group(1), proc)
        if route == "GET /2/tweets":
            return engage.lookup(st, req)
        if route in ("POST /2/users/:id/likes", "POST /2/users/:id/retweets"):
            return engage.engage(st, who, m.group(1), req, route.rsplit("/", 1)[1])
        return api.media_metadata(st, who, req)

    def _admin(self, srv: Any, req: api.Request) -> None:
        try:
            if req.path == "/_admin/health":
                return self._send(200, {"ok": True, "url": f"http://127.0.0.1:{srv.server_address[1]}"})
            if req.path == "/_admin/timeline":
                return self._send(200, _timeline(srv))
            if req.path == "/_admin/counts":
                return self._send(200, _counts(srv.store))
            if req.path == "/_admin/faults":
                if req.method == "POST":
                    srv.store.set_faults(req.json() or {})
                from dataclasses import asdict

                return self._send(200, {"faults": asdict(srv.store.faults)})
            if req.path == "/_admin/limits" and req.method == "POST":
                with srv.store.lock:
                    srv.store.limits.update({k: tuple(v) for k, v in (req.json() or {}).items()})
                    srv.store.windows.clear()
                return self._send(200, {"limits": srv.store.limits})
            if req.path == "/_admin/impressions" and req.method == "POST":
                return self._send(200, engage.set_impressions(srv.store, req.json() or {}))
            if req.path == "/_admin/reset" and req.method == "POST":
                srv.store.clear()
                return self._send(200, {"ok": True})
        except ValueError as e:
            return self._send(400, {"error": str(e)})
        self._send(404, {"error": f"no admin route {req.method} {req.path}"})


_Server = QuietServer


def serve(host: str = "127.0.0.1", port: int = 0, *, accounts: list[XAccount] | None = None,
          faults: Faults | dict[str, Any] | None = None,
          limits: dict[str, tuple[int, int]] | None = None, state_path: str | Path | None = None,
          processing_seconds: float = 0.5, duplicate_window: float | None = None,
          background: bool = True) -> XApiServer:
    """Start the stand-in (in a daemon thread unless ``background=False``)."""
    if isinstance(faults, dict):
        faults = Faults.from_dict(faults)
    httpd = _Server((host, port), _Handler)
    httpd.accounts = list(accounts or [make_account()])  # type: ignore[attr-defined]
    httpd.verifier = OAuthVerifier(httpd.accounts)  # type: ignore[attr-defined]
    window = {} if duplicate_window is None else {"duplicate_window": duplicate_window}
    httpd.store = XStore(limits=limits, faults=faults, state_path=state_path,  # type: ignore[attr-defined]
                         **window)  # X's own (platforms/limits.py) unless a test sets one
    httpd.processing_seconds = processing_seconds  # type: ignore[attr-defined]
    thread = start(httpd, "xapi") if background else None
    return XApiServer(httpd, thread)


def load_accounts(path: str | Path) -> list[XAccount]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [XAccount(**a) for a in data]


def dump_accounts(accounts: list[XAccount], path: str | Path) -> None:
    from dataclasses import asdict

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps([asdict(a) for a in accounts], indent=2), encoding="utf-8")
    p.chmod(0o600)


def main(argv: list[str] | None = None) -> None:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m uprbuzz.sandbox.xapi", description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", help="JSON file holding what the stand-in accepted (kept across restarts)")
    ap.add_argument("--accounts", help="JSON list of accounts (credentials); default: one new account")
    ap.add_argument("--faults", default="{}", help='JSON fault settings, e.g. {"error_rate":0.1,"seed":1}')
    ap.add_argument("--limits", default="{}", help='JSON {"POST /2/tweets": [limit, window_seconds]}')
    ap.add_argument("--processing-seconds", type=float, default=0.5)
    args = ap.parse_args(argv)
    accounts = load_accounts(args.accounts) if args.accounts else [make_account()]
    from uprbuzz.sandbox.xapi_store import DEFAULT_LIMITS

    limits = {**DEFAULT_LIMITS, **{k: tuple(v) for k, v in json.loads(args.limits).items()}}
    srv = serve(args.host, args.port, accounts=accounts, faults=json.loads(args.faults),
                limits=limits, state_path=args.state,
                processing_seconds=args.processing_seconds, background=False)
    serve_until_stopped(srv.httpd, srv.store.save, f"X API stand-in listening on {srv.url}")


if __name__ == "__main__":
    main()
