"""The report's numbers (``ImpactData``) and their tables: the one computation the HTML, CSV
and JSON renderings all read, so that the three always agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

COUNTS = ("likes", "reposts", "replies", "quotes")  # interactions = their sum


@dataclass(frozen=True)
class Counts:
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    impressions: int | None = None  # X only, when the API gave it

    @property
    def interactions(self) -> int:
        return self.likes + self.reposts + self.replies + self.quotes

    def __add__(self, o: Counts) -> Counts:
        imp = (None if self.impressions is None and o.impressions is None
               else (self.impressions or 0) + (o.impressions or 0))
        return Counts(self.likes + o.likes, self.reposts + o.reposts, self.replies + o.replies,
                      self.quotes + o.quotes, imp)

    def as_dict(self) -> dict[str, int | None]:
        return {"likes": self.likes, "reposts": self.reposts, "replies": self.replies,
                "quotes": self.quotes, "interactions": self.interactions,
                "impressions": self.impressions}


@dataclass(frozen=True)
class Channel:
    name: str
    platform: str


@dataclass(frozen=True)
class DayPosts:
    day: date
    counts: dict[str, int]  # channel -> publications whose first part went out that day

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DayEngagement:
    day: date
    counts: Counts  # everything known by the end of the day (each part's freshest snapshot)
    taken: int = 0  # snapshots taken that day (the tables list only days with some)


@dataclass(frozen=True)
class TopPost:
    post_id: str
    text: str  # its first part as sent
    counts: Counts
    links: tuple[tuple[str, str], ...]  # (channel, url of its first part)


@dataclass(frozen=True)
class RecordCoverage:
    key: str  # A/HRC/46/15 ¶26.1
    themes: tuple[str, ...]
    position: str  # supported | noted | supported in part | pending
    posts: tuple[str, ...]  # post ids covering it


@dataclass(frozen=True)
class ThemeCoverage:
    theme: str  # "" = records without a theme
    records: int
    covered: int
    posts: int  # distinct posts covering at least one of its records


@dataclass(frozen=True)
class DaySpend:
    day: date
    parts: int  # X posts (thread parts) sent that day...
    parts_usd: float  # ...and what they cost
    reads: int = 0  # paid engagement reads of them that day...
    reads_usd: float = 0.0  # ...and what they cost

    @property
    def usd(self) -> float:
        return self.parts_usd + self.reads_usd


@dataclass
class ImpactData:
    project: str
    lang: str
    zone: str
    generated_at: datetime
    scope: dict[str, str | None]
    channels: list[Channel] = field(default_factory=list)  # those with a publication in scope
    posts: int = 0  # distinct posts with a part sent on some channel
    publications: int = 0  # post × channel
    parts: int = 0  # post × channel × part (a thread counts each part)
    totals: Counts = field(default_factory=Counts)
    per_day: list[DayPosts] = field(default_factory=list)
    engagement: list[DayEngagement] = field(default_factory=list)
    top_posts: list[TopPost] = field(default_factory=list)
    records: int = 0
    coverage: list[RecordCoverage] = field(default_factory=list)  # covered records only
    themes: list[ThemeCoverage] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)  # records.summary()'s by_position
    x_spend: list[DaySpend] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.publications == 0

    @property
    def x_usd(self) -> float:
        return round(sum(d.usd for d in self.x_spend), 6)

    def as_dict(self) -> dict[str, Any]:
        """The JSON rendering (``--format json``): the same numbers, with names as keys."""
        return {
            "version": 1, "project": self.project, "lang": self.lang, "zone": self.zone,
            "generated_at": self.generated_at.isoformat(), "scope": dict(self.scope),
            "posts": self.posts, "publications": self.publications, "parts": self.parts,
            "channels": [{"name": c.name, "platform": c.platform} for c in self.channels],
            "totals": self.totals.as_dict(),
            "per_day": [{"day": d.day.isoformat(), "counts": dict(d.counts), "total": d.total}
                        for d in self.per_day],
            "engagement": [{"day": d.day.isoformat(), **d.counts.as_dict(), "taken": d.taken}
                           for d in self.engagement],
            "top_posts": [{"post_id": p.post_id, "text": p.text, **p.counts.as_dict(),
                           "links": dict(p.links)} for p in self.top_posts],
            "records": self.records,
            "coverage": [{"record": r.key, "themes": list(r.themes), "position": r.position,
                          "posts": list(r.posts)} for r in self.coverage],
            "themes": [{"theme": t.theme, "records": t.records, "covered": t.covered,
                        "posts": t.posts} for t in self.themes],
            "positions": dict(self.positions),
            "x_spend": [{"day": d.day.isoformat(), "parts": d.parts,
                         "parts_usd": round(d.parts_usd, 6), "reads": d.reads,
                         "reads_usd": round(d.reads_usd, 6), "usd": round(d.usd, 6)}
                        for d in self.x_spend],
            "x_usd": self.x_usd,
        }


# --- tables: the HTML's data tables and the CSV ------------------------------------------------
# The JSON and the charts have every day of a span (time runs evenly along an axis); the tables
# skip the days on which nothing happened, which add no number.
Cell = int | float | str | date | None | tuple[tuple[str, str], ...]  # the last: (label, url)


@dataclass(frozen=True)
class Column:
    key: str  # the CSV's name for it
    label: str  # an English msgid, or a literal (a channel's name)
    literal: bool = False
    kind: str = "text"  # text | int | usd | day | links | position | theme


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]


def tables(d: ImpactData) -> list[Table]:
    """Every number of the report as rows: the HTML's data tables and the CSV's sections."""
    ch = [c.name for c in d.channels]
    t = d.totals
    summary = Table("summary", (Column("metric", "Measure"), Column("value", "Value", kind="int")), [
        ("posts", d.posts), ("publications", d.publications), ("parts", d.parts),
        ("channels", len(d.channels)), ("interactions", t.interactions), ("likes", t.likes),
        ("reposts", t.reposts), ("replies", t.replies), ("quotes", t.quotes),
        ("impressions", t.impressions), ("records", d.records),
        ("records_covered", len(d.coverage)), ("x_usd", d.x_usd)])
    per_day = Table("posts_per_day", (
        Column("day", "Day", kind="day"),
        *(Column(f"channel:{c}", c, literal=True, kind="int") for c in ch),
        Column("total", "Total", kind="int")),
        [(r.day, *(r.counts.get(c, 0) for c in ch), r.total) for r in d.per_day if r.total])
    counts = tuple(Column(k, k.capitalize(), kind="int") for k in (*COUNTS, "interactions"))
    engagement = Table("engagement", (Column("day", "Day", kind="day"), *counts), [
        (r.day, r.counts.likes, r.counts.reposts, r.counts.replies, r.counts.quotes,
         r.counts.interactions) for r in d.engagement if r.taken])
    top = Table("top_posts", (
        Column("rank", "Rank", kind="int"), Column("post", "Post"), Column("text", "Text"),
        *counts, Column("impressions", "Impressions", kind="int"),
        Column("links", "Links", kind="links")),
        [(i, p.post_id, p.text, p.counts.likes, p.counts.reposts, p.counts.replies,
          p.counts.quotes, p.counts.interactions, p.counts.impressions, p.links)
         for i, p in enumerate(d.top_posts, 1)])
    themes = Table("coverage_themes", (
        Column("theme", "Theme", kind="theme"), Column("records", "Recommendations", kind="int"),
        Column("covered", "Covered", kind="int"), Column("posts", "Posts", kind="int")),
        [(r.theme, r.records, r.covered, r.posts) for r in d.themes])
    records = Table("coverage_records", (
        Column("record", "Recommendation"), Column("position", "Position", kind="position"),
        Column("posts", "Posts", kind="int"), Column("post_ids", "Covered by")),
        [(r.key, r.position, len(r.posts), " ".join(r.posts)) for r in d.coverage])
    positions = Table("positions", (
        Column("position", "Position", kind="position"),
        Column("records", "Recommendations", kind="int")),
        list(d.positions.items()))
    spend = Table("x_spend", (
        Column("day", "Day", kind="day"), Column("parts", "Posts on X", kind="int"),
        Column("parts_usd", "Posts (USD)", kind="usd"), Column("reads", "Paid reads", kind="int"),
        Column("reads_usd", "Reads (USD)", kind="usd"), Column("usd", "Total (USD)", kind="usd")),
        [(r.day, r.parts, round(r.parts_usd, 6), r.reads, round(r.reads_usd, 6), round(r.usd, 6))
         for r in d.x_spend if r.parts or r.reads])
    return [summary, per_day, engagement, top, themes, records, positions, spend]
