"""A ledger for the impact report's tests, written through the store's own APIs: sent
publications (claimed, then marked sent, as the publish loop does), a failed and a retracted
row (never counted), engagement snapshots (an older and a fresher one for the same part), paid
X reads, recommendations and the State's positions; and, independently of uprbuzz.impact,
every number the report must show, recomputed from SQL."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from uprbuzz.config import Config, load_config
from uprbuzz.model import Card, Part, Post
from uprbuzz.platforms.base import Remote
from uprbuzz.platforms.limits import X
from uprbuzz.store import Store
from uprbuzz.store.engagement import Snapshot
from uprbuzz.upr_record import Record

ZONE = "America/New_York"
DOC = "A/HRC/46/15"
UHRI_261 = "https://uhri.ohchr.org/en/document/0b7c2b0e-261"
UPRINFO_263 = "https://upr-info-database.uwazi.io/entity/r263"
LEASE = timedelta(minutes=5)


def toml(lang: str = "en", zone: str = ZONE, extra: str = "") -> str:
    return (f'[project]\nname = "network"\ntimezone = "{zone}"\nlang = "{lang}"\n'
            '[channels.x]\nplatform = "x"\n[channels.bluesky]\nplatform = "bluesky"\n'
            '[channels.mastodon]\nplatform = "mastodon"\nurl = "http://127.0.0.1:9"\n' + extra)


def project(root: Path, lang: str = "en", state: str | None = None) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "uprbuzz.toml").write_text(toml(lang), encoding="utf-8")
    env = {"UPRBUZZ_STATE": state} if state else {}
    return load_config(root, env=env)


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def send(store: Store, post_id: str, channel: str, texts: list[str], at: datetime) -> None:
    """As the publish loop records a thread: claimed, then each part marked sent."""
    pub = store.publications
    parts = [(k, text, None) for k, text in enumerate(texts)]
    assert pub.claim(post_id, channel, parts, f"h-{post_id}", "test-owner", at, LEASE)
    for k, _ in enumerate(texts):
        rid = f"{abs(hash((post_id, channel, k))) % 10**12}"
        pub.mark_sent(post_id, channel, k, Remote(channel, rid,
                                                  f"https://{channel}.example/{rid}"),
                      at + timedelta(seconds=k))


# post id -> (channel, texts, sent at)
SENT: list[tuple[str, str, list[str], str]] = [
    ("followup/2021-03-04", "x", [f"The US noted 26.1 from Slovakia: {UHRI_261}"], "2021-03-04T15:00:00"),
    ("followup/2021-03-04", "bluesky", [f"The US noted 26.1 from Slovakia: {UHRI_261}"], "2021-03-04T15:00:02"),
    ("followup/2021-03-04", "mastodon", [f"The US noted 26.1 from Slovakia: {UHRI_261}"], "2021-03-04T15:00:05"),
    # 03:30 UTC on the 5th is the 4th in New York
    ("followup/2021-03-05", "x", ["Recommendation 26.10 on policing", "More in A/HRC/46/15"], "2021-03-05T03:30:00"),
    ("followup/2021-03-05", "bluesky", ["Recommendation 26.10 on policing", "More in A/HRC/46/15"], "2021-03-05T03:30:00"),
    ("followup/2021-03-06", "mastodon", [f"Supported in part: {UPRINFO_263}"], "2021-03-06T12:00:00"),
    # 126.1 and 26.1.2 name no recommendation
    ("review/intro", "x", ["126.1 apples and section 26.1.2 of a manual"], "2021-03-02T12:00:00"),
    ("live/wg36/1", "x", ["Slovakia recommends abolishing the death penalty"], "2020-11-09T15:00:00"),
    ("live/wg36/1", "bluesky", ["Slovakia recommends abolishing the death penalty"], "2020-11-09T15:00:01"),
    ("live/wg36/2", "bluesky", ["Next: Slovenia"], "2020-11-09T15:10:00"),
]
LIVE_CARD = Post("live/wg36/1", (Part("Slovakia recommends abolishing the death penalty"),),
                 card=Card("recommendation", {"state": "Slovakia", "text": "Abolish it",
                                              "paragraph": "26.2"}), origin="live")
# (post, channel, part, stage, taken at, likes, reposts, replies, quotes, impressions)
SNAPS = [
    ("followup/2021-03-04", "x", 0, "1h", "2021-03-04T16:00:00", 2, 1, 0, 0, 40),
    ("followup/2021-03-04", "x", 0, "24h", "2021-03-05T15:00:00", 5, 2, 1, 0, 100),
    ("followup/2021-03-04", "bluesky", 0, "1h", "2021-03-04T16:00:02", 3, 0, 1, 1, None),
    ("followup/2021-03-04", "mastodon", 0, "24h", "2021-03-05T15:00:05", 1, 1, 0, 0, None),
    ("followup/2021-03-05", "x", 0, "1h", "2021-03-05T04:30:00", 1, 0, 0, 0, 10),
    ("followup/2021-03-05", "x", 1, "1h", "2021-03-05T04:30:01", 0, 1, 0, 0, 5),
    ("live/wg36/1", "bluesky", 0, "7d", "2020-11-16T15:00:01", 10, 4, 2, 1, None),
    ("followup/failed", "x", 0, "1h", "2021-03-04T16:00:00", 99, 99, 99, 99, None),  # never sent
]
X_READS = [("followup/2021-03-04", 0, 0.001, "2021-03-04T16:00:00"),
           ("followup/2021-03-04", 0, 0.001, "2021-03-05T15:00:00"),
           ("followup/2021-03-05", 0, 0.005, "2021-03-05T04:30:00")]
RECORDS = [
    Record(DOC, "26.1", "Abolish the death penalty", ("Slovakia",), ("Death penalty",),
           links={"uhri": UHRI_261}),
    Record(DOC, "26.2", "Establish a moratorium", ("Slovenia",), ("Death penalty", "Police")),
    Record(DOC, "26.3", "Train police", ("Spain",), ("Police",), links={"uprinfo": UPRINFO_263}),
    Record(DOC, "26.10", "Investigate police violence", ("Sweden",), ("Police",)),
    Record(DOC, "26.11", "Ratify the Covenant", ("Togo",)),
]
POSITIONS = {"26.1": "noted", "26.2": "supported", "26.3": "supported in part"}
# the coverage rule applied by hand to the posts above
COVERAGE = {f"{DOC} ¶26.1": ["followup/2021-03-04"], f"{DOC} ¶26.2": ["live/wg36/1"],
            f"{DOC} ¶26.3": ["followup/2021-03-06"], f"{DOC} ¶26.10": ["followup/2021-03-05"]}


def fill(store: Store, *, records: bool = True, live_card: bool = True) -> None:
    for post_id, channel, texts, at in SENT:
        send(store, post_id, channel, texts, t(at))
    now = t("2021-03-04T15:00:00")
    pub = store.publications
    assert pub.claim("followup/failed", "x", [(0, "failed 26.3", None)], "h", "o", now, LEASE)
    pub.mark("followup/failed", "x", 0, "failed", now, error="rejected")
    send(store, "followup/retracted", "bluesky", ["26.11 retracted"], now)
    pub.mark_retracted("followup/retracted", "bluesky", 0, now)
    store.engagement.record([Snapshot(p, c, k, s, t(at), lk, rp, rl, q, imp)
                             for p, c, k, s, at, lk, rp, rl, q, imp in SNAPS])
    for pid, part, usd, at in X_READS:
        store.engagement.record_x_reads("x", [(pid, part, usd)], t(at))
    if records:
        store.records.upsert(RECORDS, source="test.csv")
        for para, pos in POSITIONS.items():
            assert store.records.respond(DOC, para, pos, "", source="answers.csv")
    if live_card:
        store.posts.put_stored(LIVE_CARD)


# --- the numbers, recomputed from SQL without uprbuzz.impact ------------------------------------
@dataclass
class Expected:
    posts: int
    publications: int
    parts: int
    channels: set[str]
    per_day: dict[date, dict[str, int]]
    totals: dict[str, int]
    impressions: int | None
    per_post: dict[str, int]  # interactions
    positions: dict[str, int]
    records: int
    x_parts: dict[date, int]
    x_parts_usd: dict[date, float]
    x_reads: dict[date, tuple[int, float]]


def expected(store: Store, zone: str = ZONE, prefix: str = "",
             since: datetime | None = None, until: datetime | None = None) -> Expected:
    z = ZoneInfo(zone)
    lanes = store.db.query(
        "SELECT post_id, channel, MIN(sent_at) AS first, COUNT(*) AS n FROM publications "
        "WHERE state = 'sent' AND post_id LIKE ? GROUP BY post_id, channel", (prefix + "%",))
    keep = [r for r in lanes if (since is None or datetime.fromisoformat(r["first"]) >= since)
            and (until is None or datetime.fromisoformat(r["first"]) < until)]
    lane_keys = {(r["post_id"], r["channel"]) for r in keep}
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    for r in keep:
        d = datetime.fromisoformat(r["first"]).astimezone(z).date()
        per_day[d][r["channel"]] = per_day[d].get(r["channel"], 0) + 1
    fresh = store.db.query(
        "SELECT * FROM engagement e WHERE taken_at = (SELECT MAX(taken_at) FROM engagement f "
        "WHERE f.post_id = e.post_id AND f.channel = e.channel AND f.part = e.part) AND EXISTS "
        "(SELECT 1 FROM publications p WHERE p.post_id = e.post_id AND p.channel = e.channel "
        "AND p.part = e.part AND p.state = 'sent')")
    fresh = [{**dict(r), "replies": max(0, int(r["replies"]) - own_replies(store, r))}
             for r in fresh if (r["post_id"], r["channel"]) in lane_keys]
    totals = {k: sum(int(r[k]) for r in fresh) for k in ("likes", "reposts", "replies", "quotes")}
    totals["interactions"] = sum(totals.values())
    imps = [int(r["impressions"]) for r in fresh if r["impressions"] is not None]
    per_post: dict[str, int] = defaultdict(int)
    for r in fresh:
        per_post[r["post_id"]] += sum(int(r[k]) for k in ("likes", "reposts", "replies", "quotes"))
    positions = {str(r[0] or "pending"): int(r[1]) for r in store.db.tuples(
        "SELECT position, COUNT(*) FROM records GROUP BY position")}
    x_parts: dict[date, int] = defaultdict(int)
    x_usd: dict[date, float] = defaultdict(float)
    for r in store.db.query("SELECT post_id, channel, sent_at, text FROM publications "
                            "WHERE state = 'sent' AND channel = 'x'"):
        if (r["post_id"], "x") in lane_keys:
            d = datetime.fromisoformat(r["sent_at"]).astimezone(z).date()
            x_parts[d] += 1
            x_usd[d] += X.url_post_usd if "https://" in r["text"] else X.post_usd
    reads: dict[date, tuple[int, float]] = {}
    for r in store.db.query("SELECT at, post_id, detail FROM events WHERE event = 'x_read'"):
        if (r["post_id"], "x") in lane_keys:
            d = datetime.fromisoformat(r["at"]).astimezone(z).date()
            n, usd = reads.get(d, (0, 0.0))
            reads[d] = (n + 1, usd + float(r["detail"]))
    return Expected(len({p for p, _ in lane_keys}), len(lane_keys), sum(int(r["n"]) for r in keep),
                    {c for _, c in lane_keys}, dict(per_day), totals,
                    sum(imps) if imps else None, dict(per_post), positions,
                    int(store.db.tuples("SELECT COUNT(*) FROM records")[0][0]),
                    dict(x_parts), dict(x_usd), reads)


def own_replies(store: Store, snap: Any) -> int:
    """The network's own replies to a snapshot's part sent by its time, from SQL: the thread's
    next part; for live coverage with its anchor on the channel, the next live posts whose
    latest earlier live post on the channel (by number, sent before them) is this one."""
    at = snap["taken_at"]
    n = int(store.db.tuples(
        "SELECT COUNT(*) FROM publications WHERE post_id = ? AND channel = ? AND part = ? "
        "AND state = 'sent' AND sent_at <= ?",
        (snap["post_id"], snap["channel"], int(snap["part"]) + 1, at))[0][0])
    m = re.fullmatch(r"live/([^/]+)/(anchor|\d+)", snap["post_id"])
    if not m or n:  # not live, or not the post's last part
        return n
    key = m.group(1)
    first: dict[int, str] = {}
    for r in store.db.query("SELECT post_id, MIN(sent_at) AS t FROM publications WHERE "
                            "channel = ? AND state = 'sent' AND post_id LIKE ? GROUP BY post_id",
                            (snap["channel"], f"live/{key}/%")):
        tail = r["post_id"].rsplit("/", 1)[1]
        first[0 if tail == "anchor" else int(tail)] = r["t"]
    if 0 not in first:
        return 0
    me = 0 if m.group(2) == "anchor" else int(m.group(2))
    return sum(1 for k, t in first.items() if k > me and t <= at
               and max((j for j, u in first.items() if j < k and u <= t), default=-1) == me)


def csv_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """The CSV's long rows back into tables: section -> rows (column -> value)."""
    import csv
    import io

    out: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
    for r in csv.DictReader(io.StringIO(text)):
        out[r["section"]].setdefault(int(r["row"]), {})[r["column"]] = r["value"]
    return {k: [v[i] for i in sorted(v)] for k, v in out.items()}


def as_json(text: str) -> dict[str, Any]:
    return json.loads(text)


def html_tables(page: str) -> dict[str, list[list[str]]]:
    """The page's data tables by name (``tab-<name>`` caption ids): rows of cell texts, the
    header row first."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tables: dict[str, list[list[str]]] = {}
            self.name: str | None = None
            self.row: list[str] | None = None
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "caption" and (a.get("id") or "").startswith("tab-"):
                self.name = str(a["id"])[4:]
                self.tables[self.name] = []
            elif tag == "tr" and self.name:
                self.row = []
            elif tag in ("td", "th") and self.row is not None:
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self.cell is not None and self.row is not None:
                # ASCII spaces only: CLDR's no-break spaces are part of the numbers
                self.row.append(re.sub(r"[ \t\r\n]+", " ", "".join(self.cell)).strip())
                self.cell = None
            elif tag == "tr" and self.row is not None and self.name:
                self.tables[self.name].append(self.row)
                self.row = None
            elif tag == "table":
                self.name = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    p = P()
    p.feed(page)
    return p.tables
