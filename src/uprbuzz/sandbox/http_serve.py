"""What the platform stand-ins (X API, Mastodon API) share: a threaded loopback HTTP server,
a JSON handler base, requests as plain values, and one fault model.

- :class:`Request`: method, path, query, headers and body, with JSON, form and multipart views.
- :class:`QuietServer`: threads per connection that never block shutdown, and no tracebacks
  for clients that timed out and left (delay faults make that normal).
- :class:`JsonHandler`: keep-alive HTTP/1.1 with TCP_NODELAY (headers and body go out in two
  writes: without it Nagle and delayed ACK add 40 ms per answer), ``send_json``, ``drop``.
- :class:`Faults`, :func:`set_faults` and :func:`draw_fault`: shares of 5xx, delays before or after the write is
  applied, 429s and connections dropped after the write, from a seeded RNG; or a script of
  these (which can also drop a connection before the write).
"""

from __future__ import annotations

import email
import email.policy
import json
import random
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("ok", "error", "delay", "delay_after_write", "rate_limit", "drop_after_write", "drop")


@dataclass
class Faults:
    """Fault injection. Rates are shares of matching requests (0..1), drawn from a seeded RNG.

    ``script`` lists fault kinds applied, in order, to the next matching requests before any
    random draw (deterministic tests). ``paths`` limits faults to routes starting with one of
    the given "METHOD /path" prefixes (empty: every API route).
    """

    error_rate: float = 0.0  # 503 without applying anything
    delay_rate: float = 0.0  # sleep delay_seconds, then handle normally
    delay_seconds: float = 0.0
    rate_limit_rate: float = 0.0  # 429 with a reset rate_limit_reset seconds ahead
    rate_limit_reset: float = 2.0
    drop_rate: float = 0.0  # apply the write, then close the socket without an answer
    # apply the write, then wait delay_seconds before answering (a client that gives up or is
    # killed meanwhile never learns that it landed)
    delay_after_write_rate: float = 0.0
    seed: int | None = None
    paths: list[str] = field(default_factory=list)
    script: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, base: Faults | None = None) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(d or {}) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)} (known: {sorted(known)})")
        merged = {**asdict(base or cls()), **(d or {})}
        bad = [k for k in merged.get("script", []) if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad} (known: {list(FAULT_KINDS)})")
        return cls(**merged)


def fault_counts(log: list[dict[str, Any]]) -> dict[str, int]:
    """How many faults of each kind a stand-in's ``fault_log`` holds."""
    out: dict[str, int] = {}
    for f in log:
        out[f["kind"]] = out.get(f["kind"], 0) + 1
    return out


def live_counts(posts: list[dict[str, Any]], owner: str, requests: int,
                fault_log: list[dict[str, Any]]) -> dict[str, Any]:
    """What a test polls often (``GET /_admin/counts``; the timeline is the whole state):
    requests so far, live posts per account (``owner``: the field naming it), faults by kind.
    The caller holds its store's lock."""
    per: dict[str, int] = {}
    for p in posts:
        if not p["deleted"]:
            per[p[owner]] = per.get(p[owner], 0) + 1
    return {"requests": requests, "posts": sum(per.values()), "by_account": per,
            "faults": fault_counts(fault_log)}


class FaultHolder(Protocol):
    """A server with a fault model: the stand-ins' stores, the tests' PDS fault proxy."""

    lock: Any
    faults: Faults
    rng: random.Random


def set_faults(holder: FaultHolder, settings: dict[str, Any]) -> Faults:
    """Change ``holder``'s fault settings (``settings`` over the current ones); a ``seed``
    restarts its draws."""
    with holder.lock:
        new = Faults.from_dict(settings, holder.faults)
        if "seed" in settings:
            holder.rng = random.Random(new.seed)
        holder.faults = new
        return new


def draw_fault(faults: Faults, rng: random.Random, route: str) -> str | None:
    """The fault for one request to ``route`` ("METHOD /path"), or None. The caller holds its
    lock (the script and the RNG are shared state)."""
    if faults.paths and not any(route.startswith(p) for p in faults.paths):
        return None
    if faults.script:
        kind: str | None = faults.script.pop(0)
    else:
        r, kind = rng.random(), None
        for k, rate in (("error", faults.error_rate), ("delay", faults.delay_rate),
                        ("rate_limit", faults.rate_limit_rate), ("drop_after_write", faults.drop_rate),
                        # drawn last, so a seed gives the same faults as before it existed
                        ("delay_after_write", faults.delay_after_write_rate)):
            if r < rate:
                kind = k
                break
            r -= rate
    return None if kind == "ok" else kind  # "ok": a scripted pass-through


@dataclass
class Part:
    """One part of a multipart/form-data body."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str = "text/plain"


@dataclass
class Request:
    method: str
    path: str  # without query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def q(self, name: str) -> str | None:
        v = self.query.get(name)
        return v[0] if v else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def parts(self) -> list[Part]:
        """The parts of a multipart/form-data body (empty for any other body)."""
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            return []
        msg = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self.body,
                                       policy=email.policy.HTTP)
        out: list[Part] = []
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                payload = part.get_payload(decode=True)  # bytes for a non-multipart part
                out.append(Part(str(name), payload if isinstance(payload, bytes) else b"",
                                part.get_filename(), part.get_content_type()))
        return out

    def form(self) -> dict[str, bytes]:
        """Fields of a multipart or urlencoded body (values as bytes; the last of a repeated
        name)."""
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            return {p.name: p.data for p in self.parts()}
        if ctype.startswith("application/x-www-form-urlencoded"):
            return {k: v[0].encode() for k, v in parse_qs(self.body.decode()).items()}
        return {}

    def params(self) -> dict[str, list[str]]:
        """Every field of the query and a urlencoded, multipart (text parts) or JSON object
        body, each as a list (Rails' ``media_ids[]=1&media_ids[]=2``: key ``media_ids[]``)."""
        out: dict[str, list[str]] = {k: list(v) for k, v in self.query.items()}
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            for k, v in parse_qs(self.body.decode(errors="replace"), keep_blank_values=True).items():
                out.setdefault(k, []).extend(v)
        elif ctype.startswith("multipart/form-data"):
            for p in self.parts():
                if p.filename is None:
                    out.setdefault(p.name, []).append(p.data.decode(errors="replace"))
        elif ctype.startswith("application/json") and self.body:
            body = self.json()
            if not isinstance(body, dict):
                raise ValueError("the JSON body is not an object")
            for k, v in body.items():
                vals = v if isinstance(v, list) else [v]
                out.setdefault(k, []).extend(
                    "true" if x is True else "false" if x is False else "" if x is None else str(x)
                    for x in vals)
        return out


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive client connections must not block stop()
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and left (delay faults) is expected, not an error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class JsonHandler(BaseHTTPRequestHandler):
    """Subclasses implement ``handle_request``; every method goes there."""

    protocol_version = "HTTP/1.1"  # keep-alive, as requests sessions expect
    _t0: float = 0.0

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def read_request(self) -> Request:
        self._t0 = time.perf_counter()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        u = urlsplit(self.path)
        return Request(self.command, u.path, parse_qs(u.query, keep_blank_values=True),
                       {k: v for k, v in self.headers.items()}, body)

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> None:
        self.send_bytes(status, json.dumps(body, ensure_ascii=False).encode(),
                        f"{content_type}; charset=utf-8", headers)

    def send_bytes(self, status: int, data: bytes, content_type: str,
                   headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        # Time spent in the stand-in, so benchmarks can split local overhead from server time.
        dur = (time.perf_counter() - (self._t0 or time.perf_counter())) * 1000
        self.send_header("Server-Timing", f"app;dur={dur:.3f}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def drop(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_request(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.handle_request()

    do_POST = do_DELETE = do_PUT = do_GET


def start(httpd: QuietServer, name: str) -> threading.Thread:
    """Serve ``httpd`` in a daemon thread."""
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              name=name, daemon=True)
    thread.start()
    return thread


def serve_until_stopped(httpd: QuietServer, save: Any, banner: str) -> None:
    """A stand-in's ``main``: serve in the foreground until SIGTERM or Ctrl+C, then close the
    socket and ``save()`` the state (a stand-in keeps its posts across restarts)."""
    import signal

    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())
    print(banner, flush=True)
    try:
        httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        save()
