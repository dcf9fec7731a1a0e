"""The naive bot of bench/channels_race.py: what a script does without uprbuzz.

A separate process, started and timed whole (spawn to exit) by channels_race.py; not a
benchmark on its own (bench/run skips it). It imports tweepy, atproto and Mastodon.py, logs in
once on each platform it is given, then posts the same texts one after the other (for each
text: X, then Bluesky, then Mastodon), with no post files, checks, ledger, idempotency or
retries. The only help it gets is a requests adapter that routes api.x.com to the X stand-in
(keeping the Host header so the OAuth 1.0a signature verifies), as uprbuzz's own does.

Run: .venv/bin/python bench/naive_bot.py JOB.json
JOB.json: {"texts": [...], "x": {"url", "consumer_key", "consumer_secret", "access_token",
"access_secret"}, "bluesky": {"pds", "handle", "password"}, "mastodon": {"url", "token"}}
(each platform optional). Prints one JSON line: epoch timestamps (start, imported, logged in,
first send, end), per-platform seconds spent posting and each post's end time.
"""

from __future__ import annotations

import time

T_START = time.time()

import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import requests  # noqa: E402
import tweepy  # noqa: E402
from atproto import Client as BskyClient  # noqa: E402
from mastodon import Mastodon  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

T_IMPORTED = time.time()


class ToStandIn(HTTPAdapter):
    """https://api.x.com/... -> the stand-in's base URL, original Host kept (signatures)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        u = urlsplit(request.url or "")
        request.headers["Host"] = u.netloc
        request.url = self.base + u.path + (f"?{u.query}" if u.query else "")
        kw["proxies"] = {}
        kw["timeout"] = kw.get("timeout") or 30
        return super().send(request, **kw)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.loads(f.read())
    texts: list[str] = job["texts"]
    senders: list[tuple[str, Any]] = []
    if job.get("x"):
        c = job["x"]
        x = tweepy.Client(consumer_key=c["consumer_key"], consumer_secret=c["consumer_secret"],
                          access_token=c["access_token"], access_token_secret=c["access_secret"])
        adapter = ToStandIn(c["url"])
        for prefix in ("https://api.twitter.com/", "https://api.x.com/"):
            x.session.mount(prefix, adapter)
        x.get_me(user_auth=True)  # log in once: check the credentials
        senders.append(("x", lambda t, x=x: x.create_tweet(text=t, user_auth=True)))
    if job.get("bluesky"):
        c = job["bluesky"]
        bsky = BskyClient(base_url=c["pds"])
        bsky.login(c["handle"], c["password"])
        senders.append(("bluesky", bsky.send_post))
    if job.get("mastodon"):
        c = job["mastodon"]
        m = Mastodon(access_token=c["token"], api_base_url=c["url"])
        m.account_verify_credentials()
        senders.append(("mastodon", lambda t, m=m: m.status_post(t)))
    t_logged_in = time.time()
    spent = {name: 0.0 for name, _ in senders}
    ends: dict[str, list[float]] = {name: [] for name, _ in senders}
    t_first = None
    for text in texts:
        for name, send in senders:
            t = time.time()
            t_first = t_first or t
            send(text)
            e = time.time()
            spent[name] += e - t
            ends[name].append(e)
    print(json.dumps({"start": T_START, "imported": T_IMPORTED, "logged_in": t_logged_in,
                      "first_send": t_first, "end": time.time(), "spent": spent, "ends": ends,
                      "posts": {n: len(v) for n, v in ends.items()}}), flush=True)


if __name__ == "__main__":
    main()
