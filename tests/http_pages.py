"""A tiny static web server on 127.0.0.1 for tests that fetch pages (link cards, OpenGraph)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# path -> (body, content type); a callable gets the server's base URL (for absolute links)
Page = tuple[bytes, str] | Callable[[str], tuple[bytes, str]]


@contextmanager
def serve_pages(pages: Mapping[str, Page], hits: list[str] | None = None) -> Iterator[str]:
    """Serve ``pages`` (matched by path prefix, longest first); yields the base URL."""
    prefixes = sorted(pages, key=len, reverse=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if hits is not None:
                hits.append(self.path)
            match = next((p for p in prefixes if self.path.startswith(p)), None)
            if match is None:
                self.send_error(404)
                return
            page = pages[match]
            body, ctype = page(base) if callable(page) else page
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
