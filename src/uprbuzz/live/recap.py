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

COLUMNS = ("n", "offset", "speaker", "kind", "text", "x_url", "bluesky_url", "webcast", "state")


def recap_rows(store: Store, session: LiveSession, key: str | None = None,
               platforms: tuple[str, ...] = ("x", "bluesky")) -> list[dict[str, Any]]:
    """One row per live post (anchor first), links from the publish ledger when it has them."""
    rows = []
    for lp in LiveStore(store.db).posts(key or session.id):
        landed = remote_records(store, lp.post_id)
        links = {}
        for p in platforms:
            remotes = landed.get(p) or []
            url = remotes[0].url or remotes[0].uri if remotes else ""
            links[p] = url or lp.platforms.get(p, {}).get("url", "")
        off = lp.offset if lp.offset is not None else 0.0
        rows.append({
            "n": lp.n, "offset": format_hms(off), "speaker": lp.speaker or "",
            "kind": lp.kind, "text": lp.text,
            "x_url": links.get("x", ""), "bluesky_url": links.get("bluesky", ""),
            "webcast": f"{session.webtv} (at {format_hms(max(off, 0))})" if session.webtv else "",
            "state": lp.state,
        })
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in COLUMNS})
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
        links = []
        if r["x_url"]:
            links.append(f"[X]({r['x_url']})")
        if r["bluesky_url"]:
            links.append(f"[Bluesky]({r['bluesky_url']})")
        if session.webtv:
            links.append(f"[webcast]({session.webtv}) at {r['offset']}")
        if r["state"] not in ("sent",):
            links.append(f"state: {r['state']}")
        out.append(" · ".join(links))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
