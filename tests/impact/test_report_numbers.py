"""The report's numbers against the ledger, on SQLite and PostgreSQL: the JSON, the CSV and the
page's data tables each recomputed from SQL (tests/impact/ledger.py), never from uprbuzz.impact."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.impact.ledger import (
    COVERAGE,
    DOC,
    LIVE_CARD,
    csv_tables,
    expected,
    fill,
    html_tables,
    project,
)
from uprbuzz.impact import Scope, compute, render
from uprbuzz.impact.words import Words
from uprbuzz.store import Store

NOW = datetime(2021, 3, 20, 12, tzinfo=UTC)


@pytest.fixture
def ledger(store_url: str, tmp_path: Path):
    config = project(tmp_path / "p", state=store_url if "://" in store_url else None)
    with Store.open(store_url) as store:
        fill(store)
        yield config, store


def _check_json(d: dict, e) -> None:
    assert d["posts"] == e.posts == 6
    assert d["publications"] == e.publications == 10
    assert d["parts"] == e.parts == 12
    assert {c["name"] for c in d["channels"]} == e.channels == {"x", "bluesky", "mastodon"}
    assert {date.fromisoformat(r["day"]): {k: v for k, v in r["counts"].items() if v}
            for r in d["per_day"] if r["total"]} == e.per_day
    # the days between are there, empty: the chart's axis is time
    days = [date.fromisoformat(r["day"]) for r in d["per_day"]]
    assert days == [days[0] + (d2 - days[0]) for d2 in days] and len(days) == (days[-1] - days[0]).days + 1
    tot = d["totals"]
    assert {k: tot[k] for k in e.totals} == e.totals
    # by hand: x 24h (not 1h) 8, bluesky 5, mastodon 2, the 26.10 thread 1 + 1, live 17
    assert tot["interactions"] == 8 + 5 + 2 + 2 + 17
    assert tot["impressions"] == e.impressions == 115
    assert [p["post_id"] for p in d["top_posts"]] == sorted(
        e.per_post, key=lambda p: (-e.per_post[p], p))
    assert {p["post_id"]: p["interactions"] for p in d["top_posts"]} == e.per_post
    assert d["positions"] == {"supported": 1, "noted": 1, "supported in part": 1, "pending": 2}
    assert {k: v for k, v in d["positions"].items() if v} == e.positions
    assert d["records"] == e.records == 5
    assert {r["record"]: r["posts"] for r in d["coverage"]} == COVERAGE
    themes = {r["theme"]: (r["records"], r["covered"], r["posts"]) for r in d["themes"]}
    assert themes == {"Death penalty": (2, 2, 2), "Police": (3, 3, 3), "": (1, 0, 0)}
    spend = {date.fromisoformat(r["day"]): r for r in d["x_spend"]}
    assert {k: v["parts"] for k, v in spend.items() if v["parts"]} == e.x_parts
    for k, usd in e.x_parts_usd.items():
        assert spend[k]["parts_usd"] == pytest.approx(usd)
    assert {k: (v["reads"], pytest.approx(v["reads_usd"])) for k, v in spend.items()
            if v["reads"]} == e.x_reads
    assert d["x_usd"] == pytest.approx(sum(e.x_parts_usd.values())
                                       + sum(u for _, u in e.x_reads.values()))


def test_json_csv_and_page_match_the_ledger(ledger) -> None:
    config, store = ledger
    data = compute(store, config, Scope(), posts=[LIVE_CARD], now=NOW)
    e = expected(store)
    d = __import__("json").loads(render(data, "json"))
    _check_json(d, e)
    # engagement over time: what was known at the end of each New York day
    eng = {r["day"]: r["interactions"] for r in d["engagement"]}
    assert eng["2020-11-16"] == 17 and eng["2021-03-03"] == 17
    # x 1h (the freshest then), bluesky 1h, the 26.10 thread (23:30 in New York)
    assert eng["2021-03-04"] == 17 + 3 + 5 + 2
    assert eng["2021-03-05"] == 17 + 8 + 5 + 2 + 2  # x 24h replaces 1h; mastodon

    # the CSV carries the same numbers
    c = csv_tables(render(data, "csv"))
    summary = {r["metric"]: r["value"] for r in c["summary"]}
    assert summary["posts"] == str(e.posts) and summary["interactions"] == str(
        e.totals["interactions"])
    assert int(summary["records_covered"]) == len(COVERAGE)
    assert float(summary["x_usd"]) == pytest.approx(d["x_usd"])
    per_day = {r["day"]: r for r in c["posts_per_day"]}
    for day, counts in e.per_day.items():
        row = per_day[day.isoformat()]
        assert {ch: int(row[f"channel:{ch}"]) for ch in counts} == counts
        assert int(row["total"]) == sum(counts.values())
    assert [r["post"] for r in c["top_posts"]] == [p["post_id"] for p in d["top_posts"]]
    assert {r["record"]: r["post_ids"].split() for r in c["coverage_records"]} == COVERAGE
    assert {r["position"]: int(r["records"]) for r in c["positions"]} == d["positions"]
    links = c["top_posts"][0]["links"].split()
    assert links and all("=https://" in x for x in links)

    # and so does the page's data tables (English formatting)
    tabs = html_tables(render(data, "html"))
    head, *rows = tabs["posts_per_day"]
    assert head[0] == "Day" and head[-1] == "Total"
    w = Words("en")
    by_day = {r[0]: r for r in rows}
    for day, counts in e.per_day.items():
        r = by_day[w.day(day)]
        assert {ch: int(r[head.index(ch)]) for ch in counts} == counts
    top = tabs["top_posts"][1:]
    assert [r[1] for r in top] == [p["post_id"] for p in d["top_posts"]]
    assert [int(r[7].replace(",", "")) for r in top] == [p["interactions"] for p in d["top_posts"]]
    assert {r[0]: r[2] for r in tabs["coverage_records"][1:]} == {k: str(len(v)) for k, v in
                                                                  COVERAGE.items()}
    assert {r[0]: r[1] for r in tabs["positions"][1:]} == {
        "Supported": "1", "Noted": "1", "Supported in part": "1", "Pending": "2"}
    spend = {r[0]: r for r in tabs["x_spend"][1:]}
    # the 4th in New York: 26.1 with its URL, the 26.10 thread (22:30); reads at 11:00, 23:30
    assert spend[w.day(date(2021, 3, 4))][1:] == ["3", "$0.23", "2", "$0.006", "$0.236"]


def test_filters_campaign_session_and_window(ledger) -> None:
    config, store = ledger
    zone = config.zone
    camp = compute(store, config, Scope(campaign="followup"), now=NOW)
    e = expected(store, prefix="followup/")
    assert (camp.posts, camp.publications, camp.parts) == (e.posts, e.publications, e.parts) == (3, 6, 8)
    assert camp.totals.interactions == e.totals["interactions"]
    assert {r.key for r in camp.coverage} == {f"{DOC} ¶26.1", f"{DOC} ¶26.3", f"{DOC} ¶26.10"}
    live = compute(store, config, Scope(session="wg36"), posts=[LIVE_CARD], now=NOW)
    assert (live.posts, live.publications) == (2, 3)
    assert live.totals.interactions == 17 and [c.key for c in live.coverage] == [f"{DOC} ¶26.2"]
    assert live.positions == camp.positions  # the State's positions are not narrowed
    # a window of days in New York: the 4th includes 03:30 UTC on the 5th
    from uprbuzz.impact import parse_when

    since, until = parse_when("2021-03-04", zone), parse_when("2021-03-04", zone, end=True)
    day = compute(store, config, Scope(since=since, until=until), now=NOW)
    e = expected(store, since=since, until=until)
    assert (day.posts, day.publications) == (e.posts, e.publications) == (2, 5)
    assert [(r.day, r.total) for r in day.per_day] == [(date(2021, 3, 4), 5)]
    assert day.totals.interactions == e.totals["interactions"]
    # a time: --to at a moment is exclusive
    upto = compute(store, config, Scope(until=parse_when("2021-03-04T10:00", zone)), now=NOW)
    assert upto.posts == 3 and {r.day for r in upto.per_day if r.total} == {
        date(2020, 11, 9), date(2021, 3, 2)}
