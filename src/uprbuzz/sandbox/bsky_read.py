"""A small Bluesky read service for the sandbox: ``app.bsky.feed.getPosts`` over a local PDS.

``getPosts`` is an AppView method; the local PDS has no AppView (its stub answers profiles
only), so the Bluesky channels of ``uprbuzz sandbox`` read engagement here (their
``UPRBUZZ_<NAME>_READ_URL``). Counts come from the PDS's own records, as an AppView indexes
them from the network:

- every repo on the PDS (``com.atproto.sync.listRepos``), then each repo's
  ``app.bsky.feed.like``, ``app.bsky.feed.repost`` and ``app.bsky.feed.post`` records
  (``com.atproto.repo.listRecords``, all pages);
- likes and reposts: records whose ``subject.uri`` is the post; replies: posts whose
  ``reply.parent.uri`` is the post; quotes: posts embedding it (``app.bsky.embed.record``,
  or the record of ``app.bsky.embed.recordWithMedia``).

Every request reads the PDS afresh (no index, no cache): right after a like is written it is
counted, which is what tests need; it is meant for a sandbox's few hundred records. Posts the
PDS does not hold are left out of ``posts``, as the AppView leaves out what it cannot see.

``python -m uprbuzz.sandbox.bsky_read --pds URL [--port N]``; in-process ``serve(pds_url)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from uprbuzz.sandbox.http_serve import JsonHandler, QuietServer, serve_until_stopped, start

MAX_URIS = 25  # app.bsky.feed.getPosts
LIKE, REPOST, POST = "app.bsky.feed.like", "app.bsky.feed.repost", "app.bsky.feed.post"


class PdsReader:
    """What the PDS holds, read through its public XRPC methods (no login needed)."""

    def __init__(self, pds_url: str, timeout: float = 10.0) -> None:
        import httpx

        self.pds_url = pds_url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)
        self.lock = threading.Lock()  # one httpx client, shared by the server's threads
        self.handles: dict[str, str] = {}

    def _get(self, nsid: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            r = self.http.get(f"{self.pds_url}/xrpc/{nsid}", params=params)
        r.raise_for_status()
        body = r.json()
        return body if isinstance(body, dict) else {}

    def _pages(self, nsid: str, key: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            body = self._get(nsid, {**params, "limit": 100, **({"cursor": cursor} if cursor else {})})
            items = body.get(key) or []
            yield from items
            cursor = body.get("cursor")
            if not cursor or not items:
                return

    def repos(self) -> list[str]:
        return [r["did"] for r in self._pages("com.atproto.sync.listRepos", "repos", {})
                if r.get("active", True)]

    def records(self, did: str, collection: str) -> list[dict[str, Any]]:
        return list(self._pages("com.atproto.repo.listRecords", "records",
                                {"repo": did, "collection": collection}))

    def handle(self, did: str) -> str:
        if did not in self.handles:
            try:
                self.handles[did] = str(self._get("com.atproto.repo.describeRepo",
                                                  {"repo": did}).get("handle") or did)
            except Exception:  # noqa: BLE001 - a handle is decoration: the DID will do
                return did
        return self.handles[did]


@dataclass
class Tally:
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0


def quoted_uri(record: dict[str, Any]) -> str | None:
    """The post a post quotes, if any."""
    embed = record.get("embed") or {}
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record":
        return (embed.get("record") or {}).get("uri")
    if kind == "app.bsky.embed.recordWithMedia":
        return ((embed.get("record") or {}).get("record") or {}).get("uri")
    return None


def _subject(record: dict[str, Any]) -> str:
    return str((record.get("subject") or {}).get("uri") or "")


def get_posts(reader: PdsReader, uris: list[str]) -> list[dict[str, Any]]:
    """``app.bsky.feed.getPosts``' ``posts``: a PostView for each of ``uris`` the PDS holds."""
    wanted = list(dict.fromkeys(uris))
    tally = {u: Tally() for u in wanted}
    held: dict[str, dict[str, Any]] = {}
    for did in reader.repos():
        for rec in reader.records(did, LIKE):
            if (t := tally.get(_subject(rec["value"]))) is not None:
                t.likes += 1
        for rec in reader.records(did, REPOST):
            if (t := tally.get(_subject(rec["value"]))) is not None:
                t.reposts += 1
        for rec in reader.records(did, POST):
            v = rec["value"]
            if rec["uri"] in tally:
                held[rec["uri"]] = rec
            parent = str(((v.get("reply") or {}).get("parent") or {}).get("uri") or "")
            if (t := tally.get(parent)) is not None:
                t.replies += 1
            if (t := tally.get(quoted_uri(v) or "")) is not None:
                t.quotes += 1
    out = []
    for uri in wanted:
        if uri not in held:
            continue
        rec, did, t = held[uri], uri.split("/")[2], tally[uri]
        out.append({"uri": uri, "cid": rec["cid"],
                    "author": {"did": did, "handle": reader.handle(did)},
                    "record": rec["value"], "indexedAt": rec["value"].get("createdAt"),
                    "likeCount": t.likes, "repostCount": t.reposts, "replyCount": t.replies,
                    "quoteCount": t.quotes, "bookmarkCount": 0, "labels": []})
    return out


class _Handler(JsonHandler):
    server_version = "uprbuzz-bsky-read/1"

    def handle_request(self) -> None:
        srv: Any = self.server
        req = self.read_request()
        if req.path in ("/_admin/health", "/xrpc/_health"):
            return self.send_json(200, {"ok": True, "pds": srv.reader.pds_url})
        if req.path != "/xrpc/app.bsky.feed.getPosts" or req.method != "GET":
            return self.send_json(501, {"error": "MethodNotImplemented",
                                        "message": f"{req.path} is not served here"})
        uris = req.query.get("uris", [])
        if not uris or len(uris) > MAX_URIS or not all(u.startswith("at://") for u in uris):
            return self.send_json(400, {"error": "InvalidRequest",
                                        "message": f"uris: 1 to {MAX_URIS} at:// URIs"})
        try:
            posts = get_posts(srv.reader, uris)
        except Exception as e:  # noqa: BLE001 - the PDS failed us: say so, as an upstream error
            return self.send_json(502, {"error": "UpstreamFailure", "message": str(e)[:300]})
        self.send_json(200, {"posts": posts})


class ReadServer:
    def __init__(self, httpd: QuietServer, thread: threading.Thread | None) -> None:
        self.httpd, self.thread = httpd, thread
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(pds_url: str, host: str = "127.0.0.1", port: int = 0, *,
          background: bool = True) -> ReadServer:
    httpd = QuietServer((host, port), _Handler)
    httpd.reader = PdsReader(pds_url)  # type: ignore[attr-defined]
    return ReadServer(httpd, start(httpd, "bsky-read") if background else None)


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m uprbuzz.sandbox.bsky_read",
                                 description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--pds", required=True, help="the PDS's URL, e.g. http://localhost:2583")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    srv = serve(args.pds, args.host, args.port, background=False)
    serve_until_stopped(srv.httpd, lambda: None, f"Bluesky read service listening on {srv.url}")


if __name__ == "__main__":
    main()
