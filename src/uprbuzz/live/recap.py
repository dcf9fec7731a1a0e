"""``uprbuzz recap SESSION``: the coverage as Markdown or CSV, the start of the follow-up post.

Each post with its broadcast offset, speaker, text, its links on every platform and a link into
the webcast. UN Web TV has no time-offset URL parameter, so the webcast link is printed with
"at hh:mm:ss" beside it.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from uprbuzz.live.broadcast_clock import format_hms
from uprbuzz.publish.publisher import remote_records
from uprbuzz.store.live_tables import LiveStore

if TYPE_CHECKING:
    from uprbuzz.live.session_file import LiveSession
    from uprbuzz.store import Store

HEAD = ("n", "offset", "speaker", "kind", "text")
TAIL = ("webcast", "state")
LABELS = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}  # a channel named as its platform


def recap_rows(store: Store, session: LiveSession, key: str | None = None,
               channels: tuple[str, ...] = ("x", "bluesky")) -> list[dict[str, Any]]:
    """One row per live post (anchor first), with a ``<channel>_url`` for each of ``channels``
    (the session's), from the publish ledger when it has them."""
    rows = []
    for lp in LiveStore(store.db).posts(key or session.id):
        landed = remote_records(store, lp.post_id)
        row: dict[str, Any] = {"n": lp.n, "offset": "", "speaker": lp.speaker or "",
                               "kind": lp.kind, "text": lp.text}
        for c in channels:
            remotes = landed.get(c) or []
            url = remotes[0].url or remotes[0].uri if remotes else ""
            row[f"{c}_url"] = url or lp.platforms.get(c, {}).get("url", "")
        off = lp.offset if lp.offset is not None else 0.0
        row["offset"] = format_hms(off)
        row["webcast"] = f"{session.webtv} (at {format_hms(max(off, 0))})" if session.webtv else ""
        row["state"] = lp.state
        rows.append(row)
    return rows


def _channels(rows: list[dict[str, Any]]) -> list[str]:
    return [k[:-4] for k in (rows[0] if rows else {}) if k.endswith("_url")]


def to_csv(rows: list[dict[str, Any]]) -> str:
    columns = [*HEAD, *(f"{c}_url" for c in _channels(rows)), *TAIL]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in columns})
    return buf.getvalue()


def to_markdown(rows: list[dict[str, Any]], session: LiveSession) -> str:
    out = [f"# {session.title}: live coverage", ""]
    start = session.start.strftime("%d %b %Y, %H:%M") + f" ({session.timezone})"
    out.append(f"Webcast: {session.webtv or 'n/a'} · scheduled start {start}. "
               "Times are hh:mm:ss into the webcast.")
    out.append("")
    sent = [r for r in rows if r["state"] in ("sent", "partial")]
    out.append(f"{len(sent)} of {len(rows)} posts went out.")
    out.append("")
    for r in rows:
        who = f" — {r['speaker']}" if r["speaker"] else ""
        label = "anchor post" if r["kind"] == "anchor" else r["kind"]
        out.append(f"## {r['offset']}{who} ({label})")
        out.append("")
        out.append("> " + r["text"].replace("\n", "\n> "))
        out.append("")
        links = [f"[{LABELS.get(c, c)}]({r[f'{c}_url']})" for c in _channels(rows)
                 if r[f"{c}_url"]]
        if session.webtv:
            links.append(f"[webcast]({session.webtv}) at {r['offset']}")
        if r["state"] not in ("sent",):
            links.append(f"state: {r['state']}")
        out.append(" · ".join(links))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
