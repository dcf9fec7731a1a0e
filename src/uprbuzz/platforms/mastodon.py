"""Mastodon through Mastodon.py (imported inside methods only), one account per instance.

- Every call has the config's timeout; rate limits are never waited on here
  (``ratelimit_method="throw"``): a 429 becomes RateLimited with ``reset_at`` from
  X-RateLimit-Reset, moved onto our clock by the answer's Date header.
- ``new_keys``: one idempotency key per part. The server returns the original status for a
  key it has seen within the hour (without comparing bodies), so a resend with the stored key
  is safe for an hour; after that only :meth:`MastodonPlatform.lookup` (the account's statuses,
  matched by text) can tell whether a part landed.
- Media: ``POST /api/v2/media`` with the alt text (``description``) and focus; the server may
  still be processing (202, ``url`` null), so each upload is polled until it has a URL, within
  the timeout, before the status is posted.
- ``limits``: the instance's own (``GET /api/v2/instance``), read once and kept through the
  ``instance_cache`` callables the publish loop hands in (the platform never touches the
  store); :data:`uprbuzz.platforms.limits.MASTODON` when it cannot be read.
"""

from __future__ import annotations

import html
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from uprbuzz.config import MastodonConfig
from uprbuzz.platforms.base import (
    Account,
    Ambiguous,
    AuthFailed,
    Counts,
    KeySeed,
    OutgoingMedia,
    OutgoingPart,
    PlatformError,
    RateLimited,
    Rejected,
    Remote,
    TransientError,
)
from uprbuzz.platforms.limits import MASTODON, MastodonLimits

InstanceCache = tuple[Callable[[], "dict[str, Any] | None"], Callable[[dict[str, Any]], None]]

CACHE_DAYS = 7  # instances rarely change their limits; a week-old reading is read again
ASSUMED_VERSION = "4.0.0"  # for Mastodon.py's version gates (v2 media, instance v2): no probe


class _Text(HTMLParser):
    """Mastodon's HTML content back to its plain text: paragraphs, line breaks, link text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.paragraphs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("\n")
        elif tag == "p":
            if self.paragraphs:
                self.out.append("\n\n")
            self.paragraphs += 1

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def html_to_text(content: str) -> str:
    """``<p>a<br />b</p><p>c</p>`` -> "a\\nb\\n\\nc"; a link's text (invisible spans included)
    is its URL, as the author wrote it."""
    p = _Text()
    p.feed(content or "")
    p.close()
    return "".join(p.out)


def comparable(text: str) -> str:
    """Text as we compare a part with what the server shows: NFC, whitespace runs as one space
    (the server strips, and renders blank-line runs as one paragraph break)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", html.unescape(text))).strip()


def _sent(exc: BaseException | None) -> bool:
    """False when the request certainly never left: the connection itself failed."""
    import requests
    from urllib3.exceptions import NewConnectionError

    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (NewConnectionError, requests.exceptions.ConnectTimeout)):
            return False
        stack.extend([getattr(e, "reason", None), e.__cause__, e.__context__,
                      *(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))])
    return True


class MastodonPlatform:
    def __init__(self, config: MastodonConfig, *, name: str = "mastodon",
                 log: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 instance_cache: InstanceCache | None = None, session: Any = None) -> None:
        self.name = name
        self.config = config
        self._log = log or (lambda msg: None)
        self._sleep = sleep or time.sleep
        self._cache = instance_cache
        self._session = session  # a requests.Session (test seam); default: a new one
        self._api: Any = None
        self._account: Account | None = None
        self._limits: MastodonLimits | None = None
        self._limits_failed_at = 0.0
        self.rate: dict[str, dict[str, str]] = {}  # last rate-limit headers per route
        self._last_reset: datetime | None = None
        self._ready: set[str] = set()  # uploads the server said were processed

    # --- plumbing --------------------------------------------------------------------------
    @property
    def api(self) -> Any:
        if self._api is None:
            import requests
            from mastodon import Mastodon

            c = self.config
            if not c.has_credentials:
                raise AuthFailed(f"{self.name}: the instance URL or the access token is missing "
                                 "(api_url, and the channel's ACCESS_TOKEN variable)",
                                 platform=self.name)
            session = self._session or requests.Session()
            session.hooks["response"].append(self._remember_rate)
            self._api = Mastodon(
                access_token=c.access_token.reveal(),  # type: ignore[union-attr]
                api_base_url=c.api_url, request_timeout=c.timeout, ratelimit_method="throw",
                mastodon_version=ASSUMED_VERSION, version_check_mode="created", session=session,
                user_agent="uprbuzz")
        return self._api

    def _remember_rate(self, resp: Any, *args: Any, **kw: Any) -> None:
        h = resp.headers
        if "X-RateLimit-Reset" not in h:
            return
        path = re.sub(r"/\d+", "/:id", resp.request.path_url.split("?")[0])
        self.rate[f"{resp.request.method} {path}"] = {
            k: h[k] for k in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset") if k in h}
        self._last_reset = _reset_time(h.get("X-RateLimit-Reset"), h.get("Date"))

    def _call(self, what: str, fn: Callable[[], Any], *, write: bool = False) -> Any:
        try:
            return fn()
        except PlatformError:
            raise
        except Exception as e:  # Mastodon.py errors, mapped at the edge
            raise self._map(e, what, write=write) from e

    def _map(self, exc: BaseException, what: str, *, write: bool) -> PlatformError:
        from mastodon.errors import (
            MastodonAPIError,
            MastodonIllegalArgumentError,
            MastodonNetworkError,
            MastodonRatelimitError,
        )

        kw: dict[str, Any] = {"platform": self.name}
        if isinstance(exc, MastodonRatelimitError):
            return self._rate_limited(what)
        if isinstance(exc, MastodonNetworkError):
            cause = exc.__cause__ or exc.__context__
            if not _sent(cause):
                return TransientError(f"{what}: could not connect to {self.config.api_url}", **kw)
            if write:
                return Ambiguous(f"{what}: no answer from {self.config.api_url} ({_short(cause)}); "
                                 "it may or may not have been applied", **kw)
            return TransientError(f"{what}: no answer from {self.config.api_url} ({_short(cause)})", **kw)
        if isinstance(exc, MastodonAPIError):
            status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
            msg = str(exc.args[3] if len(exc.args) > 3 and exc.args[3] else
                      exc.args[2] if len(exc.args) > 2 else exc.args[0] if exc.args else exc)
            if status is None:  # an answer we cannot read (e.g. not JSON)
                kind = Ambiguous if write else TransientError
                return kind(f"{what}: unreadable answer from {self.config.api_url}", **kw)
            if status == 429:
                return self._rate_limited(what)
            if status == 401 or (status == 403 and "scope" in msg.lower()):
                return AuthFailed(f"{what}: {self.config.api_url} refused the access token ({msg})",
                                  status=status, **kw)
            if status >= 500 or status == 408:
                return TransientError(f"{what}: {status} {msg}", status=status, **kw)
            return Rejected(f"{what}: {msg}", status=status, **kw)
        if isinstance(exc, MastodonIllegalArgumentError):
            return Rejected(f"{what}: {exc}", **kw)
        raise exc

    def _rate_limited(self, what: str) -> RateLimited:
        when = self._last_reset
        return RateLimited(f"{what}: rate limited until {when.isoformat() if when else 'unknown'}",
                           reset_at=when, platform=self.name, status=429)

    # --- limits ----------------------------------------------------------------------------
    @property
    def limits(self) -> MastodonLimits:
        if self._limits is None:
            limits = self._read_limits()
            if limits is None:
                return MASTODON
            self._limits = limits
        return self._limits

    def _read_limits(self) -> MastodonLimits | None:
        """The instance's limits: the cached reading while fresh, else ``/api/v2/instance``
        (saved through the cache); None when neither is available (try again in a minute)."""
        cached = None
        if self._cache:
            try:
                cached = self._cache[0]()
            except Exception as e:  # a broken cache must not stop a publish
                self._log(f"{self.name}: cached instance limits unreadable ({e})")
        if cached and _fresh(cached):
            return MASTODON.for_instance(cached)
        if time.monotonic() - self._limits_failed_at < 60 and self._limits_failed_at:
            return MASTODON.for_instance(cached) if cached else None
        try:
            doc = _plain(self._call("read instance limits", lambda: self.api.instance_v2()))
        except PlatformError as e:
            self._limits_failed_at = time.monotonic()
            self._log(f"{self.name}: could not read the instance's limits ({e}); "
                      + ("using the last reading" if cached else "using Mastodon's defaults"))
            return MASTODON.for_instance(cached) if cached else None
        conf = doc.get("configuration") or {}
        keep = {"fetched_at": datetime.now(UTC).isoformat(), "domain": doc.get("domain"),
                "version": doc.get("version"),
                "configuration": {k: conf.get(k) or {} for k in ("statuses", "media_attachments")}}
        if self._cache:
            try:
                self._cache[1](keep)
            except Exception as e:
                self._log(f"{self.name}: could not keep the instance's limits ({e})")
        return MASTODON.for_instance(keep)

    # --- Platform --------------------------------------------------------------------------
    def verify(self) -> Account:
        if self._account is None:
            me = self._call("verify credentials", lambda: self.api.account_verify_credentials())
            self._account = Account(self.name, str(me["id"]), str(me.get("acct") or me["username"]))
        return self._account

    def new_keys(self, count: int, seed: KeySeed | None = None) -> list[str | None]:
        if seed is None:
            return [uuid.uuid4().hex for _ in range(count)]
        base = seed.digest().hex()[:40]
        return [f"{base}-{seed.first_part + i}" for i in range(count)]

    def publish(self, parts: Sequence[OutgoingPart], keys: Sequence[str | None],
                reply_to: tuple[Remote, Remote] | None = None) -> list[Remote]:
        root = reply_to[0].id if reply_to else None
        parent = reply_to[1].id if reply_to else None
        out: list[Remote] = []
        for i, part in enumerate(parts):
            key = keys[i] if i < len(keys) else None
            try:
                self._preflight(part)
                media_ids = [self._upload(m) for m in part.media]
                self._wait_processed(media_ids)
                st = self._post(part, media_ids, parent, key)
            except PlatformError as e:
                e.published = list(out)  # type: ignore[attr-defined]  # parts that did land
                raise
            sid = str(st["id"])
            root = root or sid
            out.append(Remote(self.name, sid, str(st.get("url") or st.get("uri") or ""),
                              extra={"root": root, "parent": parent or "", "text": part.text}))
            parent = sid
        return out

    def _preflight(self, part: OutgoingPart) -> None:
        """What the server would refuse only after uploads (too many media, an image over the
        instance's cap): refuse it before anything is sent."""
        lim = self.limits
        if len(part.media) > lim.max_images:
            raise Rejected(f"{len(part.media)} images in one post ({self.name} allows "
                           f"{lim.max_images})", platform=self.name)
        for m in part.media:
            if len(m.data) > lim.max_image_bytes:
                raise Rejected(f"image {m.filename or ''} is {len(m.data):,} bytes; {self.name} "
                               f"takes images under {lim.max_image_bytes + 1:,}", platform=self.name)

    def _post(self, part: OutgoingPart, media_ids: list[str], parent: str | None,
              key: str | None) -> Any:
        lang = (part.langs[0].split("-")[0].lower() if part.langs else None) or None
        return self._call("post", lambda: self.api.status_post(
            part.text, in_reply_to_id=parent, media_ids=media_ids or None,
            sensitive=part.sensitive, spoiler_text=part.spoiler_text or None,
            visibility=self.config.visibility, language=lang, idempotency_key=key), write=True)

    def _upload(self, media: OutgoingMedia) -> str:
        """Upload one image with its alt text and focus; returns the media id. An upload is not
        a post: when its answer is lost it is retried like any read (the orphan expires)."""
        alt = media.alt[:self.limits.max_alt] or None
        att = self._call("upload image", lambda: self.api.media_post(
            media.data, mime_type=media.mime, description=alt, focus=media.focus,
            file_name=media.filename or None))
        if att.get("url"):
            self._ready.add(str(att["id"]))
        return str(att["id"])

    def _wait_processed(self, media_ids: list[str]) -> None:
        """Poll ``GET /api/v1/media/:id`` until each upload has its URL (the server cannot
        attach media still processing), within the configured timeout."""
        ready = self._ready
        pending = [m for m in media_ids if m not in ready]
        deadline = time.monotonic() + max(self.config.timeout, 1.0)
        pause = 0.05
        while pending:
            att = self._call("media status", lambda: self.api.media(pending[0]))
            if att.get("url"):
                ready.add(pending.pop(0))
                continue
            if time.monotonic() + pause > deadline:
                raise TransientError(f"{self.name} is still processing media {pending[0]} after "
                                     f"{self.config.timeout:g} s", platform=self.name)
            self._sleep(pause)
            pause = min(pause * 2, 2.0)

    def lookup(self, part: OutgoingPart, key: str | None, since: datetime) -> Remote | None:
        """Find this part among the account's statuses since ``since`` (newest first) by its
        text as the server renders it; the idempotency key cannot be read back (and the server
        forgets it after an hour)."""
        text = part.text if part.text.strip() else part.spoiler_text  # moved there on posting
        want, n_media = comparable(text), len(part.media)
        # None: not known (a crashed claim is looked up from its stored text alone)
        spoiler = comparable(part.spoiler_text) if part.text.strip() and part.spoiler_text else None
        uid = self.verify().id
        now = datetime.now(UTC)
        # A frozen/offset clock may be ahead of the server's: only trust ``since`` when plausible.
        floor = since - timedelta(minutes=10) if since <= now else None
        max_id = None
        for _ in range(10):  # up to 400 recent statuses
            page = self._call("read recent posts", lambda: self.api.account_statuses(
                uid, limit=40, max_id=max_id))  # noqa: B023  (runs at once)
            if not page:
                return None
            for st in page:
                created = _as_datetime(st.get("created_at"))
                if floor and created and created < floor:
                    return None
                if (comparable(html_to_text(st.get("content") or "")) == want
                        and spoiler in (None, comparable(st.get("spoiler_text") or ""))
                        and (want or len(st.get("media_attachments") or []) == n_media)):
                    return Remote(self.name, str(st["id"]), str(st.get("url") or st.get("uri") or ""),
                                  extra={"parent": str(st.get("in_reply_to_id") or ""), "text": part.text})
            max_id = page[-1]["id"]
        return None

    def metrics(self, remotes: Sequence[Remote]) -> dict[str, Counts]:
        """Favourites, reblogs and replies, one status a request (see mastodon_metrics)."""
        from uprbuzz.platforms.mastodon_metrics import read_metrics

        return read_metrics(
            lambda sid: self._call("read engagement", lambda: self.api.status(sid)), remotes)

    def delete(self, remote: Remote) -> None:
        try:
            self._call("delete", lambda: self.api.status_delete(remote.id), write=True)
        except Rejected as e:
            if e.status != 404:  # already gone is fine
                raise
        except Ambiguous as e:  # a delete may simply be sent again
            raise TransientError(str(e.message), platform=self.name) from e


def _fresh(doc: dict[str, Any]) -> bool:
    try:
        at = datetime.fromisoformat(str(doc.get("fetched_at")))
    except ValueError:
        return False
    return bool(datetime.now(UTC) - at < timedelta(days=CACHE_DAYS))


def _plain(obj: Any) -> Any:
    """Mastodon.py's attribute dicts (and datetimes) as plain JSON values."""
    import json

    return json.loads(json.dumps(obj, default=str))


def _as_datetime(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(str(v).replace("Z", "+00:00")) if v else None
    except ValueError:
        return None


def _reset_time(reset: str | None, date: str | None) -> datetime | None:
    """X-RateLimit-Reset (ISO 8601, the server's clock) on our clock, using the answer's Date."""
    when = _as_datetime(reset)
    if when is None:
        return None
    if date:
        from email.utils import parsedate_to_datetime

        try:
            server_now = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return when
        return datetime.now(UTC) + (when - server_now)
    return when


def _short(exc: BaseException | None) -> str:
    s = str(exc)
    return s if len(s) < 200 else s[:200] + "..."
