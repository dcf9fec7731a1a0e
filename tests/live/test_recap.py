"""Recap: each post with offset, speaker, text, links on both platforms and the webcast time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from tests.live.conftest import wait_for
from uprbuzz.clock import FixedClock
from uprbuzz.live.recap import recap_rows, to_csv, to_markdown


def test_recap_lists_every_post_with_links_and_webcast_time(live_env):
    config, store, fakes, make = live_env
    wall = FixedClock(datetime(2020, 11, 9, 14, 0, 5, tzinfo=UTC))  # 00:30:05 in
    con = make(clock=wall)
    con.start()
    con.submit("Slovakia calls for abolition of the death penalty #UPR36")
    wall.advance(3600)
    con.submit("Canada raises police violence #UPR36")
    wait_for(lambda: all(p.state == "sent" for p in con.store.posts(con.key)))
    rows = recap_rows(store, con.session)
    assert [r["kind"] for r in rows] == ["anchor", "text", "text"]
    first, later = rows[1], rows[2]
    assert first["offset"] == "00:30:05" and first["speaker"] == "Slovakia"
    assert later["offset"] == "01:30:05"
    assert later["speaker"] == con.timeline.who(5405)["speaker"] and later["speaker"]
    assert first["x_url"] == f"https://x.test/{fakes['x'].posts[1]['id']}"
    assert first["bluesky_url"].startswith("https://bluesky.test/")
    assert first["webcast"] == f"{con.session.webtv}?t=0:30:05 (at 00:30:05)"

    md = to_markdown(rows, con.session)
    assert "## Interactive dialogue\n\n### Slovakia\n\n**00:30:05** (text)" in md
    assert f"[webcast]({con.session.webtv}?t=0:30:05) at 00:30:05" in md
    assert first["x_url"] in md and first["bluesky_url"] in md
    assert "3 posts: 3 went out on every channel." in md

    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [p["text"] for p in parsed[1:]] == [r["text"] for r in rows[1:]]
    assert parsed[2]["offset"] == "01:30:05" and parsed[2]["x_url"] == later["x_url"]


def test_recap_cli(live_env, tmp_path):
    from click.testing import CliRunner

    from uprbuzz.cli import main

    config, store, fakes, make = live_env
    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "t"\n', encoding="utf-8")
    (tmp_path / "schedules").mkdir()
    from tests.live.conftest import SAMPLE

    (tmp_path / "schedules" / "us-upr-2020.toml").write_text(SAMPLE.read_text(encoding="utf-8"),
                                                             encoding="utf-8")
    con = make()
    con.start()
    con.submit("Hello from Geneva #UPR36")
    wait_for(lambda: all(p.state == "sent" for p in con.store.posts(con.key)))
    out = tmp_path / "recap.csv"
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "recap", "us-upr-2020", "--format", "csv",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # a UTF-8 BOM for spreadsheets
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows[-1]["webcast_at"] and rows[-1]["webcast_url"].startswith("https://")
    assert [x["text"] for x in rows][-1] == "Hello from Geneva #UPR36"
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "recap", "us-upr-2020"])
    assert "Hello from Geneva" in r.output and "(at " not in r.output.split("\n")[0]
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "recap", "--list"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("us-upr-2020\tcoverage\t2 posts\t")


def test_recap_has_a_column_per_channel_of_the_session(live_env):
    config, store, fakes, make = live_env
    con = make()
    con.start()
    con.submit("Spain asks about migrants' rights #UPR36")
    wait_for(lambda: all(p.state == "sent" for p in con.store.posts(con.key)))
    rows = recap_rows(store, con.session, channels=("x", "bluesky", "x-es"))
    assert rows[1]["x_url"] and rows[1]["bluesky_url"] and rows[1]["x-es_url"] == ""
    header = to_csv(rows).splitlines()[0].split(",")
    assert header == ["n", "offset", "segment", "speaker", "kind", "paragraph", "text", "x_url",
                      "bluesky_url", "x-es_url", "webcast_url", "webcast_at", "state",
                      "posted_offset", "aligned"]
    md = to_markdown(rows, con.session)
    assert f"[X]({rows[1]['x_url']})" in md and "[x-es]" not in md  # nothing went out there


def test_recap_in_broadcast_order_grouped_with_honest_counts_and_card_images(live_env):
    from uprbuzz.live.recap import counts

    config, store, fakes, make = live_env
    wall = FixedClock(datetime(2020, 11, 9, 14, 0, 5, tzinfo=UTC))  # 00:30:05: Slovakia
    con = make(clock=wall)
    con.start()
    con.submit("Slovakia calls for abolition of the death penalty #UPR36")
    con.submit_card("Slovakia", "26.46", "Abolish the death penalty at the federal level")
    wait_for(lambda: all(p.state == "sent" for p in con.store.posts(con.key)), timeout=30)
    con.sync("00:05:10")  # an earlier moment, posted later: the recap still sorts by offset
    fakes["x"].fail = [Exception("X is down")] * 200
    con.submit("The presentation starts #UPR36")
    wait_for(lambda: con.store.post(con.key, 3).platforms.get("bluesky", {}).get("state") == "sent")
    rows = recap_rows(store, con.session, config=config)
    assert [r["n"] for r in rows] == [0, 3, 1, 2]
    assert [r["segment"] for r in rows] == ["", "presentation", "dialogue", "dialogue"]
    assert rows[3]["paragraph"] == "26.46" and rows[3]["image"].endswith(".png")
    rows[1]["state"] = "partial"  # (its X lane is still retrying)
    assert counts(rows) == "4 posts: 3 went out on every channel; 1 went out on some channels only."
    md = to_markdown(rows, con.session)
    assert md.index("## Presentation by the State under review") < md.index("## Interactive dialogue")
    assert "**00:30:05** (recommendation 26.46)" in md
    assert f"![{rows[3]['image_alt']}]({rows[3]['image']})" in md and rows[3]["image_alt"]
    assert "state: partial (went out on some channels only)" in md
