"""One deadline for a whole feed fetch: the httpx transport behind :func:`feed_fetch.fetch`.

A socket timeout bounds one read, so a server that drips a byte a second never trips it. Here a
fetch owns a :class:`Deadline` on the monotonic clock, and every network step it takes gets at
most the time left: the DNS lookup, each connect, the TLS handshake (Python bounds a whole
handshake by the socket timeout), each write and each read, on every redirect hop and through
the proxy, if any. None of them can run past the deadline, wherever the server stalls.

Proxies are the ones urllib would use (``http_proxy`` / ``https_proxy`` / ``no_proxy``); only
``http://`` proxies are supported, as before.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

#: What a fetch through this transport may raise, besides httpx's own errors.
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    httpx.HTTPError, httpx.InvalidURL, httpcore.TimeoutException, httpcore.NetworkError,
    httpcore.ProtocolError, httpcore.ProxyError, httpcore.UnsupportedProtocol, OSError)
#: Those that mean "out of time".
TIMEOUT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException, httpcore.TimeoutException, TimeoutError)


class Deadline:
    """``seconds`` from now, and the step the fetch is at (the give-up message names it)."""

    def __init__(self, seconds: float, start: float | None = None) -> None:
        self.seconds = seconds
        self.end = (time.monotonic() if start is None else start) + seconds
        self.stage = "dns"  # dns | connect | tls | answer (request sent) | body
        self.answer_bytes = 0  # bytes of the response read before its body

    def left(self) -> float:
        return self.end - time.monotonic()

    @property
    def passed(self) -> bool:
        return self.left() <= 0

    def cap(self, timeout: float | None, exc: type[Exception]) -> float:
        """``timeout`` cut to the time left; ``exc`` when none is left."""
        left = self.left()
        if left <= 0:
            raise exc(f"the {self.seconds:g} s deadline has passed")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, self._deadline.cap(timeout, httpcore.ReadTimeout))
        if self._deadline.stage == "answer":
            self._deadline.answer_bytes += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        self._deadline.stage = "tls"
        inner = self._inner.start_tls(ssl_context, server_hostname,
                                      self._deadline.cap(timeout, httpcore.ConnectTimeout))
        self._deadline.stage = "answer"
        return _Stream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        d = self._deadline
        d.stage, d.answer_bytes = "dns", 0
        addresses = self._resolve(host, port)
        d.stage = "connect"
        failure: Exception = httpcore.ConnectError(f"no address found for {host}")
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(address, port,
                                                 d.cap(timeout, httpcore.ConnectTimeout),
                                                 local_address, socket_options)
            except httpcore.ConnectError as e:
                failure = e
                continue
            d.stage = "answer"
            return _Stream(stream, d)
        raise failure

    def _resolve(self, host: str, port: int) -> list[str]:
        """The host's addresses; the lookup gets the time left (getaddrinfo has no timeout)."""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [host]
        found: list[list[str]] = []
        failed: list[Exception] = []

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                found.append(list(dict.fromkeys(str(i[4][0]) for i in infos)))
            except (OSError, UnicodeError) as e:
                failed.append(e)

        worker = threading.Thread(target=lookup, name=f"uprbuzz feed DNS {host}", daemon=True)
        worker.start()
        worker.join(self._deadline.cap(None, httpcore.ConnectTimeout))
        if failed:
            raise httpcore.ConnectError(f"cannot look up {host}: {failed[0]}")
        if not found:
            raise httpcore.ConnectTimeout(f"looking up {host} took too long")
        return found[0]

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:  # pragma: no cover (no uds here)
        raise httpcore.UnsupportedProtocol("feeds are fetched over TCP only")

    def sleep(self, seconds: float) -> None:  # pragma: no cover (no retries configured)
        time.sleep(max(0.0, min(seconds, self._deadline.left())))


class _Body(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport whose every connection lives under one :class:`Deadline`."""

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._backend = _Backend(deadline)
        self._pools: dict[str | None, httpcore.ConnectionPool] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):  # e.g. a redirect to file:
            raise httpx.UnsupportedProtocol(f"{request.url.scheme}: is not http(s)",
                                            request=request)
        proxy = proxy_for(request.url)
        pool = self._pools.get(proxy)
        if pool is None:
            pool = self._pools[proxy] = self._pool(proxy)
        assert isinstance(request.stream, httpx.SyncByteStream)
        self._deadline.stage, self._deadline.answer_bytes = "answer", 0  # until a new connection
        resp = pool.handle_request(httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream,
            extensions=request.extensions))
        assert isinstance(resp.stream, Iterable)
        return httpx.Response(status_code=resp.status, headers=resp.headers,
                              stream=_Body(resp.stream), extensions=resp.extensions)

    def _pool(self, proxy: str | None) -> httpcore.ConnectionPool:
        via = None
        if proxy is not None:
            try:
                p = httpx.Proxy(proxy if "://" in proxy else f"http://{proxy}")
            except ValueError:
                p = None
            if p is None or p.url.scheme not in ("http", "https"):
                raise httpcore.ProxyError(
                    "the proxy set in the environment (http_proxy / https_proxy) is not an "
                    "http:// proxy; feeds are fetched through http:// proxies only")
            via = httpcore.Proxy(
                url=httpcore.URL(scheme=p.url.raw_scheme, host=p.url.raw_host,
                                 port=p.url.port, target=p.url.raw_path),
                auth=p.raw_auth, headers=p.headers.raw, ssl_context=p.ssl_context)
        return httpcore.ConnectionPool(ssl_context=_ssl_context(), proxy=via,
                                       network_backend=self._backend)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), made once per process."""
    return httpx.create_ssl_context()


def proxy_for(url: httpx.URL) -> str | None:
    """The proxy urllib would use for ``url`` (``http_proxy``, ``https_proxy``, ``no_proxy``)."""
    proxy = urllib.request.getproxies().get(url.scheme)
    if not proxy:
        return None
    host = f"{url.host}:{url.port}" if url.port else url.host
    return None if urllib.request.proxy_bypass(host) else proxy
