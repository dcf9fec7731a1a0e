"""The console as a Starlette app: a page, a JSON API, and server-sent events.

Security model (it posts to the organisation's accounts, and the page holds the access token):
- bound to 127.0.0.1 by default (the CLI);
- it answers only to the Host names 127.0.0.1, localhost, [::1], the address it is bound to and
  the names given with ``--allow-host``: a DNS-rebound name (evil.example → 127.0.0.1) is
  refused before anything else, token or not;
- an access token, printed at start as a URL; the first visit trades it for an HttpOnly,
  SameSite=Strict cookie and redirects to a URL without it;
- every POST needs the token in the ``X-Uprbuzz-Token`` header (a cross-site form cannot set
  it), a JSON body, and an ``Origin`` (when sent) equal to the console's own;
- every response carries a strict Content-Security-Policy (scripts and styles from /static only,
  nothing inline), ``nosniff`` and ``no-referrer``; the page builds its DOM with text nodes and
  attributes, never from HTML strings, so no session or post text can become markup;
- a request body is limited to 1 MiB: a larger Content-Length is refused (413) before the body is
  read, and a body without one is counted as it arrives;
- posting (a post, a card, a fired cue) is limited per operator, by default to 20 in any minute
  (429, with the reason shown on the page).
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import math
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from uprbuzz.errors import UprbuzzError
from uprbuzz.live.console import ConsoleError, LiveConsole, NeedsConfirm

HERE = Path(__file__).parent
COOKIE = "uprbuzz_live"
OPERATOR_COOKIE = "uprbuzz_operator"
HEADER = "x-uprbuzz-token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 1024 * 1024  # bytes; the largest real request (a card) is a few kB
POST_RATE = 20  # posts per operator in any 60 s
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class RequestTooLarge(UprbuzzError):
    """A request body over the console's limit (answered with 413)."""

    code = "request-too-large"


class TooManyPosts(UprbuzzError):
    """An operator posting faster than the console allows (answered with 429)."""

    code = "too-many-posts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def host_name(value: str) -> str:
    """The name in a Host header or an allow-list entry, normalised for comparison:
    ``Example.ORG:8765`` → ``example.org``, ``[::1]:8765`` → ``::1``, ``localhost.`` →
    ``localhost``."""
    v = value.strip().lower()
    if v.startswith("["):
        end = v.find("]")
        return v[1:end] if end > 0 else v
    if v.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        v = v.split(":", 1)[0]
    return v.rstrip(".")


class PostRateLimit:
    """At most ``per_minute`` posts in any 60 s per key (a sliding window); 0 turns it off.

    Used from the event loop only (the app's handlers), so it needs no lock.
    """

    def __init__(self, per_minute: int = POST_RATE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = per_minute, clock
        self._sent: dict[str, deque[float]] = {}

    def take(self, key: str) -> float | None:
        """Count one post for ``key`` (returns its stamp for :meth:`refund`), or raise
        :class:`TooManyPosts` saying when the next one will be accepted."""
        if self.limit <= 0:
            return None
        now = self.clock()
        sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - 60:
            sent.popleft()
        if len(sent) >= self.limit:
            wait = max(1, math.ceil(sent[0] + 60 - now))
            raise TooManyPosts(
                f"Too many posts: at most {self.limit} a minute per operator. "
                f"Try again in {wait} s; the draft is kept.", retry_after=wait)
        sent.append(now)
        if len(self._sent) > 64:  # forget operators with nothing in the window
            for k in [k for k, q in self._sent.items() if not q or q[-1] <= now - 60]:
                del self._sent[k]
        return now

    def refund(self, key: str, stamp: float | None) -> None:
        """Un-count a post that was refused (too long, empty): nothing went out."""
        sent = self._sent.get(key)
        if stamp is not None and sent and stamp in sent:
            sent.remove(stamp)


class _Guard:
    """Outermost ASGI layer: the Host allow-list, the body limit, and the security headers on
    every response (errors included)."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], max_body: int) -> None:
        self.app, self.max_body = app, max_body
        self.allowed = frozenset(host_name(h) for h in (*LOOPBACK_HOSTS, *allowed_hosts) if h)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                ours = {name for name, _ in SECURITY_HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if host_name(host) not in self.allowed:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            shown = host[:100] or "(none)"
            await PlainTextResponse(
                f"uprbuzz live does not answer to the host name {shown!r}: open it as "
                "127.0.0.1 or localhost, or start it with --allow-host NAME.", 400,
            )(scope, receive, secured)
            return
        if scope["type"] == "http":
            declared = headers.get("content-length")
            if declared is not None:
                if not re.fullmatch(r"[0-9]{1,18}", declared.strip()):
                    await JSONResponse({"error": "bad Content-Length"}, 400)(scope, receive, secured)
                    return
                if int(declared) > self.max_body:  # refused before a byte of the body is read
                    await _too_large(self.max_body)(scope, receive, secured)
                    return
            receive = self._counted(receive)
        await self.app(scope, receive, secured)

    def _counted(self, receive: Receive) -> Receive:
        total = 0

        async def counted() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.max_body:  # a streamed body: stop reading at the limit
                    raise RequestTooLarge(_too_large_text(self.max_body))
            return message

        return counted


def _too_large_text(limit: int) -> str:
    size = f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return f"request body too large: the console accepts at most {size}"


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"error": _too_large_text(limit)}, 413)


class ConsoleApp(Starlette):
    """Starlette with :class:`_Guard` outside everything, even the 500 handler."""

    def __init__(self, *, allowed_hosts: Iterable[str], max_body: int, **kw: Any) -> None:
        self.allowed_hosts, self.max_body = tuple(allowed_hosts), max_body
        super().__init__(**kw)

    def build_middleware_stack(self) -> ASGIApp:
        return _Guard(super().build_middleware_stack(), self.allowed_hosts, self.max_body)


def create_app(console: LiveConsole, token: str, *, heartbeat: float = 15.0,
               allowed_hosts: Iterable[str] = (), max_body: int = MAX_BODY,
               post_rate: int = POST_RATE,
               clock: Callable[[], float] = time.monotonic) -> Starlette:
    """The console's web app. ``allowed_hosts``: Host names answered besides 127.0.0.1,
    localhost and [::1]; ``max_body``: bytes; ``post_rate``: posts per operator per minute
    (0: unlimited)."""
    limiter = PostRateLimit(post_rate, clock)

    def same(a: str, b: str) -> bool:  # constant time, and any text (compare_digest needs ASCII)
        return hmac.compare_digest(a.encode("utf-8", "surrogatepass"),
                                   b.encode("utf-8", "surrogatepass"))

    def ok_token(value: str | None) -> bool:
        return bool(value) and same(str(value), token)

    def authed(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        bearer = auth[7:] if auth.lower().startswith("bearer ") else None
        return (ok_token(request.cookies.get(COOKIE)) or ok_token(request.headers.get(HEADER))
                or ok_token(bearer))

    # Each browser that opens the console gets its own operator id (signed, so that only ids
    # the console issued count); the posting limit is per operator. Requests without one (a
    # script with the token in a header) share one allowance.
    def signed(value: str) -> str:
        return hmac.new(token.encode(), b"operator:" + value.encode(), "sha256").hexdigest()[:32]

    def operator(request: Request) -> str | None:
        rand, _, sig = request.cookies.get(OPERATOR_COOKIE, "").partition(".")
        return rand if rand and same(sig, signed(rand)) else None

    def give_operator(resp: Response) -> None:
        rand = secrets.token_urlsafe(12)
        resp.set_cookie(OPERATOR_COOKIE, f"{rand}.{signed(rand)}", httponly=True,
                        samesite="strict", path="/")

    def csrf_problem(request: Request) -> str | None:
        if not ok_token(request.headers.get(HEADER)):
            return "missing or wrong X-Uprbuzz-Token header"
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
            return f"cross-origin request from {origin} refused"
        if not request.headers.get("content-type", "").startswith("application/json"):
            return "the body must be JSON"
        return None

    async def index(request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None:
            if not ok_token(given):
                return HTMLResponse(_denied("That access token is not this console's."), 401)
            resp: Response = RedirectResponse("/", 303)
            resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
            give_operator(resp)
            return resp
        if not authed(request):
            return HTMLResponse(_denied("Open the URL that `uprbuzz live` printed: it carries "
                                        "the access token."), 401)
        values = {"token": _esc(token), "title": _esc(console.session.title)}
        page = re.sub(r"\{\{(token|title)\}\}", lambda m: values[m.group(1)],
                      (HERE / "templates" / "console.html").read_text(encoding="utf-8"))
        resp = HTMLResponse(page, headers={"Cache-Control": "no-store"})
        if operator(request) is None:
            give_operator(resp)
        return resp

    async def state(request: Request) -> Response:
        if not authed(request):
            return JSONResponse({"error": "access token required"}, 401)
        return JSONResponse(await run_in_threadpool(console.state))

    async def recommendations(request: Request) -> Response:
        if not authed(request):
            return JSONResponse({"error": "access token required"}, 401)
        who = request.query_params.get("state", "")
        return JSONResponse({"state": who, "items": console.recommendations(who)})

    async def events(request: Request) -> Response:
        if not authed(request):
            return JSONResponse({"error": "access token required"}, 401)
        loop = asyncio.get_running_loop()
        q: asyncio.Queue[int] = asyncio.Queue()
        unsubscribe = console.subscribe(lambda v: loop.call_soon_threadsafe(q.put_nowait, v))
        me = console.operators.setdefault(operator(request) or "", {"name": "", "pages": 0})
        me["pages"] = me.get("pages", 0) + 1  # presence: who has the console open
        if me.get("name"):
            console.changed()

        async def stream() -> AsyncIterator[str]:
            try:
                data = await run_in_threadpool(console.state)
                yield f"event: state\ndata: {json.dumps(data)}\n\n"
                while True:
                    try:
                        await asyncio.wait_for(q.get(), heartbeat)
                    except TimeoutError:
                        yield ": ping\n\n"
                        continue
                    await asyncio.sleep(0.02)  # coalesce bursts of changes into one push
                    while not q.empty():
                        q.get_nowait()
                    data = await run_in_threadpool(console.state)
                    yield f"event: state\ndata: {json.dumps(data)}\n\n"
            finally:
                unsubscribe()
                me["pages"] = max(0, me.get("pages", 0) - 1)
                if me.get("name"):
                    console.changed()

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def card_image(request: Request) -> Response:
        if not authed(request):
            return JSONResponse({"error": "access token required"}, 401)
        try:
            n = int(request.path_params["n"])
        except ValueError:
            return JSONResponse({"error": "no such card"}, 404)
        got = console.card_image(n)
        if got is None:
            return JSONResponse({"error": "no such card"}, 404)
        return FileResponse(got[0], headers={"Cache-Control": "private, max-age=3600"})

    async def action(request: Request) -> Response:
        if not authed(request):
            return JSONResponse({"error": "access token required"}, 401)
        problem = csrf_problem(request)
        if problem:
            return JSONResponse({"error": problem}, 403)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not valid JSON"}, 400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, 400)
        name = request.path_params["name"]
        fn = ACTIONS.get(name)
        if fn is None:
            return JSONResponse({"error": f"no action {name!r}"}, 404)
        key, stamp = operator(request) or "", None
        if name == "operator":  # an operator names themself (shown in the log and presence)
            who = " ".join(str(body.get("name", "")).split())[:60]
            console.operators.setdefault(key, {"name": "", "pages": 0})["name"] = who
            await run_in_threadpool(console.changed)
            return JSONResponse({"ok": True, "result": who})
        body["_by"] = console.operators.get(key, {}).get("name") or None
        if name in POSTING and not (name == "cue" and body.get("action") == "skip"):
            try:
                stamp = limiter.take(key)
            except TooManyPosts as e:
                return JSONResponse({"error": str(e)}, 429,
                                    headers={"Retry-After": str(e.retry_after)})
        try:
            result = await run_in_threadpool(fn, console, body)
        except NeedsConfirm as e:
            limiter.refund(key, stamp)
            return JSONResponse({"error": str(e), "confirm": True}, 409)
        except ConsoleError as e:
            limiter.refund(key, stamp)
            return JSONResponse({"error": str(e)}, 400)
        return JSONResponse({"ok": True, "result": result})

    async def too_large(request: Request, exc: Exception) -> Response:
        return _too_large(max_body)

    routes = [
        Route("/", index),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/state", state),
        Route("/api/events", events),
        Route("/api/recommendations", recommendations),
        Route("/api/card/{n}", card_image),
        Route("/api/{name}", action, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = ConsoleApp(routes=routes, exception_handlers={RequestTooLarge: too_large},
                     allowed_hosts=allowed_hosts, max_body=max_body)
    app.state.console = console
    return app


def _measure(console: LiveConsole, body: dict[str, Any]) -> dict[str, Any]:
    from uprbuzz.platforms.text_measure import measure

    return measure(str(body.get("text", "")))


def _post(console: LiveConsole, body: dict[str, Any]) -> dict[str, Any]:
    return console.submit(str(body.get("text", "")), client_id=body.get("client_id"),
                          by=body.get("_by"), confirm=body.get("confirm") is True).as_json()


def _card(console: LiveConsole, body: dict[str, Any]) -> dict[str, Any]:
    return console.submit_card(str(body.get("state", "")), str(body.get("paragraph", "")),
                               str(body.get("text", "")), text=body.get("post_text") or None,
                               client_id=body.get("client_id"), by=body.get("_by"),
                               confirm=body.get("confirm") is True).as_json()


def _cue(console: LiveConsole, body: dict[str, Any]) -> Any:
    cid = str(body.get("id", ""))
    if body.get("action") == "skip":
        return console.skip_cue(cid)
    lp = console.fire_cue(cid, by=body.get("_by"))
    return None if lp is None else lp.as_json()


def _retry(console: LiveConsole, body: dict[str, Any]) -> Any:
    if body.get("channel") and body.get("n") is None:
        return console.retry_channel(str(body["channel"]))
    try:
        n = int(body.get("n"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConsoleError("retry needs the post number") from None
    return console.retry(n).as_json()


def _retract(console: LiveConsole, body: dict[str, Any]) -> Any:
    try:
        n = int(body.get("n"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConsoleError("retract needs the post number") from None
    return console.retract(n)


def _template(console: LiveConsole, body: dict[str, Any]) -> Any:
    console.set_template(str(body.get("template", "")))
    return True


ACTIONS = {
    "measure": _measure,
    "post": _post,
    "card": _card,
    "cue": _cue,
    "retry": _retry,
    "retract": _retract,
    "template": _template,
    "sync": lambda c, b: c.sync(str(b.get("shown", ""))),
    "mark": lambda c, b: c.mark(b.get("who", "")),
    "anchor": lambda c, b: c.ensure_anchor().as_json(),
    "operator": lambda c, b: None,  # answered in the handler (it needs the operator's cookie)
}
POSTING = frozenset({"post", "card", "cue"})  # counted by the rate limit (a skipped cue is not)


def _esc(s: str) -> str:
    return html.escape(s, quote=True)


def _denied(msg: str) -> str:
    return (f"<!doctype html><meta charset=utf-8><title>uprbuzz live</title>"
            f"<link rel=stylesheet href=/static/console.css><p class=denied>{_esc(msg)}</p>")
