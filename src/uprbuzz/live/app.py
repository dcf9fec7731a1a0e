"""The console as a Starlette app: a page, a JSON API, and server-sent events.

Security model (it posts to the organisation's accounts):
- bound to 127.0.0.1 by default (the CLI);
- an access token, printed at start as a URL; the first visit trades it for an HttpOnly,
  SameSite=Strict cookie and redirects to a URL without it;
- every POST needs the token in the ``X-Uprbuzz-Token`` header (a cross-site form cannot set
  it), a JSON body, and an ``Origin`` (when sent) equal to the console's own.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from uprbuzz.live.console import ConsoleError, LiveConsole

HERE = Path(__file__).parent
COOKIE = "uprbuzz_live"
HEADER = "x-uprbuzz-token"


def create_app(console: LiveConsole, token: str, *, heartbeat: float = 15.0) -> Starlette:
    def ok_token(value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value), token)

    def authed(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        bearer = auth[7:] if auth.lower().startswith("bearer ") else None
        return (ok_token(request.cookies.get(COOKIE)) or ok_token(request.headers.get(HEADER))
                or ok_token(bearer))

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
            resp = RedirectResponse("/", 303)
            resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
            return resp
        if not authed(request):
            return HTMLResponse(_denied("Open the URL that `uprbuzz live` printed: it carries "
                                        "the access token."), 401)
        page = (HERE / "templates" / "console.html").read_text(encoding="utf-8")
        page = page.replace("{{token}}", token).replace("{{title}}", _esc(console.session.title))
        return HTMLResponse(page, headers={"Cache-Control": "no-store",
                                           "X-Frame-Options": "DENY",
                                           "Referrer-Policy": "no-referrer"})

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

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

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
        try:
            result = await run_in_threadpool(fn, console, body)
        except ConsoleError as e:
            return JSONResponse({"error": str(e)}, 400)
        return JSONResponse({"ok": True, "result": result})

    routes = [
        Route("/", index),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/state", state),
        Route("/api/events", events),
        Route("/api/recommendations", recommendations),
        Route("/api/{name}", action, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.console = console
    return app


def _measure(console: LiveConsole, body: dict[str, Any]) -> dict[str, Any]:
    from uprbuzz.platforms.text_measure import measure

    return measure(str(body.get("text", "")))


def _post(console: LiveConsole, body: dict[str, Any]) -> dict[str, Any]:
    return console.submit(str(body.get("text", "")), client_id=body.get("client_id")).as_json()


def _card(console: LiveConsole, body: dict[str, Any]) -> dict[str, Any]:
    return console.submit_card(str(body.get("state", "")), str(body.get("paragraph", "")),
                               str(body.get("text", "")), text=body.get("post_text") or None,
                               client_id=body.get("client_id")).as_json()


def _cue(console: LiveConsole, body: dict[str, Any]) -> Any:
    cid = str(body.get("id", ""))
    if body.get("action") == "skip":
        return console.skip_cue(cid)
    lp = console.fire_cue(cid)
    return None if lp is None else lp.as_json()


def _retry(console: LiveConsole, body: dict[str, Any]) -> Any:
    try:
        n = int(body.get("n"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConsoleError("retry needs the post number") from None
    return console.retry(n).as_json()


def _template(console: LiveConsole, body: dict[str, Any]) -> Any:
    console.set_template(str(body.get("template", "")))
    return True


ACTIONS = {
    "measure": _measure,
    "post": _post,
    "card": _card,
    "cue": _cue,
    "retry": _retry,
    "template": _template,
    "sync": lambda c, b: c.sync(str(b.get("shown", ""))),
    "mark": lambda c, b: c.mark(b.get("who", "")),
    "anchor": lambda c, b: c.ensure_anchor().as_json(),
}


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _denied(msg: str) -> str:
    return (f"<!doctype html><meta charset=utf-8><title>uprbuzz live</title>"
            f"<p style='font:16px system-ui;margin:3em'>{_esc(msg)}</p>")
