"""The report of a queue really published to the X and Mastodon stand-ins (over HTTP on
127.0.0.1), with engagement snapshots and recommendations added through the store's APIs:
`uprbuzz report` writes the page, the CSV and the JSON; the page opens in Debian's Chromium with
networking off, with no console error, nothing fetched and no axe-core violation, in English,
in French and with an empty ledger; and every number it shows is recomputed from SQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.live_helpers import chromium
from tests.fixtures.mastodon import OTHER, MastodonApi
from tests.fixtures.publish import run_uprbuzz
from tests.impact.ledger import UHRI_261, csv_tables, expected, toml
from uprbuzz.config import load_config
from uprbuzz.platforms.limits import X
from uprbuzz.store import Store
from uprbuzz.store.engagement import Snapshot
from uprbuzz.upr_record import Record

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOC = "A/HRC/46/15"
POSTS = {
    "followup/noted.md": [f"The US noted 26.1 from Slovakia: {UHRI_261}"],
    "followup/thread.md": ["Recommendation 26.10 on policing: what the US said",
                           "Read the response in A/HRC/46/15/Add.1"],
    "review/thanks.md": ["Thank you to every partner who followed the review #UPR36"],
}


def _write(root: Path, lang: str) -> None:
    (root / "uprbuzz.toml").write_text(
        toml(lang).split("[channels.bluesky]")[0]
        + '[channels.mastodon]\nplatform = "mastodon"\n[budget]\nx = 1000\nmastodon = 1000\n',
        encoding="utf-8")


@pytest.fixture
def published(tmp_path: Path, xapi, mastodon_api: MastodonApi):
    root = tmp_path / "network"
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    for rel, parts in POSTS.items():
        p = root / "posts" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"---\nat: {at}\nstatus: approved\n---\n" + "\n---\n".join(parts) + "\n",
                     encoding="utf-8")
    _write(root, "en")
    env = {**xapi.env, "UPRBUZZ_MASTODON_API_URL": mastodon_api.url,
           "UPRBUZZ_MASTODON_ACCESS_TOKEN": mastodon_api.account.access_token}
    r = run_uprbuzz(["publish"], root, env)
    assert r.returncode == 0, r.stderr
    config = load_config(root, env=env)
    with Store.open(config) as store:
        sent = store.db.query("SELECT post_id, channel, part, sent_at, remote_id FROM "
                              "publications WHERE state='sent' ORDER BY post_id, channel, part")
        assert len(sent) == 8  # 4 parts × 2 channels, each on its server exactly once:
        tweets = [t["id"] for t in xapi.server.store.tweets]
        statuses = [s["id"] for s in mastodon_api.server.store.statuses if not s["deleted"]]
        assert sorted(r["remote_id"] for r in sent if r["channel"] == "x") == sorted(tweets)
        assert sorted(r["remote_id"] for r in sent if r["channel"] == "mastodon") == sorted(
            statuses)
        # X's reads are opt-in and paid: its snapshots go in through the store's API, a second
        # apart (a test cannot wait for the 1 h and 24 h stages)
        snaps = []
        for i, row in enumerate(r for r in sent if r["channel"] == "x"):
            t0 = datetime.fromisoformat(row["sent_at"])
            snaps += [Snapshot(row["post_id"], "x", row["part"], "1h", t0 + timedelta(seconds=1),
                               i, i % 3, 1, 0, 100 * i),
                      Snapshot(row["post_id"], "x", row["part"], "24h", t0 + timedelta(seconds=2),
                               2 * i + 1, i % 3 + 1, 2, i % 2, 150 * i)]
        store.engagement.record(snaps)
        mastodon = {(r["post_id"], r["part"]): r["remote_id"] for r in sent
                    if r["channel"] == "mastodon"}
        store.engagement.record_x_reads("x", [("followup/noted", 0, X.read_usd)],
                                        datetime.now(UTC))
        store.records.upsert([
            Record(DOC, "26.1", "Abolish the death penalty", ("Slovakia",), ("Death penalty",),
                   links={"uhri": UHRI_261}),
            Record(DOC, "26.10", "Investigate police violence", ("Sweden",), ("Police",)),
            Record(DOC, "26.11", "Ratify the Covenant", ("Togo",), ("Treaties",))],
            source="test.csv")
        store.records.respond(DOC, "26.1", "noted", "", source="answers.csv")
    # Mastodon's: another account likes and boosts on the stand-in, `uprbuzz engagement` reads
    # the counts back from it
    other = {"Authorization": f"Bearer {OTHER.access_token}"}
    for key, acts in ((("followup/noted", 0), ("favourite", "reblog")),
                      (("followup/thread", 1), ("favourite",))):
        for act in acts:
            httpx.post(f"{mastodon_api.url}/api/v1/statuses/{mastodon[key]}/{act}",
                       headers=other, timeout=5).raise_for_status()
    r = run_uprbuzz(["engagement", "snapshot", "--now", "--channel", "mastodon"], root, env)
    assert r.returncode == 0, r.stdout + r.stderr
    with Store.open(config) as store:
        read = {(s.post_id, s.part): (s.likes, s.reposts)
                for s in store.engagement.latest(channel="mastodon")}
    assert read[("followup/noted", 0)] == (1, 1) and read[("followup/thread", 1)] == (1, 0)
    return root, env


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _open(browser, path: Path):
    ctx = browser.new_context()
    ctx.set_offline(True)
    page = ctx.new_page()
    problems: list[str] = []
    fetched: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return ctx, page, problems, fetched


def _axe_clean(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _table(page, name: str) -> list[list[str]]:
    return page.evaluate("""name => Array.from(document.querySelectorAll(
        `#tab-${name}`)[0].closest('table').rows).map(r => Array.from(r.cells).map(
        c => c.innerText.trim()))""", name)


def test_published_queue_report_in_chromium(published, browser, tmp_path: Path) -> None:
    root, env = published
    out = tmp_path / "report.html"
    r = run_uprbuzz(["report", "-o", str(out)], root, env)
    assert r.returncode == 0, r.stderr
    config = load_config(root, env=env)
    with Store.open(config) as store:
        urls = {r["url"] for r in store.db.query(
            "SELECT url FROM publications WHERE state='sent' AND part=0")}
        e = expected(store, zone=config.timezone)
    assert r.stdout.strip() == (f"wrote {out}: {e.posts} post(s), {len(e.channels)} channel(s), "
                                f"{e.totals['interactions']:,} interaction(s)")
    ctx, page, problems, fetched = _open(browser, out)
    try:
        assert page.evaluate("() => document.documentElement.lang") == "en"
        assert all(u.startswith("file://") for u in fetched), fetched
        assert page.locator("script").count() == 0
        _axe_clean(page)
        assert problems == []
        # every chart has a name and a text alternative, and a data table follows it
        charts = page.locator("svg[role=img]")
        assert charts.count() == 6
        for i in range(charts.count()):
            svg = charts.nth(i)
            assert svg.evaluate("s => s.querySelector('title').textContent.trim() !== ''")
            assert svg.evaluate("s => s.querySelector('desc').textContent.trim() !== ''")
            assert svg.evaluate("s => !!s.closest('section').querySelector('table')")
        # the numbers, recomputed from SQL
        head, *rows = _table(page, "posts_per_day")
        assert sum(int(r[-1]) for r in rows) == e.publications == 6
        for ch in e.channels:
            assert sum(int(r[head.index(ch)]) for r in rows) == sum(
                v.get(ch, 0) for v in e.per_day.values())
        summary = dict(zip(page.locator("dl.summary dt").all_inner_texts(),
                           page.locator("dl.summary dd").all_inner_texts(), strict=True))
        assert summary["Posts"] == str(e.posts) == "3"
        assert summary["Interactions"] == f"{e.totals['interactions']:,}"
        assert summary["Likes"] == f"{e.totals['likes']:,}"
        assert summary["Impressions (X)"] == f"{e.impressions:,}"
        top = _table(page, "top_posts")[1:]
        assert {r[1]: int(r[7].replace(",", "")) for r in top} == e.per_post
        # each top post links to where it landed, on both servers
        links = page.locator("section[aria-labelledby=top-h] td a").evaluate_all(
            "as => as.map(a => a.getAttribute('href'))")
        assert sorted(links) == sorted(urls) and len(links) == 6
        covered = {r[0]: r[3] for r in _table(page, "coverage_records")[1:]}
        assert covered == {f"{DOC} ¶26.1": "followup/noted", f"{DOC} ¶26.10": "followup/thread"}
        positions = {r[0]: r[1] for r in _table(page, "positions")[1:]}
        assert positions == {"Supported": "0", "Noted": "1", "Supported in part": "0",
                             "Pending": "2"}
        spend = _table(page, "x_spend")[1:]
        assert sum(int(r[1]) for r in spend) == sum(e.x_parts.values()) == 4
        total = sum(e.x_parts_usd.values()) + X.read_usd
        assert sum(float(r[-1].lstrip("$")) for r in spend) == pytest.approx(total)
        assert spend[0][-1].startswith("$0.")
    finally:
        ctx.close()

    # the JSON and the CSV carry the same numbers
    for fmt in ("json", "csv"):
        r = run_uprbuzz(["report", "--format", fmt, "-o", "-"], root, env)
        assert r.returncode == 0, r.stderr
        assert r.stderr.startswith("wrote standard output: 3 post(s)")
        if fmt == "json":
            d = json.loads(r.stdout)
            assert (d["posts"], d["publications"], d["parts"]) == (e.posts, e.publications, e.parts)
            assert d["totals"]["interactions"] == e.totals["interactions"]
            assert d["x_usd"] == pytest.approx(total)
        else:
            c = csv_tables(r.stdout)
            s = {row["metric"]: row["value"] for row in c["summary"]}
            assert (int(s["posts"]), int(s["interactions"])) == (e.posts, e.totals["interactions"])
            assert float(s["x_usd"]) == pytest.approx(total)


def test_french_page_and_empty_ledger_pass_axe(published, browser, tmp_path: Path) -> None:
    root, env = published
    _write(root, "fr")
    out = tmp_path / "rapport.html"
    assert run_uprbuzz(["report", "-o", str(out)], root, env).returncode == 0
    ctx, page, problems, _ = _open(browser, out)
    try:
        assert page.evaluate("() => document.documentElement.lang") == "fr"
        assert page.locator("h2").all_inner_texts()[:3] == [
            "En bref", "Publications par jour et par canal", "Engagement au fil du temps"]
        _axe_clean(page)
        assert problems == []
    finally:
        ctx.close()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "uprbuzz.toml").write_text(toml("es"), encoding="utf-8")
    out = tmp_path / "vacio.html"
    r = run_uprbuzz(["report", "-o", str(out)], empty, {})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {out}: nothing published yet in this scope"
    ctx, page, problems, _ = _open(browser, out)
    try:
        assert page.evaluate("() => document.documentElement.lang") == "es"
        assert "Todavía no se ha publicado nada" in page.locator("main").inner_text()
        assert page.locator("svg").count() == 0
        _axe_clean(page)
        assert problems == []
    finally:
        ctx.close()
