"""The console's core, shared by the web app, rehearsal and tests: state plus actions.

Every action writes the state store first and then tells the listeners (the web app pushes
the new state to every open page). A submitted post is stored before any platform is called;
``start()`` re-queues whatever a previous process left unsent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uprbuzz.clock import Clock, default_clock
from uprbuzz.errors import UprbuzzError
from uprbuzz.live.broadcast_clock import BroadcastClock, format_hms, parse_hms
from uprbuzz.live.plain import label, plain
from uprbuzz.live.sender import PlatformWorker, remote_from
from uprbuzz.live.session_file import LiveSession
from uprbuzz.live.speakers import Timeline, Who
from uprbuzz.model import Card, Part, Post, post_from_dict, post_to_dict
from uprbuzz.store.live_tables import LivePost, LiveStore

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.platforms.base import Remote
    from uprbuzz.store import Store


_log = logging.getLogger("uprbuzz.live")
TROUBLE = ("retrying", "failed", "waiting")
META = "_meta"  # a post's non-channel facts in its status JSON (who posted it)  # a channel's states that the health strip raises


class ConsoleError(UprbuzzError, ValueError):
    """An operator action that cannot be done (plain sentence, shown on the page)."""


def _ago(seconds: float) -> str:
    s = int(seconds)
    return f"{s} s" if s < 90 else f"{round(s / 60)} min"


def _hhmm(iso: str) -> str:
    """14:03 from a stored wall time (the console's local time zone)."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M")
    except (TypeError, ValueError):
        return ""


class NeedsConfirm(ConsoleError):
    """A post that may be a mistake (the same text just went out): the page asks, then sends
    again with ``confirm``."""


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


class _Blank(dict):  # str.format_map that leaves unknown {names} as they are
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, **values: str) -> str:
    return template.format_map(_Blank(values)).replace("{cursor}", "").strip()


class LiveConsole:
    def __init__(self, config: Config, store: Store, session: LiveSession, *,
                 key: str | None = None, clock: Clock | None = None,
                 publisher_factory: Callable[[str], Any] | None = None,
                 rate: float = 1.0, rehearsal: bool = False, retry_cap: float = 30.0) -> None:
        self.config, self.session = config, session
        self.facade = store
        self.store = LiveStore(store.db)
        self.key = key or session.id
        self.rate, self.rehearsal, self.retry_cap = rate, rehearsal, retry_cap
        self.clock = clock or default_clock()
        start = self.store.ensure_session(self.key, session.path, session.title, session.start)
        self.bclock = BroadcastClock(start, self.clock)
        self.timeline = Timeline(session, self.store.marks(self.key))
        # The channels this session posts to: those it names (a platform's name: all its
        # channels), else every enabled channel. Lanes, workers and the page use these names.
        self.channels = config.pick(session.platforms)
        self.targets = tuple(c.name for c in self.channels)
        factory = publisher_factory or self._default_publisher
        self._factory = factory
        self.workers = {p: PlatformWorker(self, p, factory) for p in self.targets}
        self.listeners: list[Callable[[int], object]] = []  # return values are ignored
        self.version = 0
        self._lock = threading.RLock()
        self._prepared: dict[int, tuple[Post, str, bool]] = {}
        self._submit_lock = threading.Lock()
        self.dup_window = 300.0  # seconds: the same text again within this asks first
        self.operators: dict[str, dict[str, Any]] = {}  # operator id -> name, open pages
        self.started = False
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None

    def _default_publisher(self, name: str) -> Any:
        from uprbuzz.publish.publisher import Publisher

        # One platform call per publish_post: the sender does the waiting between attempts, so
        # every failure reaches the page (and the health strip) at once, not after a backoff.
        return Publisher(self.config, self.facade, clock=self.clock, max_attempts=1)

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the platform workers and re-queue every post not yet sent everywhere."""
        for lp in self.store.pending(self.key):
            for p in self.targets:
                if lp.platforms.get(p, {}).get("state") not in ("sent", "failed", "retracted"):
                    self.workers[p].enqueue(lp.n)
        for w in self.workers.values():
            w.start()
        self._listen()
        self.started = True

    def _listen(self) -> None:
        """Follow the other consoles on this session. PostgreSQL (any machine): a listener
        thread on its own connection refreshes this console and its pages on every ``NOTIFY
        uprbuzz_live, '<session key>'`` (see store/live_tables.py). SQLite (one machine): a
        thread looks every 0.5 s whether another process wrote to the file (``PRAGMA
        data_version``, a cheap read), and refreshes if so."""
        if self._listener is not None:
            return
        url = getattr(self.facade.db, "url", None)
        if not self.store.shared or not url:
            self._listener = threading.Thread(target=self._poll, name="live-poll", daemon=True)
            self._listener.start()
            return
        from uprbuzz.store.live_tables import LIVE_CHANNEL
        from uprbuzz.store.pg_db import listen_live

        ready = threading.Event()
        self._listener = threading.Thread(
            target=listen_live, args=(url, LIVE_CHANNEL, self._notified, self._stop, ready),
            name="live-listen", daemon=True)
        self._listener.start()
        ready.wait(5.0)

    def _poll(self, every: float = 0.5) -> None:
        last = None
        while not self._stop.wait(every):
            try:
                v = self.store.data_version()
                if last is not None and v != last:
                    self.refresh()
                last = v
            except Exception:  # noqa: BLE001 - a busy or closed file: look again later
                _log.debug("live: polling the state file failed", exc_info=True)

    def _notified(self, payload: str, pid: int | None) -> None:
        """A notification from the ledger: another console changed session ``payload`` ("":
        the listener (re)connected and may have missed some)."""
        if payload and payload != self.key:
            return
        if pid is not None:
            from uprbuzz.store.pg_db import backend_pid

            if pid == backend_pid(self.facade.db):
                return  # our own write: the pages were told already
        self.refresh()

    def refresh(self) -> None:
        """Read what another console may have changed (the clock's sync, the speaker marks;
        posts, cues and statuses are read from the ledger on every push) and push the pages."""
        start = self.store.start_at(self.key)
        marks = self.store.marks(self.key)
        with self._lock:
            if start is not None:
                self.bclock.start = start
            self.timeline.set_marks(marks)
        self.changed()

    def stop(self) -> None:
        self._stop.set()
        for w in self.workers.values():
            w.stop()
        for w in self.workers.values():
            if w.thread.is_alive():
                w.thread.join(timeout=5)

    def subscribe(self, fn: Callable[[int], object]) -> Callable[[], None]:
        self.listeners.append(fn)
        return lambda: self.listeners.remove(fn) if fn in self.listeners else None

    def changed(self) -> None:
        with self._lock:
            self.version += 1
            v = self.version
        for fn in list(self.listeners):
            with contextlib.suppress(Exception):  # a closed page must not break the others
                fn(v)

    # --- clock and speakers ------------------------------------------------------------------
    def offset(self) -> float:
        return self.bclock.offset()

    def sync(self, shown: str | float) -> float:
        try:
            secs = parse_hms(shown)
        except ValueError as e:
            raise ConsoleError(str(e)) from None
        at = self.clock.now()
        start = self.bclock.sync(secs, at)
        self.store.add_sync(self.key, at, secs, start)
        self.changed()
        return secs

    def mark(self, who: str | int, offset: float | None = None) -> Who:
        """Now speaking: ``who`` (a speaker's name, a segment kind or a timeline index)."""
        off = self.offset() if offset is None else offset
        try:
            e = self.timeline.mark(int(who) if str(who).isdigit() else str(who), off)
        except (KeyError, IndexError) as ex:
            raise ConsoleError(str(ex).strip('"')) from None
        self.store.add_mark(self.key, e.index, e.name, off)
        self.changed()
        return self.timeline.who(off)

    def who(self, offset: float | None = None) -> Who:
        return self.timeline.who(self.offset() if offset is None else offset)

    # --- posting -----------------------------------------------------------------------------
    def _post_dict(self, post_id: str, text: str, card: Card | None) -> dict[str, Any]:
        from uprbuzz.checks import link_rule

        post = Post(id=post_id, parts=(Part(text),), status="approved",
                    platforms=tuple(dict.fromkeys(c.platform for c in self.channels)),
                    channels=self.targets, langs=self.session.langs, card=card, origin="live")
        # the link rule (uprbuzz.links) as for every source; the store rolls the post back.
        # A link typed into the text becomes a facet only if http(s): bluesky_build's guard.
        for d in link_rule.check_post(post):
            raise ConsoleError(d.message)
        return post_to_dict(post)

    def ensure_anchor(self) -> LivePost:
        lp, created = self.store.add_post(
            self.key, kind="anchor", text=self.session.anchor, n=0, speaker=None,
            offset=self.offset(), data_for=lambda n, pid: self._post_dict(pid, self.session.anchor, None))
        if created:
            self._enqueue(0)
        return lp

    def submit(self, text: str, *, kind: str = "text", card: Card | None = None,
               client_id: str | None = None, cue_id: str | None = None,
               by: str | None = None, confirm: bool = False) -> LivePost:
        """Store a post and queue it on every channel. The same ``client_id`` again is the same
        post; the same text as a post of the last :attr:`dup_window` seconds (by any operator)
        raises :class:`NeedsConfirm` unless ``confirm``. Checked and stored under one lock, so
        two operators sending the same text at the same moment make one post."""
        text = text.strip()
        if not text:
            raise ConsoleError("nothing to post: the text is empty")
        self._check_length(text)
        self.ensure_anchor()
        with self._submit_lock:
            posts = self.store.posts(self.key)
            again = next((p for p in posts if client_id and p.client_id == client_id), None)
            if again is not None:
                return again
            if not confirm:
                self._refuse_recent_duplicate(text, posts)
            off = self.offset()
            now = self.timeline.who(off)
            entry = now["entry"]
            speaker = now["speaker"] or (entry["name"] if entry else None)
            lp, created = self.store.add_post(
                self.key, kind=kind, text=text, speaker=speaker, offset=off, cue_id=cue_id,
                client_id=client_id, data_for=lambda n, pid: self._post_dict(pid, text, card))
            if created and by:
                self.store.update_platform(self.key, lp.n, META, self.targets, by=by[:60])
        if created:
            self._enqueue(lp.n)
        return lp

    def _refuse_recent_duplicate(self, text: str, posts: list[LivePost]) -> None:
        now = datetime.now(UTC)
        for p in reversed(posts):
            if p.n == 0 or not _same_text(p.text, text):
                continue
            try:
                at = datetime.fromisoformat(p.submitted_at)
            except (TypeError, ValueError):
                continue
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            ago = (now - at).total_seconds()
            if ago <= self.dup_window:
                who = p.platforms.get(META, {}).get("by")
                raise NeedsConfirm(
                    f"The same text went out {_ago(ago)} ago (#{p.n}"
                    + (f", by {who}" if who else "") + "). Post it again?")

    def submit_card(self, state: str, paragraph: str, rec_text: str, *, text: str | None = None,
                    client_id: str | None = None, by: str | None = None,
                    confirm: bool = False) -> LivePost:
        if not (state and paragraph and rec_text):
            raise ConsoleError("a recommendation card needs the State, the paragraph and the text")
        stamp = format_hms(self.offset())
        fields = {"state": state, "text": rec_text, "paragraph": paragraph, "timestamp": stamp}
        link = self.record_link(state, paragraph)
        if link:
            fields["link"] = link
        card = Card("recommendation", fields)
        return self.submit(text or self.card_text(state, paragraph, rec_text, link), kind="card",
                           card=card, client_id=client_id, by=by, confirm=confirm)

    def record_link(self, state: str, paragraph: str) -> str:
        """The record's link (its UHRI or UPR Info page, else the UN document) when the store
        holds this recommendation (``uprbuzz records import``) from this State; else ''."""
        rec = self.facade.records.get(None, paragraph)
        if rec is None:
            return ""
        said = {s.strip().casefold() for s in state.replace("؛", ";").replace("；", ";").split(";")}
        if rec.states and not said & {s.casefold() for s in rec.states}:
            return ""  # the same number in another review's report: not this recommendation
        return rec.link

    def card_text(self, state: str, paragraph: str, rec_text: str, link: str = "") -> str:
        tags = " ".join(self.session.hashtags)
        head = f"{state} recommends: “"
        tail = " ".join(x for x in (f"” (para {paragraph})", link, tags) if x)
        room = 270 - len(head) - len(tail)
        quote = rec_text if len(rec_text) <= room else rec_text[: max(room - 1, 10)].rstrip() + "…"
        return head + quote + tail

    def _check_length(self, text: str) -> None:
        from uprbuzz.platforms.text_measure import measure

        m = measure(text)
        for c in self.channels:
            info = m.get(c.platform) or {}
            if c.platform == "mastodon" and c.max_characters:
                from uprbuzz.platforms.text_measure import mastodon_count

                mc = mastodon_count(text, limit=c.max_characters)
                info = {"length": mc.length, "limit": mc.limit, "valid": mc.valid}
            if info and not info.get("valid", True):
                n = info.get("weighted_length", info.get("graphemes", info.get("length")))
                raise ConsoleError(f"too long for {c.name}: {n}/{info.get('limit')}")

    def _enqueue(self, n: int) -> None:
        for p in self.targets:
            self.update_platform(n, p, state="queued", notify=False)
            self.workers[p].enqueue(n)
        self.changed()

    def retract(self, n: int) -> dict[str, str]:
        """Delete post ``n`` on every channel it reached (the ledger marks it retracted, so it is
        never sent again, not even after a restart); returns each channel's outcome in words.
        A correction is a retraction plus a new post (the page puts the text back to edit)."""
        lp = self.store.post(self.key, n)
        if lp is None:
            raise ConsoleError(f"no post #{n}")
        for p in self.targets:  # stop what has not gone out yet
            w = self.workers[p]
            w.retracted.add(n)
            w.retry_now()
        report = self._factory(self.targets[0]).retract(lp.post_id)
        out: dict[str, str] = {}
        for item in report.items:
            if item.platform in self.targets:
                ok = item.state == "retracted"
                out[item.platform] = "retracted" if ok else item.message
                if ok:
                    self.update_platform(n, item.platform, state="retracted", error="",
                                         notify=False)
                else:
                    self.update_platform(n, item.platform, notify=False,
                                         error=f"could not retract: {item.message}")
        for p in self.targets:  # never sent there: nothing to delete, and nothing will be sent
            if p not in out and lp.platforms.get(p, {}).get("state") != "sent":
                self.update_platform(n, p, state="retracted", error="", notify=False)
                out[p] = "retracted"
        self.changed()
        return out

    def retry_channel(self, channel: str) -> list[int]:
        """Retry, in order, every post that has not reached ``channel`` (the health strip's
        Retry): the anchor first, so what follows is threaded under it again."""
        if channel not in self.targets:
            raise ConsoleError(f"no channel {channel!r} in this session")
        todo = [p.n for p in self.store.posts(self.key)
                if p.platforms.get(channel, {}).get("state") in ("failed", "retrying", "waiting",
                                                                 "sending")]
        for n in todo:
            self.retry(n, channels=(channel,), notify=False)
        self.changed()
        return todo

    def retry(self, n: int, channels: tuple[str, ...] | None = None,
              notify: bool = True) -> LivePost:
        """Try post ``n`` again now on every channel it has not reached, whatever happened so
        far: a lane that gave up (or was refused, or is deferred until later) starts its
        attempts again, a lane waiting between attempts tries at once."""
        lp = self.store.post(self.key, n)
        if lp is None:
            raise ConsoleError(f"no post #{n}")
        for p in channels or self.targets:
            st = lp.platforms.get(p, {}).get("state")
            w = self.workers[p]
            if st in ("sent", "retracted"):
                continue
            if st in ("failed", "retrying", "waiting", "sending"):
                if w.calling.acquire(timeout=0):
                    try:  # not while a platform call is under way: its rows are in flight
                        self.fresh_attempts(lp.post_id, p)
                    finally:
                        w.calling.release()
                else:  # the lane is in a call for it now: it starts afresh if that one fails
                    w.retry_asked.add(n)
            w.unblock_next = True
            if st == "failed" or (st in (None, "queued", "sending") and w.busy is None
                                  and w.q.empty()):
                self.update_platform(n, p, state="queued", error="", retry_in=None,
                                     notify=False)
                w.enqueue(n)
            elif st in ("retrying", "waiting"):
                w.retry_now()
        if notify:
            self.changed()
        return lp

    def fresh_attempts(self, post_id: str, channel: str) -> None:
        """Forget a lane's unsent, settled ledger rows (failed: gave up, refused; deferred until
        later) so that the next send claims them afresh, with a new count of attempts. Rows in
        flight or sent are left alone: nothing that may have landed is sent twice."""
        pubs = self.facade.publications
        now = self.clock.now()
        for part, row in pubs.lane(post_id, channel).items():
            if row.state in ("failed", "deferred") and not row.remote_id:
                pubs.forget(post_id, channel, part, now, "Retry pressed: attempts start again")

    # --- cues --------------------------------------------------------------------------------
    def cue_text(self, text: str) -> str:
        return fill(text, webtv=self.session.webtv, hashtags=" ".join(self.session.hashtags),
                    sur=self.session.state_under_review, title=self.session.title)

    def cue_due(self, cue: Any) -> float | None:
        if cue.at is not None:
            return cue.at
        try:
            base = self.timeline.start_of(cue.speaker or cue.segment)
        except KeyError:
            return None
        return base + cue.delay

    def fire_cue(self, cue_id: str, by: str | None = None) -> LivePost | None:
        cue = next((c for c in self.session.cues if c.id == cue_id), None)
        if cue is None:
            raise ConsoleError(f"no cue {cue_id!r}")
        if not self.store.set_cue(self.key, cue_id, "fired"):
            return None  # fired or skipped already (another operator, or a double click)
        card = None
        if cue.card:
            fields = {k: self.cue_text(v) for k, v in cue.card.items() if k != "template"}
            fields.setdefault("timestamp", format_hms(self.offset()))
            card = Card(cue.card["template"], fields)
        lp = self.submit(self.cue_text(cue.text), kind="cue", card=card, cue_id=cue_id, by=by,
                         confirm=True)
        self.store.set_cue_post(self.key, cue_id, lp.post_id)
        self.changed()
        return lp

    def skip_cue(self, cue_id: str) -> bool:
        if not any(c.id == cue_id for c in self.session.cues):
            raise ConsoleError(f"no cue {cue_id!r}")
        done = self.store.set_cue(self.key, cue_id, "skipped")
        self.changed()
        return done

    # --- worker callbacks --------------------------------------------------------------------
    def label(self, channel: str) -> str:
        c = next((c for c in self.channels if c.name == channel), None)
        return label(channel, c.platform if c else channel)

    def update_platform(self, n: int, platform: str, notify: bool = True, **info: Any) -> None:
        """Merge ``info`` into post ``n``'s status on ``platform``. A raw ``error`` from the
        publish loop is stored in plain words (``error``, ``error_kind``) with the raw text as
        ``detail``; ``since`` is the wall time the channel started failing for this post."""
        now = datetime.now().astimezone()
        info["at"] = now.isoformat(timespec="seconds")
        state = info.get("state")
        prev: dict[str, Any] = {}
        if state in TROUBLE or info.get("error"):
            before = self.store.post(self.key, n)
            prev = before.platforms.get(platform, {}) if before else {}
        if "error" in info:
            raw = str(info["error"] or "")
            if raw:
                p = plain(raw, self.label(platform), retrying=state == "retrying",
                          retry_in=info.get("retry_in"), cap=self.retry_cap)
                text = p.text
                if p.kind == "gave-up" and prev.get("cause"):  # why it kept failing
                    text = f"{text} (last: {prev['cause']})"
                info.update(error=text, error_kind=p.kind, detail=raw,
                            cause=prev.get("cause", "") if p.kind == "gave-up" else
                            text.split(", retrying")[0].split(", press Retry")[0])
            else:
                info.update(error_kind="", detail="", cause="")
        if state in TROUBLE:
            info["since"] = (prev.get("since") if prev.get("state") in TROUBLE and prev.get("since")
                             else info["at"])
        elif state is not None:
            info["since"] = ""
        self.store.update_platform(self.key, n, platform, self.targets, **info)
        if notify:
            self.changed()

    def prepared(self, lp: LivePost) -> tuple[Post, str, bool]:
        """The Post to send (card rendered once, shared by both lanes) and its ledger hash."""
        with self._lock:
            if lp.n in self._prepared:
                return self._prepared[lp.n]
            post = post_from_dict(lp.data)
            chash, ok = post.content_hash(), True
            if post.card is not None:
                try:
                    from uprbuzz.publish.prepare import render_cards

                    post = render_cards(post, self.config)
                except Exception:  # publish_post reports the render error as the outcome
                    ok = False
            self._prepared[lp.n] = (post, chash, ok)
            return post, chash, ok

    def reply_to(self, platform: str, n: int) -> tuple[Remote, Remote] | None | str:
        """(root, parent) for post ``n``: the anchor is the root, the last landed post the parent.

        "wait" while the anchor is still on its way; None (unthreaded) if the anchor failed.
        """
        if n == 0:
            return None
        posts = self.store.posts(self.key)
        anchor = next((p for p in posts if p.n == 0), None)
        if anchor is None:
            return None
        a = anchor.platforms.get(platform, {})
        if a.get("state") == "failed":
            return None
        if a.get("state") != "sent" or not a.get("remotes"):
            return "wait"
        root = remote_from(a["remotes"][0], platform)
        parent = remote_from(a["remotes"][-1], platform)
        for p in posts:
            info = p.platforms.get(platform, {})
            if 0 < p.n < n and info.get("state") == "sent" and info.get("remotes"):
                parent = remote_from(info["remotes"][-1], platform)
        return (root, parent)

    # --- the page's state --------------------------------------------------------------------
    def cues_json(self) -> list[dict[str, Any]]:
        done = self.store.cues(self.key)
        out = []
        for c in self.session.cues:
            due = self.cue_due(c)
            trigger = (f"at {format_hms(c.at)}" if c.at is not None else
                       f"when {c.speaker} starts" if c.speaker else f"when the {c.segment} starts")
            d = done.get(c.id, {})
            out.append({"id": c.id, "text": self.cue_text(c.text), "trigger": trigger,
                        "due": due, "due_hms": None if due is None else format_hms(due),
                        "card": c.card, "state": d.get("state", "ready"),
                        "post_id": d.get("post_id")})
        return out

    def card_image(self, n: int) -> tuple[Path, str] | None:
        """The rendered card of post ``n`` (its file and alt text), once the sender rendered it."""
        with self._lock:
            got = self._prepared.get(n)
        if got is None:
            return None
        media = [m for part in got[0].parts for m in part.media]
        if not media:
            return None
        path = (self.config.root / media[0].path).resolve()
        return (path, media[0].alt) if path.is_file() else None

    def _post_json(self, p: LivePost) -> dict[str, Any]:
        d = p.as_json()
        d["by"] = p.platforms.get(META, {}).get("by")
        d["platforms"] = {k: v for k, v in p.platforms.items() if k != META}
        if all(d["platforms"].get(c, {}).get("state") == "retracted" for c in self.targets):
            d["state"] = "retracted"
        if p.kind in ("card", "cue") and p.data.get("card"):
            img = self.card_image(p.n)
            if img is not None:
                d["thumb"], d["thumb_alt"] = f"/api/card/{p.n}", img[1]
        return d

    def health(self, posts: list[LivePost] | None = None) -> list[dict[str, Any]]:
        """Each channel's state at a glance, from the posts' statuses: ``failing`` (a post gave
        up or was refused: since when, why), ``retrying``, ``blocked`` (waiting for the anchor,
        the login refused, the daily cap), ``sending``, ``sent`` (the last post landed) or
        ``idle``; ``text`` says it in words."""
        posts = self.store.posts(self.key) if posts is None else posts
        out = []
        for c in self.targets:
            name = self.label(c)
            infos = [(p.n, p.platforms.get(c, {})) for p in posts]
            by: dict[str, list[tuple[int, dict[str, Any]]]] = {}
            for n, i in infos:
                by.setdefault(i.get("state") or "queued", []).append((n, i))
            blocked = [(n, i) for n, i in [*by.get("waiting", []), *by.get("retrying", []),
                                            *by.get("failed", [])]
                       if i.get("error_kind") in ("auth", "budget", "anchor")]
            failed = [(n, i) for n, i in by.get("failed", []) if (n, i) not in blocked]
            retrying = [(n, i) for n, i in by.get("retrying", []) if (n, i) not in blocked]
            pending = len(by.get("queued", [])) + len(by.get("sending", []))
            sent = by.get("sent", [])
            h: dict[str, Any] = {"channel": c, "label": name, "posts": [n for n, _ in failed]}
            if failed:
                n, i = failed[-1]
                since = min((i.get("since") or i.get("at") or "") for _, i in failed)
                h.update(state="failing", since=_hhmm(since), reason=i.get("error", ""), n=n,
                         text=f"{name} failing since {_hhmm(since)}: {i.get('error', '')}"
                              + (f" ({len(failed)} posts not sent)" if len(failed) > 1 else ""))
            elif retrying:
                n, i = retrying[-1]
                since = min((i.get("since") or i.get("at") or "") for _, i in retrying)
                h.update(state="retrying", since=_hhmm(since), reason=i.get("error", ""), n=n,
                         text=f"{i.get('error', '') or name + ' retrying'} (since {_hhmm(since)})")
            elif blocked:
                n, i = blocked[-1]
                h.update(state="blocked", since=_hhmm(i.get("since") or i.get("at") or ""),
                         reason=i.get("error", ""), n=n,
                         text=i.get("error", "") or f"{name} blocked")
            elif pending:
                h.update(state="sending", text=f"{name}: sending {pending}")
            elif sent:
                n, i = max(sent, key=lambda x: x[1].get("at") or "")
                h.update(state="sent", since=_hhmm(i.get("at") or ""), n=n,
                         text=f"{name}: all sent, last at {_hhmm(i.get('at') or '')}")
            else:
                h.update(state="idle", text=f"{name}: nothing sent yet")
            out.append(h)
        return out

    def state(self) -> dict[str, Any]:
        s = self.session
        off = self.offset()
        posts = self.store.posts(self.key)
        return {
            "version": self.version,
            "session": {"id": s.id, "key": self.key, "title": s.title, "webtv": s.webtv,
                        "hashtags": list(s.hashtags), "sur": s.state_under_review,
                        "scheduled_start": s.start.isoformat(), "platforms": list(self.targets),
                        "rehearsal": self.rehearsal, "anchor": s.anchor,
                        "has_recommendations": bool(s.recommendations),
                        "lang": (s.langs or ("en",))[0]},
            "clock": {"start": self.bclock.start.isoformat(), "now": self.clock.now().isoformat(),
                      "offset": off, "rate": self.rate},
            "who": self.timeline.who(off),
            "timeline": self.timeline.as_json(),
            "template": self.store.template(self.key) or s.template,
            "posts": [self._post_json(p) for p in posts],
            "health": self.health(posts),
            "cues": self.cues_json(),
            "syncs": self.store.syncs(self.key)[-5:],
            "operators": sorted({o["name"] or "unnamed operator"
                                 for o in self.operators.values() if o.get("pages")}),
        }

    def set_template(self, template: str) -> None:
        self.store.set_template(self.key, template)
        self.changed()

    def recommendations(self, state: str) -> list[dict[str, str | list[str]]]:
        return [{"paragraph": r.paragraph, "text": r.text, "states": list(r.states),
                 "theme": r.theme} for r in self.session.recommendations_by(state)]
