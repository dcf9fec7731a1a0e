"""``uprbuzz recap SESSION``: the coverage as Markdown or CSV, the start of the follow-up post.

Each post with its broadcast offset, speaker, text, its links on every platform and a link into
the webcast (live/webcast.py: ``?t=h:mm:ss``, with "at hh:mm:ss" beside it, as UN Web TV itself
documents no time-offset parameter). A post re-timed by ``uprbuzz live align`` is shown at its
speaker's statement in the transcript, its console time kept in ``posted_offset``.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from uprbuzz.live.broadcast_clock import format_hms
from uprbuzz.live.webcast import webcast_link
from uprbuzz.publish.publisher import remote_records
from uprbuzz.store.live_tables import LiveStore

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.live.session_file import LiveSession
    from uprbuzz.store import Store

HEAD = ("n", "offset", "segment", "speaker", "kind", "paragraph", "text")
TAIL = ("webcast_url", "webcast_at", "state", "posted_offset", "aligned")
ALIGNED = "transcript"  # the ``aligned`` column of a post re-timed by ``uprbuzz live align``
LABELS = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}  # a channel named as its platform
SEGMENTS = {"opening": "Opening", "presentation": "Presentation by the State under review",
            "dialogue": "Interactive dialogue", "concluding": "Concluding remarks",
            "other": "Other"}
STATES = {"sent": "went out on every channel", "partial": "went out on some channels only",
          "failed": "did not go out", "sending": "were still being sent",
          "submitted": "were never sent"}


def recap_rows(store: Store, session: LiveSession, key: str | None = None,
               channels: tuple[str, ...] = ("x", "bluesky"),
               config: Config | None = None) -> list[dict[str, Any]]:
    """One row per live post in broadcast order (the anchor first), with its segment, a
    ``<channel>_url`` for each of ``channels`` (the session's), from the publish ledger when it
    has them, the recommendation's paragraph for a card and, given ``config``, the card's image
    (``image``, ``image_alt``: rendered again from the stored post, content-addressed)."""
    from uprbuzz.live.speakers import Timeline

    timeline = Timeline(session, LiveStore(store.db).marks(key or session.id))
    rows = []
    for lp in LiveStore(store.db).posts(key or session.id):
        landed = remote_records(store, lp.post_id)
        posted = lp.offset if lp.offset is not None else 0.0
        # aligned to the transcript: the speaker's statement; the segment stays the console's
        off = lp.aligned_offset if lp.aligned_offset is not None else posted
        who = timeline.who(posted)
        card = lp.data.get("card") or {}
        row: dict[str, Any] = {"n": lp.n, "offset": format_hms(off), "_off": off, "_posted": posted,
                               "posted_offset": format_hms(posted),
                               "aligned": ALIGNED if lp.aligned_offset is not None else "",
                               "segment": "" if lp.n == 0 else (who.get("segment") or ""),
                               "speaker": lp.aligned_speaker or lp.speaker or "", "kind": lp.kind,
                               "paragraph": (card.get("fields") or {}).get("paragraph", ""),
                               "text": lp.text}
        for c in channels:
            remotes = landed.get(c) or []
            url = remotes[0].url or remotes[0].uri if remotes else ""
            row[f"{c}_url"] = url or lp.platforms.get(c, {}).get("url", "")
        row["webcast_url"] = webcast_link(session.webtv, off)
        row["webcast_at"] = format_hms(max(off, 0))
        row["webcast"] = f"{row['webcast_url']} (at {row['webcast_at']})" if session.webtv else ""
        row["state"] = lp.state
        row["image"], row["image_alt"] = _card_image(lp.data, config) if card and config else ("", "")
        rows.append(row)
    rows.sort(key=lambda r: (r["n"] != 0, r["_off"], r["_posted"], r["n"]))
    return rows


def _card_image(data: dict[str, Any], config: Config) -> tuple[str, str]:
    try:
        from uprbuzz.model import post_from_dict
        from uprbuzz.publish.prepare import render_cards

        post = render_cards(post_from_dict(data), config)
    except Exception:  # noqa: BLE001 - a recap without the picture beats no recap
        return "", ""
    media = [m for part in post.parts for m in part.media]
    return (media[0].path, media[0].alt) if media else ("", "")


def _channels(rows: list[dict[str, Any]]) -> list[str]:
    return [k[:-4] for k in (rows[0] if rows else {}) if k.endswith("_url") and k != "webcast_url"]


def to_csv(rows: list[dict[str, Any]], *, bom: bool = False) -> str:
    """The recap as CSV: one link column per channel, the webcast link and time apart; ``bom``
    starts it with a UTF-8 byte order mark (so that spreadsheet programs read it as UTF-8)."""
    columns = [*HEAD, *(f"{c}_url" for c in _channels(rows)), *TAIL]
    buf = io.StringIO()
    if bom:
        buf.write("\ufeff")
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in columns})
    return buf.getvalue()


def counts(rows: list[dict[str, Any]]) -> str:
    """Honest counts: partial is partial, failed is failed."""
    by: dict[str, int] = {}
    for r in rows:
        by[r["state"]] = by.get(r["state"], 0) + 1
    parts = [f"{by[s]} {STATES.get(s, s)}" for s in STATES if by.get(s)]
    parts += [f"{n} {s}" for s, n in by.items() if s not in STATES]
    return f"{len(rows)} posts: " + "; ".join(parts) + "." if rows else "No posts."


def to_markdown(rows: list[dict[str, Any]], session: LiveSession) -> str:
    out = [f"# {session.title}: live coverage", ""]
    start = session.start.strftime("%d %b %Y, %H:%M") + f" ({session.timezone})"
    out.append(f"Webcast: {session.webtv or 'n/a'} · scheduled start {start}. "
               "Times are hh:mm:ss into the webcast, in broadcast order.")
    aligned = sum(r.get("aligned") == ALIGNED for r in rows)
    if aligned:
        out.append(f"{aligned} of {len(rows)} posts are aligned to the transcript: shown at the "
                   "start of their speaker's statement, the time they were posted beside them.")
    out.append("")
    out.append(counts(rows))
    out.append("")
    segment: str | None = None
    speaker: str | None = None
    for r in rows:
        seg = "Anchor post" if r["n"] == 0 else SEGMENTS.get(r["segment"], r["segment"] or "Before the start")
        if seg != segment:
            segment, speaker = seg, None
            out += [f"## {seg}", ""]
        if r["speaker"] and r["speaker"] != speaker and r["n"] != 0:
            speaker = r["speaker"]
            out += [f"### {speaker}", ""]
        what = "anchor post" if r["kind"] == "anchor" else r["kind"]
        if r.get("paragraph"):
            what = f"recommendation {r['paragraph']}"
        if r.get("aligned") == ALIGNED:
            what += f"; aligned to the transcript, posted at {r['posted_offset']}"
        out.append(f"**{r['offset']}** ({what})")
        out.append("")
        out.append("> " + r["text"].replace("\n", "\n> "))
        out.append("")
        if r.get("image"):
            alt = (r.get("image_alt") or f"share card: {r['text']}").replace("]", ")").replace("\n", " ")
            out += [f"![{alt}]({r['image']})", ""]
        links = [f"[{LABELS.get(c, c)}]({r[f'{c}_url']})" for c in _channels(rows)
                 if r[f"{c}_url"]]
        if session.webtv:
            links.append(f"[webcast]({r['webcast_url']}) at {r['webcast_at']}")
        if r["state"] != "sent":
            links.append(f"state: {r['state']} ({STATES.get(r['state'], r['state'])})")
        out.append(" · ".join(links))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
