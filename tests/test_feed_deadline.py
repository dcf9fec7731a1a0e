"""A feed fetch has one deadline (the feed's ``timeout``) for all of it: DNS, connect, every
redirect, the headers and every byte of the body. Real sockets on 127.0.0.1."""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from uprbuzz.sources.feeds.feed_fetch import FeedError, fetch

FEED = (b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Blog'
        b"</title><item><title>Hi</title><link>https://blog.example.org/post/hi</link>"
        b"<guid>1</guid></item></channel></rss>")

Handler = Callable[[socket.socket, str, threading.Event], None]


class RawServer:
    """A threaded TCP server: every connection runs ``handler(conn, request_target, stop)``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stop = threading.Event()
        self.requests: list[str] = []  # request lines, as received
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            self.requests.append(line)
            with contextlib.suppress(OSError):  # the client gave up and closed: the point
                self.handler(conn, line.split(" ")[1], self.stop)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def answer(conn: socket.socket, body: bytes = FEED, status: str = "200 OK",
           headers: str = "") -> None:
    conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n{headers}\r\n".encode()
                 + body)


def elapsed_since(t0: float) -> float:
    return time.monotonic() - t0


@pytest.mark.timeout(30)
def test_a_server_dripping_a_byte_a_second_is_given_up_at_the_deadline(serve) -> None:  # type: ignore[no-untyped-def]
    def drip(conn: socket.socket, target: str, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                     b"Content-Length: 100000\r\n\r\n")
        for i in range(100_000):  # a byte a second: each read succeeds, the fetch never ends
            conn.sendall(FEED[i % len(FEED):][:1])
            if stop.wait(1.0):
                return

    srv = serve(drip)
    t0 = time.monotonic()
    with pytest.raises(FeedError, match=r"gave up after 2 s: the server sent [1-3] bytes of the "
                                        r"feed \(of 100,000\) in that time") as e:
        fetch(srv.url(), timeout=2)
    assert elapsed_since(t0) < 2.5
    assert str(e.value).startswith(srv.url())


@pytest.mark.timeout(30)
def test_a_server_that_accepts_and_never_answers(serve) -> None:  # type: ignore[no-untyped-def]
    srv = serve(lambda conn, target, stop: stop.wait(60))
    t0 = time.monotonic()
    with pytest.raises(FeedError, match="gave up after 1 s: the server took the request but "
                                        "sent no answer in that time"):
        fetch(srv.url(), timeout=1)
    assert elapsed_since(t0) < 1.5
    assert len(srv.requests) == 1  # no retry behind our back


@pytest.mark.timeout(30)
def test_headers_dripped_a_byte_at_a_time(serve) -> None:  # type: ignore[no-untyped-def]
    def drip_head(conn: socket.socket, target: str, stop: threading.Event) -> None:
        for b in b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n":
            conn.sendall(bytes([b]))
            if stop.wait(0.1):
                return

    srv = serve(drip_head)
    t0 = time.monotonic()
    with pytest.raises(FeedError, match=r"gave up after 0.8 s: the server began to answer "
                                        r"\(\d+ bytes\) but did not finish its headers"):
        fetch(srv.url(), timeout=0.8)
    assert elapsed_since(t0) < 1.3


@pytest.mark.timeout(30)
def test_a_dripped_tls_handshake() -> None:
    sock = socket.create_server(("127.0.0.1", 0))  # raw TCP: the request never gets sent
    stop = threading.Event()

    def drip_tls() -> None:
        conn, _ = sock.accept()
        with conn, contextlib.suppress(OSError):  # the start of a TLS record, a byte at a time
            for b in b"\x16\x03\x03\x40\x00" + b"\x02" * 10_000:
                conn.sendall(bytes([b]))
                if stop.wait(0.1):
                    return

    threading.Thread(target=drip_tls, daemon=True).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(FeedError, match="gave up after 0.8 s: the secure .TLS. handshake"):
            fetch(f"https://127.0.0.1:{sock.getsockname()[1]}/feed.xml", timeout=0.8)
        assert elapsed_since(t0) < 1.3
    finally:
        stop.set()
        sock.close()


@pytest.mark.timeout(30)
def test_redirects_share_the_one_deadline(serve) -> None:  # type: ignore[no-untyped-def]
    def hops(conn: socket.socket, target: str, stop: threading.Event) -> None:
        n = int(target.rsplit("/", 1)[-1])
        if stop.wait(0.3 if n else 0):
            return
        if n:
            answer(conn, b"", "302 Found", f"Location: /hop/{n - 1}\r\n")
        else:
            answer(conn)

    srv = serve(hops)
    assert fetch(srv.url("/hop/2"), timeout=5).body == FEED  # redirects are followed
    t0 = time.monotonic()
    # 6 hops of 0.3 s each, each well within 1 s: together they are not
    with pytest.raises(FeedError, match="gave up after 1 s"):
        fetch(srv.url("/hop/6"), timeout=1)
    assert elapsed_since(t0) < 1.5


@pytest.mark.timeout(30)
def test_a_stalled_dns_lookup_counts_too(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = socket.getaddrinfo

    def stalled(host: str, *args: object, **kw: object) -> object:
        if host == "feeds.stalled.example":
            release.wait(30)
        return real(host, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", stalled)
    t0 = time.monotonic()
    try:
        with pytest.raises(FeedError, match="gave up after 0.5 s: looking up the server's "
                                            "address took all of it"):
            fetch("http://feeds.stalled.example/feed.xml", timeout=0.5)
        assert elapsed_since(t0) < 1.0
    finally:
        release.set()


def test_a_redirect_away_from_the_web_is_refused(serve) -> None:  # type: ignore[no-untyped-def]
    srv = serve(lambda conn, target, stop: answer(conn, b"", "302 Found",
                                                  "Location: file:///etc/passwd\r\n"))
    with pytest.raises(FeedError, match="redirected to an address that is not http"):
        fetch(srv.url(), timeout=5)


def test_errors_and_not_modified(serve) -> None:  # type: ignore[no-untyped-def]
    def route(conn: socket.socket, target: str, stop: threading.Event) -> None:
        if target == "/gone":
            answer(conn, b"nope", "404 Not Found")
        else:
            answer(conn, b"", "304 Not Modified", 'ETag: "v2"\r\n')

    srv = serve(route)
    with pytest.raises(FeedError, match="the server answered HTTP 404 Not Found"):
        fetch(srv.url("/gone"), timeout=5)
    got = fetch(srv.url(), etag='"v1"', last_modified="Sun, 01 Nov 2020 12:00:00 GMT", timeout=5)
    assert (got.status, got.body, got.etag, got.last_modified) == (
        304, b"", '"v2"', "Sun, 01 Nov 2020 12:00:00 GMT")
    with pytest.raises(FeedError, match="cannot reach the server"):
        fetch("http://127.0.0.1:1/feed.xml", timeout=5)  # nothing listens on port 1


def test_a_compressed_body_is_read_and_capped(serve) -> None:  # type: ignore[no-untyped-def]
    bomb = gzip.compress(b"<!--" + b" " * 20_000_000 + b"-->")  # 20 MB in ~20 kB
    bodies = {"/feed.xml": gzip.compress(FEED), "/bomb.xml": bomb}
    srv = serve(lambda conn, target, stop: answer(conn, bodies[target],
                                                  headers="Content-Encoding: gzip\r\n"))
    assert fetch(srv.url(), timeout=5).body == FEED  # asked for identity, got gzip anyway
    with pytest.raises(FeedError, match="over the 1,000,000-byte limit"):
        fetch(srv.url("/bomb.xml"), timeout=5, max_bytes=1_000_000)


def test_the_environment_proxy_is_used(serve, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    proxy = serve(lambda conn, target, stop: answer(conn))
    for var in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
    assert fetch("http://blog.invalid/feed.xml", timeout=5).body == FEED
    assert proxy.requests == ["GET http://blog.invalid/feed.xml HTTP/1.1"]
    monkeypatch.setenv("http_proxy", "socks5://127.0.0.1:1080")
    with pytest.raises(FeedError, match="http:// proxies only"):
        fetch("http://blog.invalid/feed.xml", timeout=5)


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_a_tick_publishes_what_is_due_whatever_a_feed_does(serve, tmp_path, xapi) -> None:  # type: ignore[no-untyped-def]
    """A feed dripping a byte a second (timeout = 5): `uprbuzz tick` publishes the due post
    first and exits within 15 s."""
    from datetime import UTC, datetime, timedelta

    from tests.fixtures.publish import make_project, run_uprbuzz

    def drip(conn: socket.socket, target: str, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.wait(1.0):
            conn.sendall(b" ")

    srv = serve(drip)
    now = datetime.now(UTC)
    at = (now - timedelta(minutes=1)).isoformat(timespec="seconds")
    root = make_project(tmp_path / "p", {"due.md": f"---\nat: {at}\nstatus: approved\n---\n"
                                                   "Due now, whatever the blog does\n"},
                        toml="[platforms.bluesky]\nenabled = false\n\n[[feeds]]\n"
                             f'name = "blog"\nurl = "{srv.url()}"\ntimeout = 5\n')
    t0 = time.monotonic()
    r = run_uprbuzz(["tick"], root, xapi.env, timeout=30)
    took = elapsed_since(t0)
    assert [t["text"] for t in xapi.server.store.tweets] == ["Due now, whatever the blog does"]
    assert took < 15, took
    assert "gave up after 5 s" in r.stdout + r.stderr, r.stdout + r.stderr
