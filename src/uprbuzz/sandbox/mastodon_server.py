"""A Mastodon API stand-in on 127.0.0.1, for tests and ``uprbuzz sandbox``, with the real
server's rules (see :mod:`uprbuzz.sandbox.mastodon_api` for each one and where it comes from).

API (``Authorization: Bearer <token>``; 401 ``{"error": "The access token is invalid"}``
otherwise): ``GET /api/v1/accounts/verify_credentials``, ``GET /api/v1/accounts/:id``,
``GET /api/v1/accounts/:id/statuses`` (limit, max_id, since_id, min_id; newest first; Link
header), ``POST /api/v1/statuses`` (status, in_reply_to_id, media_ids[], sensitive,
spoiler_text, visibility, language; ``Idempotency-Key``), ``GET|DELETE /api/v1/statuses/:id``,
``POST /api/v1/statuses/:id/{favourite,unfavourite,reblog,unreblog}`` (counts in every status:
:mod:`uprbuzz.sandbox.mastodon_engage`),
``POST /api/v2/media`` (file, description, focus "x,y"; 202 while processing) and
``/api/v1/media`` (200), ``GET /api/v1/media/:id`` (206 until processed). Without a token:
``GET /api/v2/instance`` (and v1) and the uploaded files. Every authenticated answer carries
X-RateLimit-Limit/-Remaining/-Reset (ISO 8601); past a limit, 429 ``{"error": "Too many
requests"}``. Limits (per account): "API requests" 300 / 5 min, "POST /api/v2/media" 30 / 30
min, "DELETE /api/v1/statuses/:id" 30 / 30 min, "POST /api/v1/statuses" 300 / 3 h.

Admin routes (no auth, loopback): ``GET /_admin/health``; ``GET /_admin/timeline``
(everything: accounts without tokens, statuses with their source text, media, idempotency keys,
the clock, faults); ``GET /_admin/counts`` (cheap: requests, live statuses per account,
faults by kind); ``GET|POST /_admin/faults`` (as the X stand-in: error_rate, delay_rate,
delay_seconds, rate_limit_rate, rate_limit_reset, drop_rate, delay_after_write_rate, seed,
paths, script of "ok" | "error" | "delay" | "delay_after_write" | "rate_limit" |
"drop_after_write" | "drop");
``POST /_admin/limits`` ``{"API requests": [limit, seconds], ...}``; ``GET|POST
/_admin/clock`` ``{"advance": seconds}`` (the stand-in's clock: idempotency keys expire after
3,600 s of it, rate-limit windows and media processing follow it); ``GET|POST /_admin/instance``
(max_characters, max_media_attachments, characters_reserved_per_url, image_size_limit,
image_matrix_limit, description_limit, supported_mime_types, processing_seconds, domain,
version); ``POST /_admin/accounts`` ``{"username": "..."}`` -> the new account with its
token; ``POST /_admin/reset``.

In-process: ``serve(port=0, accounts=[...]) -> MastodonServer``. As a process::

    python -m uprbuzz.sandbox.mastodon_server --port 0 [--accounts FILE] [--state FILE]
        [--faults JSON] [--limits JSON] [--instance JSON] [--processing-seconds S]

prints ``Mastodon API stand-in listening on http://127.0.0.1:PORT`` once it serves. The
``--accounts`` file is a JSON list of accounts, each
``{"id": "109...", "username": "upr_coalition", "access_token": "...", "display_name": "...",
"bot": false}`` (``id``, ``display_name`` and ``bot`` optional; a missing file is created with
one new account); :func:`load_accounts` / :func:`dump_accounts` read and write it.
``--state`` keeps statuses, media, idempotency keys and the clock across restarts.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from uprbuzz.sandbox import mastodon_api as api
from uprbuzz.sandbox import mastodon_engage as engage
from uprbuzz.sandbox.http_serve import (
    Faults,
    JsonHandler,
    QuietServer,
    Request,
    live_counts,
    serve_until_stopped,
    start,
)
from uprbuzz.sandbox.mastodon_store import (
    DEFAULT_LIMITS,
    InstanceConfig,
    MastodonAccount,
    MastodonStore,
    iso,
    make_account,
)

__all__ = ["MastodonServer", "serve", "load_accounts", "dump_accounts", "make_account", "main"]

# (method, path, route name, limits counted besides "API requests")
_ROUTES: list[tuple[str, re.Pattern[str], str, tuple[str, ...]]] = [
    ("GET", re.compile(r"^/api/v1/accounts/verify_credentials$"),
     "GET /api/v1/accounts/verify_credentials", ()),
    ("GET", re.compile(r"^/api/v1/accounts/(\d+)/statuses$"), "GET /api/v1/accounts/:id/statuses", ()),
    ("GET", re.compile(r"^/api/v1/accounts/(\d+)$"), "GET /api/v1/accounts/:id", ()),
    ("POST", re.compile(r"^/api/v1/statuses$"), "POST /api/v1/statuses", ()),
    ("GET", re.compile(r"^/api/v1/statuses/(\d+)$"), "GET /api/v1/statuses/:id", ()),
    ("DELETE", re.compile(r"^/api/v1/statuses/(\d+)$"), "DELETE /api/v1/statuses/:id",
     ("DELETE /api/v1/statuses/:id",)),
    ("POST", re.compile(r"^/api/v(1|2)/media$"), "POST /api/v2/media", ("POST /api/v2/media",)),
    ("GET", re.compile(r"^/api/v1/media/(\d+)$"), "GET /api/v1/media/:id", ()),
    ("POST", re.compile(r"^/api/v1/statuses/(\d+)/(favourite|unfavourite|reblog|unreblog)$"),
     "POST /api/v1/statuses/:id/:action", ()),
]
_PUBLIC = [
    ("GET", re.compile(r"^/api/v(1|2)/instance$"), "GET /api/v2/instance"),
    ("GET", re.compile(r"^/system/media_attachments/files/(\d+)/original$"), "GET media file"),
]
# per-account limits every authenticated API request counts against (Rack::Attack)
_API_LIMITS = ("API requests", "API requests per account")


class MastodonServer:
    """A running stand-in: ``.url``, ``.store``, ``.accounts``, ``.set_faults()``,
    ``.advance(seconds)``, ``.timeline()``, ``.stop()``."""

    def __init__(self, httpd: QuietServer, thread: threading.Thread | None) -> None:
        self.httpd, self.thread = httpd, thread
        self.port = httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> MastodonStore:
        return self.httpd.store  # type: ignore[attr-defined]

    @property
    def accounts(self) -> list[MastodonAccount]:
        return self.store.accounts

    def set_faults(self, **settings: Any) -> Faults:
        return self.store.set_faults(settings)

    def set_limits(self, limits: dict[str, tuple[int, int]]) -> None:
        with self.store.lock:
            self.store.limits.update(limits)
            self.store.windows.clear()

    def set_instance(self, **settings: Any) -> InstanceConfig:
        with self.store.lock:
            self.store.instance = InstanceConfig.from_dict(settings, self.store.instance)
            return self.store.instance

    def advance(self, seconds: float) -> float:
        """Move the stand-in's clock forward (idempotency keys, rate windows, processing)."""
        return self.store.advance(seconds)

    def timeline(self) -> dict[str, Any]:
        return _timeline(self.store, self.url)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.store.save()


def _timeline(store: MastodonStore, base_url: str) -> dict[str, Any]:
    snap = store.snapshot()
    domain = store.instance.domain
    names = {a.id: a.username for a in store.accounts}
    for s in snap["statuses"]:
        s["username"] = names.get(s["account_id"], "")
        s["url"] = f"https://{domain}/@{s['username']}/{s['id']}"
        s["created_at"] = iso(s["created_at"])
        s["media"] = [{k: store.media[m].get(k) for k in ("id", "type", "mime", "size", "width",
                                                           "height", "description", "focus")}
                      for m in s["media_ids"] if m in store.media]
    for i in snap["idempotency"]:
        i["expires_at"] = iso(i["expires_at"])
    snap["accounts"] = [a.public(domain) for a in store.accounts]  # no tokens
    snap["url"] = base_url
    return snap


def _counts(store: MastodonStore) -> dict[str, Any]:
    with store.lock:
        return {**live_counts(store.statuses, "account_id", store.requests, store.fault_log),
                "now": iso(store.now())}


class _Handler(JsonHandler):
    server_version = "uprbuzz-mastodon/1"

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header on the stand-in's clock (clients compare it with X-RateLimit-Reset)."""
        import email.utils

        return email.utils.formatdate(self.server.store.now() if timestamp is None  # type: ignore[attr-defined]
                                      else timestamp, usegmt=True)

    @property
    def base_url(self) -> str:
        srv: Any = self.server
        return f"http://127.0.0.1:{srv.server_address[1]}"

    def _send(self, answer: api.Answer, extra: dict[str, str] | None = None) -> None:
        status, body, headers = answer
        self.send_json(status, body, {**(extra or {}), **headers})

    def handle_request(self) -> None:
        srv: Any = self.server
        store: MastodonStore = srv.store
        req = self.read_request()
        path = req.path.rstrip("/") or "/"
        if path.startswith("/_admin/"):
            return self._admin(srv, store, req, path)
        with store.lock:
            store.requests += 1
        for meth, rx, name in _PUBLIC:
            m = rx.match(path)
            if m and req.method == meth:
                return self._public(store, name, m)
        match = next(((r, m) for r in _ROUTES if r[0] == req.method and (m := r[1].match(path))), None)
        if match is None:
            return self._send(api.error(404, "Not Found"))
        (_, _, route, limits), m = match
        auth = req.headers.get("Authorization", "")
        who = store.by_token(auth[7:].strip()) if auth[:7].lower() == "bearer " else None
        if who is None:
            return self._send(api.error(401, api.INVALID_TOKEN), {
                "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                                    'error_description="The access token is invalid"'})
        fault = store.draw_fault(route)
        # the limit the answer reports: the route's own if it has one, else the token's
        shown = limits[0] if limits else (route if route in store.limits else "API requests")
        if fault == "error":
            return self.send_bytes(503, b"<html><body><h1>503 Service Unavailable</h1></body></html>",
                                   "text/html; charset=utf-8")
        if fault == "rate_limit":
            limit = store.limits.get(shown, (300, 300))[0]
            reset = store.now() + store.faults.rate_limit_reset + 1
            return self._send(api.error(429, api.TOO_MANY_REQUESTS, {
                "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": iso(reset)}))
        if fault == "drop":
            return self.drop()
        if fault == "delay":
            time.sleep(store.faults.delay_seconds)
        over = store.hit(who.id, [*_API_LIMITS, *limits])
        if over is not None:
            return self._send(api.error(429, api.TOO_MANY_REQUESTS), store.headers(who.id, over))
        answer = self._dispatch(store, route, m, who, req)
        if fault == "drop_after_write":
            return self.drop()
        if fault == "delay_after_write":
            time.sleep(store.faults.delay_seconds)
        self._send(answer, store.headers(who.id, shown))

    def _dispatch(self, store: MastodonStore, route: str, m: re.Match[str], who: MastodonAccount,
                  req: Request) -> api.Answer:
        base = self.base_url
        if route == "POST /api/v1/statuses":
            return api.create_status(store, who, req, base)
        if route == "GET /api/v1/statuses/:id":
            return api.get_status(store, m.group(1), base, viewer=who.id)
        if route == "DELETE /api/v1/statuses/:id":
            return api.delete_status(store, who, m.group(1), base)
        if route == "GET /api/v1/accounts/verify_credentials":
            return api.verify_credentials(store, who)
        if route == "GET /api/v1/accounts/:id/statuses":
            return api.account_statuses(store, m.group(1), req, base)
        if route == "GET /api/v1/accounts/:id":
            return api.get_account(store, m.group(1))
        if route == "POST /api/v1/statuses/:id/:action":
            return engage.act(store, who, m.group(1), m.group(2), base)
        if route == "POST /api/v2/media":
            return api.upload_media(store, who, req, base, v2=m.group(1) == "2")
        return api.get_media(store, who, m.group(1), base)

    def _public(self, store: MastodonStore, name: str, m: re.Match[str]) -> None:
        if name == "GET media file":
            with store.lock:
                rec, data = store.media.get(m.group(1)), store.media_bytes.get(m.group(1))
            if rec is None or data is None or not store.media_ready(rec):
                return self._send(api.error(404, api.NOT_FOUND))
            return self.send_bytes(200, data, rec["mime"])
        self._send(api.instance(store, self.base_url))

    def _admin(self, srv: Any, store: MastodonStore, req: Request, path: str) -> None:
        post = req.method == "POST"
        try:
            body = (req.json() or {}) if post else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if path == "/_admin/health":
                return self.send_json(200, {"ok": True, "url": self.base_url})
            if path == "/_admin/timeline":
                return self.send_json(200, _timeline(store, self.base_url))
            if path == "/_admin/counts":
                return self.send_json(200, _counts(store))
            if path == "/_admin/faults":
                if post:
                    store.set_faults(body)
                return self.send_json(200, {"faults": asdict(store.faults)})
            if path == "/_admin/limits" and post:
                with store.lock:
                    store.limits.update({k: (int(v[0]), int(v[1])) for k, v in body.items()})
                    store.windows.clear()
                return self.send_json(200, {"limits": store.limits})
            if path == "/_admin/clock":
                if post:
                    store.advance(float(body.get("advance", 0)))
                return self.send_json(200, {"now": iso(store.now()), "offset": store.offset})
            if path == "/_admin/instance":
                if post:
                    with store.lock:
                        store.instance = InstanceConfig.from_dict(body, store.instance)
                return self.send_json(200, {"instance": asdict(store.instance)})
            if path == "/_admin/accounts" and post:
                acct = store.add_account(make_account(str(body.get("username") or "sandbox"),
                                                      display_name=str(body.get("display_name") or "")))
                return self.send_json(200, asdict(acct))
            if path == "/_admin/reset" and post:
                store.clear()
                return self.send_json(200, {"ok": True})
        except (ValueError, TypeError, IndexError) as e:
            return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": f"no admin route {req.method} {path}"})


def serve(host: str = "127.0.0.1", port: int = 0, *, accounts: list[MastodonAccount] | None = None,
          faults: Faults | dict[str, Any] | None = None,
          limits: dict[str, tuple[int, int]] | None = None,
          instance: InstanceConfig | dict[str, Any] | None = None,
          state_path: str | Path | None = None, background: bool = True) -> MastodonServer:
    """Start the stand-in (in a daemon thread unless ``background=False``)."""
    if isinstance(faults, dict):
        faults = Faults.from_dict(faults)
    if isinstance(instance, dict):
        instance = InstanceConfig.from_dict(instance)
    httpd = QuietServer((host, port), _Handler)
    httpd.store = MastodonStore(accounts or [make_account()], instance=instance,  # type: ignore[attr-defined]
                                limits=limits, faults=faults, state_path=state_path)
    thread = start(httpd, "mastodon-api") if background else None
    return MastodonServer(httpd, thread)


def load_accounts(path: str | Path) -> list[MastodonAccount]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of accounts")
    return [MastodonAccount(**a) if "id" in a else
            make_account(a["username"], None, a["access_token"], a.get("display_name", ""))
            for a in data]


def dump_accounts(accounts: list[MastodonAccount], path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps([asdict(a) for a in accounts], indent=2), encoding="utf-8")
    p.chmod(0o600)


def main(argv: list[str] | None = None) -> None:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m uprbuzz.sandbox.mastodon_server",
                                 description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", help="JSON file keeping statuses, media, keys and the clock")
    ap.add_argument("--accounts", help="JSON list of accounts (created with one account if missing)")
    ap.add_argument("--faults", default="{}", help='JSON fault settings, e.g. {"error_rate":0.1,"seed":1}')
    ap.add_argument("--limits", default="{}", help='JSON {"API requests": [limit, window_seconds]}')
    ap.add_argument("--instance", default="{}", help='JSON instance settings, e.g. {"max_characters":5000}')
    ap.add_argument("--processing-seconds", type=float, default=None,
                    help="how long uploads stay processing (default 0.5)")
    args = ap.parse_args(argv)
    if args.accounts and Path(args.accounts).is_file():
        accounts = load_accounts(args.accounts)
    else:
        accounts = [make_account()]
        if args.accounts:
            dump_accounts(accounts, args.accounts)
    instance = InstanceConfig.from_dict(json.loads(args.instance))
    if args.processing_seconds is not None:
        instance.processing_seconds = args.processing_seconds
    limits = {**DEFAULT_LIMITS, **{k: (int(v[0]), int(v[1])) for k, v in json.loads(args.limits).items()}}
    srv = serve(args.host, args.port, accounts=accounts, faults=json.loads(args.faults),
                limits=limits, instance=instance, state_path=args.state, background=False)
    serve_until_stopped(srv.httpd, srv.store.save, f"Mastodon API stand-in listening on {srv.url}")


if __name__ == "__main__":
    main()
