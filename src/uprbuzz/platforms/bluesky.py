"""Bluesky over XRPC (``bluesky_xrpc``: httpx, records built as JSON by ``bluesky_build``).

Exactly-once support:
- ``new_keys`` mints TIDs that the publish loop stores *before* sending; every post is created at
  its stored record key, so a resend can never make a second copy.
- A whole thread is ONE ``com.atproto.repo.applyWrites`` (all parts or none): each record's CID
  is computed locally so part *i* can reference part *i-1* before anything exists.
- A create that fails because a key is already taken is evidence that an earlier attempt
  landed: ``publish`` then returns the records already stored at those keys (their real CIDs)
  instead of raising. ``DuplicateContent`` is raised only when some keys exist and others do
  not, which an atomic write cannot produce (someone else wrote there).

Session: the stored session string is resumed (no request); when the server says its access token
is unusable it is refreshed, and a password login happens only when that fails too (revoked),
at most once per instance. Every new session is persisted through ``session_save``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from uprbuzz.config import BlueskyConfig
from uprbuzz.platforms import bluesky_records as rec
from uprbuzz.platforms.base import (
    Account,
    AuthFailed,
    Counts,
    DuplicateContent,
    KeySeed,
    OutgoingPart,
    PlatformError,
    Rejected,
    Remote,
    SessionLoad,
    SessionSave,
    TransientError,
)
from uprbuzz.platforms.bluesky_errors import error_name, is_token_error, map_error, status_of
from uprbuzz.platforms.limits import BLUESKY

if TYPE_CHECKING:
    from uprbuzz.platforms.bluesky_xrpc import Session, XrpcClient

_tid_clock = rec.TidClock()  # one per process: keys stay monotonic across instances


class BlueskyPlatform:
    name = "bluesky"

    def __init__(self, config: BlueskyConfig, *, session_load: SessionLoad | None = None,
                 session_save: SessionSave | None = None, transport: Any = None,
                 card_transport: Any = None, log: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.limits = BLUESKY.for_account(config.image_budget)
        self._session_load = session_load
        self._session_save = session_save
        self._transport = transport  # httpx transport for the XRPC client (tests count requests)
        self._card_transport = card_transport
        self._log = log or (lambda _msg: None)
        self._client: Any = None
        self._did: str | None = None
        self._handle: str | None = None
        self._fresh_login = False  # True once this instance did a password login
        self._dids: dict[str, str | None] = {}
        self.password_logins = 0  # observable in tests and benchmarks
        self._warm_error: PlatformError | None = None  # a warm() login that failed

    # --- session -------------------------------------------------------------------------

    def _new_client(self) -> XrpcClient:
        from uprbuzz.platforms.bluesky_xrpc import XrpcClient

        def on_session(session: Session) -> None:
            if self._session_save is not None:
                self._session_save(session.export())

        return XrpcClient(self.config.pds_url, timeout=self.config.timeout,
                          transport=self._transport, on_session=on_session)

    def _ensure(self) -> XrpcClient:
        if self._client is not None:
            return self._client
        if self._warm_error is not None:  # the warm-up's login failed: say so, once
            err, self._warm_error = self._warm_error, None
            raise err
        stored = self._session_load() if self._session_load else None
        if stored:
            client = self._new_client()
            try:
                sess = client.resume(stored)
                if self._same_account(sess.handle, sess.did):
                    self._client, self._did, self._handle = client, sess.did, sess.handle
                    return client
                self._log("bluesky: stored session belongs to another account; logging in")
            except ValueError:  # a session string of another version: log in instead
                self._log("bluesky: stored session unreadable; logging in")
            client.close()
        return self._password_login()

    def warm(self) -> None:
        """Log in now (a stored session costs no request), before the first post is ready.
        A failure is kept and raised by the first call that needs the session, so a wrong
        password is still tried once, and reported where the post is."""
        if self._client is not None or self._warm_error is not None:
            return
        try:
            self._ensure()
        except PlatformError as e:
            self._warm_error = e

    def _same_account(self, handle: str, did: str) -> bool:
        want = (self.config.handle or "").lstrip("@").lower()
        return not want or want in (handle.lower(), did.lower())

    def _password_login(self) -> XrpcClient:
        if not self.config.has_credentials:
            raise AuthFailed("no Bluesky handle/app password configured (set UPRBUZZ_BLUESKY_HANDLE "
                             "and UPRBUZZ_BLUESKY_PASSWORD)", platform=self.name)
        client = self._client or self._new_client()
        self.password_logins += 1
        self._log(f"bluesky: password login for {self.config.handle}")
        try:
            sess = client.login(self.config.handle or "",
                                self.config.password.reveal())  # type: ignore[union-attr]
        except Exception as e:  # noqa: BLE001
            err = map_error(e, write=False, what="login")
            if status_of(e) == 401:
                err = AuthFailed(f"login: Bluesky rejected handle {self.config.handle!r} or its app "
                                 f"password ({err.message})", platform=self.name, status=401)
            raise err from e
        self._client, self._fresh_login = client, True
        self._did, self._handle = sess.did, sess.handle
        return client

    def _call(self, fn: Callable[[XrpcClient], dict[str, Any]], *, write: bool,
              what: str) -> dict[str, Any]:
        """Run ``fn(client)``; on a dead session refresh it (or log in once with the password)
        and rerun: safe for writes, a request refused for its token was not applied."""
        client = self._ensure()
        try:
            return fn(client)
        except Exception as e:  # noqa: BLE001
            if not is_token_error(e) or self._fresh_login:
                raise map_error(e, write=write, what=what) from e
            self._log(f"bluesky: stored session refused ({error_name(e) or type(e).__name__})")
        try:
            client.refresh()  # the refresh token outlives the access token by months
        except Exception as e:  # noqa: BLE001
            if not is_token_error(e) and status_of(e) not in (400, 401):
                raise map_error(e, write=False, what="refreshSession") from e
            client = self._password_login()
        try:
            return fn(client)
        except Exception as e:  # noqa: BLE001
            raise map_error(e, write=write, what=what) from e

    # --- raw XRPC (JSON in, JSON out: records keep their exact bytes for local CIDs) ---------

    def _procedure(self, nsid: str, body: Any, *, what: str, write: bool = True,
                   encoding: str = "application/json") -> dict[str, Any]:
        return self._call(lambda c: c.procedure(nsid, body, encoding=encoding),
                          write=write, what=what)

    def _query(self, nsid: str, params: dict[str, Any], *, what: str) -> dict[str, Any]:
        return self._call(lambda c: c.query(nsid, params), write=False, what=what)

    def _get_record(self, rkey: str) -> dict[str, Any] | None:
        self._ensure()
        params = {"repo": self._did, "collection": rec.POST, "rkey": rkey}
        try:
            return self._query("com.atproto.repo.getRecord", params, what=f"getRecord {rkey}")
        except Rejected as e:
            if "RecordNotFound" in e.message or "Could not locate record" in e.message:
                return None
            raise

    # --- Platform protocol ---------------------------------------------------------------

    def verify(self) -> Account:
        self._ensure()
        out = self._query("com.atproto.repo.describeRepo", {"repo": self._did}, what="verify")
        return Account(self.name, out.get("did", self._did or ""), out.get("handle", self._handle or ""))

    def new_keys(self, count: int, seed: KeySeed | None = None) -> list[str | None]:
        if seed is None or seed.at is None:
            return [_tid_clock.next() for _ in range(count)]
        at_us = int(seed.at.timestamp()) * 1_000_000
        return list(rec.derived_tids(seed.digest(), at_us, seed.first_part, count))

    def publish(self, parts: Sequence[OutgoingPart], keys: Sequence[str | None],
                reply_to: tuple[Remote, Remote] | None = None) -> list[Remote]:
        if not parts:
            return []
        if len(keys) != len(parts) or not all(k and rec.is_tid(k) for k in keys):
            raise ValueError("publish needs one stored TID per part (call new_keys first)")
        from uprbuzz.platforms.bluesky_build import build_records

        self._ensure()
        if reply_to is not None:
            reply_to = (self._with_cid(reply_to[0]), self._with_cid(reply_to[1]))
        records = build_records(self, parts, reply_to, [str(k) for k in keys])
        writes, remotes = [], []
        for key, record in zip(keys, records, strict=True):
            writes.append({"$type": "com.atproto.repo.applyWrites#create",
                           "collection": rec.POST, "rkey": key, "value": record})
            remotes.append(self._remote(str(key), rec.record_cid(record)))
        try:
            self._procedure("com.atproto.repo.applyWrites",
                            {"repo": self._did, "validate": True, "writes": writes},
                            what=f"applyWrites ({len(writes)} post{'s' * (len(writes) > 1)})")
        except PlatformError as e:
            if not _maybe_taken(e):
                raise
            existing = [self._get_record(str(k)) for k in keys]
            found = [r for r in existing if r]
            if len(found) == len(existing):
                return [self._remote(str(k), str(r.get("cid", ""))) for k, r in zip(keys, found, strict=True)]
            if found:
                raise DuplicateContent(f"some record keys of this thread already hold posts: {e.message}",
                                       platform=self.name, status=e.status) from e
            raise
        return remotes

    def publish_many(self, posts: Sequence[tuple[Sequence[OutgoingPart], Sequence[str | None]]]
                     ) -> list[list[Remote]]:
        """Several posts (each a thread, none a reply) in ONE applyWrites: one commit for all,
        which is what a PDS spends its time on. All or nothing; any failure is raised as it is
        (the caller sends them one by one then: the keys were stored before, so a record this
        write did create is found at its key, never created twice)."""
        from uprbuzz.platforms.bluesky_build import build_records

        self._ensure()
        writes: list[dict[str, Any]] = []
        out: list[list[Remote]] = []
        for parts, keys in posts:
            if len(keys) != len(parts) or not all(k and rec.is_tid(k) for k in keys):
                raise ValueError("publish_many needs one stored TID per part")
            records = build_records(self, parts, None, [str(k) for k in keys])
            remotes = []
            for key, record in zip(keys, records, strict=True):
                writes.append({"$type": "com.atproto.repo.applyWrites#create",
                               "collection": rec.POST, "rkey": key, "value": record})
                remotes.append(self._remote(str(key), rec.record_cid(record)))
            out.append(remotes)
        if len(writes) > BLUESKY.max_writes:
            raise ValueError(f"at most {BLUESKY.max_writes} records in one write")
        self._procedure("com.atproto.repo.applyWrites",
                        {"repo": self._did, "validate": True, "writes": writes},
                        what=f"applyWrites ({len(posts)} posts, {len(writes)} records)")
        return out

    def lookup(self, part: OutgoingPart, key: str | None, since: datetime) -> Remote | None:
        if not key:
            return None
        got = self._get_record(key)
        return None if got is None else self._remote(key, str(got.get("cid", "")))

    def delete(self, remote: Remote) -> None:
        self._ensure()
        rkey = remote.id or remote.uri.rsplit("/", 1)[-1]
        repo = remote.uri.split("/")[2] if remote.uri.startswith("at://") else self._did
        # deleteRecord of a missing key succeeds on the PDS: already gone is fine
        self._procedure("com.atproto.repo.deleteRecord",
                        {"repo": repo, "collection": rec.POST, "rkey": rkey}, what=f"delete {rkey}")

    def metrics(self, remotes: Sequence[Remote]) -> dict[str, Counts]:
        """Likes, reposts, replies and quotes from the channel's AppView (``read_url``)."""
        from uprbuzz.platforms.bluesky_metrics import read_metrics

        return read_metrics(self.config, remotes)

    # --- helpers used by bluesky_build -----------------------------------------------------

    def upload_blob(self, data: bytes, mime: str) -> dict[str, Any]:
        out = self._procedure("com.atproto.repo.uploadBlob", data, encoding=mime,
                              what=f"uploadBlob ({len(data):,} bytes)", write=False)
        blob = out.get("blob")
        if not isinstance(blob, dict):
            raise Rejected("uploadBlob: no blob in the answer", platform=self.name)
        return blob

    def resolve_handle(self, handle: str) -> str | None:
        handle = handle.lstrip("@").lower()
        if handle not in self._dids:
            try:
                out = self._query("com.atproto.identity.resolveHandle",
                                  {"handle": handle},
                                  what=f"resolveHandle {handle}")
                self._dids[handle] = out.get("did")
            except (Rejected, TransientError) as e:
                if isinstance(e, AuthFailed):
                    raise
                self._dids[handle] = None  # unresolvable mention: dropped, the post still goes
        return self._dids[handle]

    def _with_cid(self, remote: Remote) -> Remote:
        """A reply needs the parent's CID; fetch it when the ledger did not keep one."""
        if remote.cid:
            return remote
        repo, _, rkey = remote.uri[len("at://"):].split("/")
        params = {"repo": repo, "collection": rec.POST, "rkey": rkey}
        got = self._query("com.atproto.repo.getRecord", params, what=f"getRecord {rkey} (reply parent)")
        return Remote(remote.platform, remote.id, remote.url, uri=remote.uri, cid=str(got.get("cid", "")))

    def _remote(self, rkey: str, cid: str) -> Remote:
        handle = self._handle or self._did or ""
        return Remote(self.name, rkey, f"https://bsky.app/profile/{handle}/post/{rkey}",
                      uri=rec.at_uri(self._did or "", rkey), cid=cid)

    @property
    def did(self) -> str | None:
        return self._did

    @property
    def card_transport(self) -> Any:
        return self._card_transport


def _maybe_taken(e: PlatformError) -> bool:
    """Could this failure be a create at a key that already holds a record? PDS 0.5.35 answers
    500 InternalServerError (its MST refuses the duplicate key); others may say 409/"already"."""
    if isinstance(e, AuthFailed):
        return False
    m = e.message.lower()
    return e.status in (409, 500) or "already" in m or "exists" in m
