"""X through tweepy's v2 ``Client``; images through X API v2 media upload (signed OAuth 1.0a).

tweepy is imported inside methods only. Every call has a timeout (a transport adapter mounted on
the session; tweepy sets none), ``wait_on_rate_limit`` stays off and 429s become RateLimited with
the reset time from ``x-rate-limit-reset``. With ``config.api_url`` set, the same adapter routes
all X hosts to that base URL (the stand-in in :mod:`uprbuzz.sandbox.xapi`).
"""

from __future__ import annotations

import html
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from uprbuzz.config import XConfig
from uprbuzz.platforms.base import (
    Account,
    AuthFailed,
    Counts,
    KeySeed,
    OutgoingMedia,
    OutgoingPart,
    PlatformError,
    Rejected,
    Remote,
    TransientError,
)
from uprbuzz.platforms.limits import MiB, X
from uprbuzz.platforms.x_http import from_status, map_error, mount

MEDIA_URL = "https://api.x.com/2/media"
CHUNK = MiB  # our APPEND segment (tweepy's default), not an X limit
_URL = re.compile(r"https?://\S+", re.I)


def comparable(text: str) -> str:
    """X's text as we can compare it: unescaped, NFC, stripped, URLs (t.co) blanked."""
    t = unicodedata.normalize("NFC", html.unescape(text)).strip()
    return re.sub(r"\s+", " ", _URL.sub("<url>", t))


class XPlatform:
    name = "x"
    limits = X

    def __init__(self, config: XConfig, *, session: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._session = session  # a requests.Session (test seam); default: tweepy's own
        self._client: Any = None
        self._account: Account | None = None
        self._sleep = sleep
        self.rate: dict[str, dict[str, str]] = {}  # last rate-limit headers per route

    # --- plumbing --------------------------------------------------------------------------
    def _creds(self) -> tuple[str, str, str, str]:
        c = self.config
        if not c.has_credentials:
            raise AuthFailed("X credentials missing: set UPRBUZZ_X_CONSUMER_KEY, UPRBUZZ_X_CONSUMER_SECRET, "
                             "UPRBUZZ_X_ACCESS_TOKEN and UPRBUZZ_X_ACCESS_SECRET", platform="x")
        return (c.consumer_key.reveal(), c.consumer_secret.reveal(),  # type: ignore[union-attr]
                c.access_token.reveal(), c.access_secret.reveal())  # type: ignore[union-attr]

    @property
    def client(self) -> Any:
        if self._client is None:
            import tweepy

            ck, cs, at, ats = self._creds()
            client = tweepy.Client(consumer_key=ck, consumer_secret=cs, access_token=at,
                                   access_token_secret=ats, wait_on_rate_limit=False)
            if self._session is not None:
                client.session = self._session
            mount(client.session, self.config.api_url, self.config.timeout)
            client.session.hooks["response"].append(self._remember_rate)
            self._client = client
        return self._client

    def _remember_rate(self, resp: Any, *args: Any, **kw: Any) -> None:
        if "x-rate-limit-remaining" in resp.headers:
            path = re.sub(r"/\d{3,}", "/:id", resp.request.path_url.split("?")[0])
            self.rate[f"{resp.request.method} {path}"] = {
                k: resp.headers[k] for k in ("x-rate-limit-limit", "x-rate-limit-remaining",
                                             "x-rate-limit-reset") if k in resp.headers}

    def _auth(self) -> Any:
        import tweepy

        return tweepy.OAuth1UserHandler(*self._creds()).apply_auth()

    def _call(self, what: str, fn: Callable[[], Any], *, write: bool = False) -> Any:
        try:
            return fn()
        except PlatformError:
            raise
        except Exception as e:  # tweepy / requests errors, mapped at the edge
            raise map_error(e, what, write=write) from e

    def _media_post(self, what: str, path: str, **kw: Any) -> dict[str, Any]:
        def go() -> Any:
            r = self.client.session.post(MEDIA_URL + path, auth=self._auth(), **kw)
            if not r.ok:
                raise from_status(r, what)
            return r.json().get("data", {})
        return self._call(what, go)

    # --- Platform --------------------------------------------------------------------------
    def verify(self) -> Account:
        if self._account is None:
            resp = self._call("verify credentials", lambda: self.client.get_me(user_auth=True))
            d = resp.data
            self._account = Account("x", str(d["id"]), str(d["username"]))
        return self._account

    def _user_id(self) -> str:
        if self._account:
            return self._account.id
        head = self._creds()[2].split("-", 1)[0]
        return head if head.isdigit() else self.verify().id

    def _url(self, tweet_id: str) -> str:
        try:
            return f"https://x.com/{self.verify().handle}/status/{tweet_id}"
        except PlatformError:  # e.g. /2/users/me rate-limited: the post itself did land
            return f"https://x.com/i/status/{tweet_id}"  # works without the username

    def new_keys(self, count: int, seed: KeySeed | None = None) -> list[str | None]:
        return [None] * count  # X has no client-chosen ids; reconciliation reads the timeline

    def publish(self, parts: Sequence[OutgoingPart], keys: Sequence[str | None],
                reply_to: tuple[Remote, Remote] | None = None) -> list[Remote]:
        root = reply_to[0].id if reply_to else None
        parent = reply_to[1].id if reply_to else None
        out: list[Remote] = []
        for part in parts:
            try:
                self._preflight(part)
                media_ids = [self.upload(m) for m in part.media]
                # the lambdas run at once, inside this iteration: B023 does not apply
                resp = self._call("post", lambda: self.client.create_tweet(
                    text=part.text or None, media_ids=media_ids or None,  # noqa: B023
                    in_reply_to_tweet_id=parent, user_auth=True), write=True)  # noqa: B023
            except PlatformError as e:
                e.published = list(out)  # type: ignore[attr-defined]  # parts that did land
                raise
            tid = str(resp.data["id"])
            root = root or tid
            out.append(Remote("x", tid, self._url(tid),
                              extra={"root": root, "parent": parent or "",
                                     "text": html.unescape(resp.data.get("text", ""))}))
            parent = tid
        return out

    def _preflight(self, part: OutgoingPart) -> None:
        """What X would refuse only after every upload (too many media_ids): refuse it before."""
        if len(part.media) > self.limits.max_images:
            raise Rejected(f"{len(part.media)} images in one post (X allows "
                           f"{self.limits.max_images})", platform="x")

    def upload(self, media: OutgoingMedia) -> str:
        """Upload one image through v2 media upload; returns the media id (alt text attached)."""
        if media.mime == "image/gif":
            mid = self._upload_chunked(media, "tweet_gif")
        else:
            d = self._media_post("upload image", "/upload",
                                 files={"media": (media.filename or "image", media.data, media.mime)},
                                 data={"media_category": "tweet_image", "media_type": media.mime})
            mid = str(d["id"])
        if media.alt:
            self._media_post("set alt text", "/metadata",
                             json={"id": mid, "metadata": {"alt_text": {"text": media.alt[:self.limits.max_alt]}}})
        return mid

    def _upload_chunked(self, media: OutgoingMedia, category: str) -> str:
        d = self._media_post("upload (initialize)", "/upload/initialize", json={
            "media_type": media.mime, "total_bytes": len(media.data), "media_category": category})
        mid = str(d["id"])
        for i in range(0, max(1, len(media.data)), CHUNK):
            self._media_post("upload (append)", f"/upload/{mid}/append",
                             files={"media": ("chunk", media.data[i:i + CHUNK], "application/octet-stream")},
                             data={"segment_index": str(i // CHUNK)})
        info = self._media_post("upload (finalize)", f"/upload/{mid}/finalize").get("processing_info")
        deadline = time.monotonic() + 120
        while info and info.get("state") in ("pending", "in_progress"):
            if time.monotonic() > deadline:
                raise TransientError(f"X is still processing media {mid} after 120 s", platform="x")
            self._sleep(min(float(info.get("check_after_secs", 1)), 10.0))
            info = self._call("upload (status)", lambda: self._status(mid)).get("processing_info")
        if info and info.get("state") == "failed":
            raise Rejected(f"X could not process the image: {info.get('error', info)}", platform="x")
        return mid

    def _status(self, mid: str) -> dict[str, Any]:
        r = self.client.session.get(MEDIA_URL + "/upload", params={"command": "STATUS", "media_id": mid},
                                    auth=self._auth())
        if not r.ok:
            raise from_status(r, "upload (status)")
        return r.json().get("data", {})

    def lookup(self, part: OutgoingPart, key: str | None, since: datetime) -> Remote | None:
        """Find this part among the account's recent posts (newest first) by its exact text."""
        want, n_media = comparable(part.text), len(part.media)
        uid = self._user_id()
        now = datetime.now(UTC)
        # A frozen/offset clock may be ahead of X's: only trust ``since`` when it is plausible.
        floor = since - timedelta(minutes=10) if since <= now else None
        token = None
        for _ in range(5):  # up to 500 recent posts
            resp = self._call("read recent posts", lambda: self.client.get_users_tweets(
                uid, max_results=100, pagination_token=token, user_auth=True,  # noqa: B023
                tweet_fields=["created_at", "attachments", "referenced_tweets"]))
            for t in resp.data or []:
                created = t.created_at
                if floor and created and created < floor:
                    return None
                keys = ((t.attachments or {}).get("media_keys") or []) if t.attachments else []
                if comparable(t.text) == want and (want or len(keys) == n_media):
                    parent = next((r.id for r in (t.referenced_tweets or []) if r.type == "replied_to"), None)
                    return Remote("x", str(t.id), self._url(str(t.id)),
                                  extra={"parent": str(parent or ""), "text": html.unescape(t.text)})
            token = (resp.meta or {}).get("next_token")
            if not token:
                return None
        return None

    def metrics(self, remotes: Sequence[Remote]) -> dict[str, Counts]:
        """public_metrics of up to 100 posts, one paid read each (see x_metrics)."""
        from uprbuzz.platforms.x_metrics import read_metrics

        return read_metrics(self.client, self._call, self._user_id(), remotes)

    def delete(self, remote: Remote) -> None:
        try:
            self._call("delete", lambda: self.client.delete_tweet(remote.id, user_auth=True))
        except Rejected as e:
            if e.status != 404:  # already gone is fine
                raise
