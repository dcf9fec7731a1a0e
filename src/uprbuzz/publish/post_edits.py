"""Posts changed after some of their parts went out: renamed, edited, shortened or deleted.

A sent part cannot be changed by uprbuzz (X has no edit; a Bluesky or Mastodon edit would be
a new post to every reader who saw the first one), so each run says plainly, once per change,
what went out, what will still go out and what never will, and keeps the ledger telling the
truth (``status`` shows the same notes):

* **renamed**: a new post id whose text on a channel is exactly what a vanished post id sent
  there in full is that post under its new name: its rows move over, nothing is sent again.
* **edited**: a sent part whose text changed keeps its old text on the platform; the note on
  its row says so. Parts not sent yet go out as they read now, under the parts already out.
* **shortened** or **deleted**: a part that is no longer in the post (or whose post is gone)
  and was never sent is ``withdrawn``: it will never be sent, and no longer shows as deferred.
  If the post comes back, withdrawn parts are due again like parts never tried.

A post is only taken as gone when no error stops its file from being read (a file that fails
to parse is not a deleted post).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from uprbuzz.model import Diagnostic, Post
from uprbuzz.publish.report import Report

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store
    from uprbuzz.store.publications import PubRow

PENDING = ("deferred", "failed", "missed")  # rows that may still be tried: never in flight
EDITED = "edited after it was sent: this part went out as it read then; the edit is not published"


def tidy(config: Config, store: Store, posts: Mapping[str, Post], diagnostics: Sequence[Diagnostic],
         ledger: Mapping[str, Sequence[PubRow]], report: Report, now: datetime,
         log: Callable[[str], None]) -> bool:
    """Recognise renames, note edits, withdraw parts that will never go out (each said once,
    in ``report`` and the log); True when the ledger changed (the caller reads it again)."""
    pubs = store.publications
    said = len(report.items)
    broken = {d.path for d in diagnostics if d.severity == "error"}
    gone = {pid: rows for pid, rows in ledger.items()
            if pid not in posts and not _unreadable(store, pid, broken)}
    changed = False

    # renamed: a post new to the ledger that a vanished post already sent, text for text
    sent_as = _sent_lanes(gone)
    for post in posts.values():
        if post.id in ledger or not sent_as:
            continue
        for ch in config.route(post):
            texts = tuple(p.text for p in post.parts_on(ch.name, ch.platform) or ())
            old = sent_as.pop((ch.name, texts), None)
            if old is None:
                continue
            pubs.rename(old, post.id, ch.name, now)
            gone[old] = [r for r in gone[old] if r.channel != ch.name]
            report.add(post.id, ch.name, "renamed",
                       f"is {old} renamed; already published there, not sent again")
            changed = True

    # deleted: what was never sent will never be
    for pid, rows in gone.items():
        by_lane: dict[str, list[PubRow]] = {}
        for r in rows:
            by_lane.setdefault(r.channel, []).append(r)
        for channel, lane_rows in by_lane.items():
            todo = [r for r in lane_rows if r.state in PENDING]
            if not todo:
                continue
            out = [r.part for r in lane_rows if r.state == "sent"]
            for r in todo:
                pubs.mark(pid, channel, r.part, "withdrawn", now, content_hash=r.content_hash,
                          error="the post is gone (its file was deleted, or it was renamed and "
                          "edited); never sent")
            what = f"{_parts(out)} went out and stay{'s' if len(out) == 1 else ''}" if out else \
                "nothing went out"
            report.add(pid, channel, "withdrawn",
                       f"the post is gone: {what}; {_parts([r.part for r in todo])} will never "
                       "be sent")
            changed = True

    # edited or shortened after sending
    for post in posts.values():
        post_rows = ledger.get(post.id)
        if not post_rows:
            continue
        for ch in config.route(post):
            parts = post.parts_on(ch.name, ch.platform) or ()
            lane = {r.part: r for r in post_rows if r.channel == ch.name}
            edited = [k for k, r in lane.items() if r.state == "sent" and k < len(parts)
                      and r.text is not None and r.text != parts[k].text and r.error != EDITED]
            cut_sent = [k for k, r in lane.items() if r.state == "sent" and k >= len(parts)
                        and r.error != EDITED]
            cut_todo = [k for k, r in lane.items() if r.state in PENDING and k >= len(parts)]
            if not (edited or cut_sent or cut_todo):
                continue
            for k in edited + cut_sent:
                pubs.note(post.id, ch.name, k, now, EDITED)
            for k in cut_todo:
                pubs.mark(post.id, ch.name, k, "withdrawn", now, content_hash=lane[k].content_hash,
                          error="no longer in the post (edited after sending); never sent")
            report.add(post.id, ch.name, "edited", _edit_message(post, parts, lane, edited,
                                                                cut_sent, cut_todo))
            changed = True
    for item in report.items[said:]:
        log(item.line())
    return changed


def _edit_message(post: Post, parts: Sequence[object], lane: Mapping[int, PubRow],
                  edited: list[int], cut_sent: list[int], cut_todo: list[int]) -> str:
    said = []
    if edited:
        said.append(f"{_parts(edited)} went out before the edit and keep{'s' if len(edited) == 1 else ''} "
                    "the old text")
    if cut_sent:
        said.append(f"{_parts(cut_sent)} went out but {'is' if len(cut_sent) == 1 else 'are'} no "
                    f"longer in the post (`uprbuzz retract {post.id}` deletes the whole post)")
    if cut_todo:
        said.append(f"{_parts(cut_todo)} will never be sent (no longer in the post)")
    will = [k for k in range(len(parts)) if lane.get(k) is None or lane[k].state != "sent"]
    if will and post.status == "approved":
        said.append(f"{_parts(will)} will go out as {'it reads' if len(will) == 1 else 'they read'} now")
    return "; ".join(said)


def _parts(ks: Sequence[int]) -> str:
    ns = [str(k + 1) for k in sorted(ks)]
    return f"part {ns[0]}" if len(ns) == 1 else f"parts {', '.join(ns[:-1])} and {ns[-1]}"


def _sent_lanes(gone: Mapping[str, Sequence[PubRow]]) -> dict[tuple[str, tuple[str, ...]], str]:
    """(channel, the texts it sent) -> the vanished post that sent every part of them there."""
    out: dict[tuple[str, tuple[str, ...]], str] = {}
    for pid, rows in gone.items():
        lanes: dict[str, dict[int, PubRow]] = {}
        for r in rows:
            lanes.setdefault(r.channel, {})[r.part] = r
        for channel, lane in lanes.items():
            if all(r.state == "sent" and r.text is not None for r in lane.values()) and \
                    sorted(lane) == list(range(len(lane))):
                out.setdefault((channel, tuple(str(lane[k].text) for k in sorted(lane))), pid)
    return out


def _unreadable(store: Store, post_id: str, broken: set[str]) -> bool:
    """The post's last known file exists but could not be read this time: not gone."""
    if not broken:
        return False
    versions = store.posts.versions(post_id)
    sources = {v["source"] for v in versions if v.get("source")}
    return not sources or bool(sources & broken)
