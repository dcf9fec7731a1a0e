"""The network's own replies: the replies a platform counts that the ledger itself made.

A platform's reply count includes the thread the network built: part k+1 of a post replies to
part k, and each live post replies to the last part of the previous live post of its session
that had landed on that channel (or to the anchor; ``live/sender.py``, ``LiveConsole.reply_to``:
none when the anchor is not on the channel). Those are not people's replies, so the report
subtracts them, per part, from the snapshots (which keep the platform's raw count).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime

from uprbuzz.store import Store
from uprbuzz.store.live_keys import live_key

Part = tuple[str, str, int]  # post id, channel, part


def own_replies(store: Store) -> dict[Part, list[datetime]]:
    """Per part: when the ledger sent a reply to it (sorted), from every sent part."""
    lanes: dict[tuple[str, str], dict[int, datetime]] = {}
    for r in store.db.query("SELECT post_id, channel, part, sent_at FROM publications "
                            "WHERE state='sent' AND sent_at IS NOT NULL"):
        lanes.setdefault((r["post_id"], r["channel"]), {})[int(r["part"])] = (
            datetime.fromisoformat(r["sent_at"]))
    out: dict[Part, list[datetime]] = {}
    for (post_id, channel), parts in lanes.items():  # a thread: part k+1 answers part k
        for k in parts:
            if k + 1 in parts:
                out.setdefault((post_id, channel, k), []).append(parts[k + 1])
    # live coverage, per session key and channel: n -> (first part sent, last part number)
    live: dict[tuple[str, str], dict[int, tuple[datetime, int]]] = {}
    for (post_id, channel), parts in lanes.items():
        key = live_key(post_id)
        n = _number(post_id)
        if key is not None and n is not None:
            live.setdefault((key, channel), {})[n] = (min(parts.values()), max(parts))
    for (key, channel), posts in live.items():
        if 0 not in posts:  # no anchor on this channel: the live posts were not threaded
            continue
        for n, (at, _) in posts.items():
            if n == 0:
                continue
            before = [m for m, (t, _) in posts.items() if m < n and t <= at]
            if not before:  # the anchor landed after it (sent unthreaded)
                continue
            parent = max(before)
            pid = f"live/{key}/{'anchor' if parent == 0 else parent}"
            out.setdefault((pid, channel, posts[parent][1]), []).append(at)
    for times in out.values():
        times.sort()
    return out


def made_by(times: list[datetime] | None, at: datetime) -> int:
    """How many of the network's own replies had been sent at ``at``."""
    return bisect_right(times, at) if times else 0


def _number(post_id: str) -> int | None:
    last = post_id.rsplit("/", 1)[-1]
    if last == "anchor":
        return 0
    return int(last) if last.isdigit() else None
