"""A 30-day follow-up campaign built from records, published to the six sandbox channels (two
accounts on each of the X stand-in, the real PDS and the Mastodon stand-in) and read back from
each server: every record's post exactly once per channel, each carrying its record's link
(X: in the text; Mastodon: in the text; Bluesky: a link facet and the link card), no record
twice; publishing again sends nothing.

The records come in through ``uprbuzz records import`` (a UHRI-shaped JSON the test writes,
each row with its UHRI page). The clock is moved with ``UPRBUZZ_NOW``: a ``tick`` on day 10
before the import (nothing to post; it stores the due index) and after it (the import must
have made that index stale), ``publish`` on day 30. Bluesky fetches each link card's page: an
HTTPS proxy on 127.0.0.1 refuses every such fetch (the card is then the bare link), so nothing
leaves the machine."""

from __future__ import annotations

import json
import socketserver
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.channels_helpers import CHANNELS, six_channels
from tests.fixtures.publish import pds_records, run_uprbuzz
from uprbuzz.upr_record import UHRI_PAGE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_pds")]

DAYS = 30
TOML = """[project]
name = "followup"
timezone = "UTC"
late_limit = "40d"

[budget]
x = 100000
bluesky = 100000
mastodon = 100000
"""
CAMPAIGN = """[campaign]
name = "followup"
start = 2021-03-05
end = 2021-04-03
status = "approved"
lang = "en"

[[rule]]
every = "daily 09:00"
records = { position = "noted" }
text = "The US {position} recommendation {paragraph} from {states}: “{text}” {link} #UPR36"
"""
LONG = ("ensure that law enforcement officials are held accountable for the excessive use of "
        "force, in particular against persons of African descent, and that victims have access "
        "to effective remedies and full reparation, including through independent oversight "
        "bodies able to investigate every complaint promptly, thoroughly and impartially")
STATES = ("Slovakia", "Ghana; Namibia", "Brazil; Chile; Mexico")


def _uuid(i: int) -> str:
    return f"5e0c{i:04d}-0d1e-4f2a-8b3c-{i:012d}"


def _uhri_rows(n: int) -> list[dict[str, str]]:
    """``n`` recommendations of A/HRC/46/15 as UHRI exports them: every 4th supported (the
    campaign skips those), the rest noted; every 5th with a long text."""
    rows = []
    for i in range(1, n + 1):
        text = f"Take measures {i}: " + (LONG if i % 5 == 0 else "abolish the death penalty")
        rows.append({"Document Symbol": "A/HRC/46/15", "UUID": _uuid(i),
                     "Text": f"26.{i} {text} ({STATES[i % 3].replace('; ', ', ')});",
                     "UPR Reccomending States": STATES[i % 3],
                     "UPR Position": "Supported" if i % 4 == 0 else "Noted",
                     "Themes": "Death penalty" if i % 2 else "Racial discrimination"})
    return rows


class _RefusingProxy(socketserver.ThreadingTCPServer):
    """An HTTP(S) proxy on 127.0.0.1 that refuses every request (403) and notes the target:
    the link-card fetches of the uprbuzz processes go here instead of the network."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.targets: list[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(8192).decode("latin-1").strip()
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass
                proxy.targets.append(line)
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[_RefusingProxy]:
    p = _RefusingProxy()
    try:
        yield p
    finally:
        p.shutdown()
        p.server_close()


def test_thirty_days_from_records_once_on_six_channels(tmp_path: Path, proxy: _RefusingProxy
                                                        ) -> None:
    root = tmp_path / "followup"
    (root / "schedules").mkdir(parents=True)
    toml = TOML + "".join(f'[channels.{n}]\nplatform = "{p}"\n' for n, p in CHANNELS.items())
    (root / "uprbuzz.toml").write_text(toml, encoding="utf-8")
    (root / "schedules" / "followup.toml").write_text(CAMPAIGN, encoding="utf-8")
    rows = _uhri_rows(44)  # 33 noted: the campaign uses the first 30
    (tmp_path / "uhri.json").write_text(json.dumps(rows), encoding="utf-8")
    noted = [i for i in range(1, 45) if i % 4][:DAYS]
    want = {UHRI_PAGE.format(id=_uuid(i)): f"26.{i}" for i in noted}  # link -> paragraph

    with six_channels(root) as sc:
        # both spellings: the lower-case one wins where a machine sets both
        routes = {"https_proxy": proxy.url, "http_proxy": proxy.url,
                  "no_proxy": "127.0.0.1,localhost"}
        env = {**sc.env, **routes, **{k.upper(): v for k, v in routes.items()}}
        # before the import: one note, no posts, no failure; a tick stores its due index
        day10 = {"UPRBUZZ_NOW": "2021-03-14T09:30:00+00:00"}
        r = run_uprbuzz(["check"], root, env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (r.stdout + r.stderr).count("run `uprbuzz records import FILE`") == 1
        r = run_uprbuzz(["tick"], root, env, extra_env=day10)
        assert r.returncode == 0, r.stdout + r.stderr
        assert _per_channel(sc) == dict.fromkeys(CHANNELS, 0)
        r = run_uprbuzz(["records", "import", str(tmp_path / "uhri.json")], root, env)
        assert r.returncode == 0, r.stdout + r.stderr
        # day 10: the import made the stored index stale, so the same tick's clock now finds
        # the first ten occurrences due (within the late limit)
        r = run_uprbuzz(["tick"], root, env, timeout=300, extra_env=day10)
        assert r.returncode == 0, r.stdout + r.stderr
        assert _per_channel(sc) == dict.fromkeys(CHANNELS, 10)
        # day 30: the other twenty
        day30 = {"UPRBUZZ_NOW": "2021-04-03T09:30:00+00:00"}
        r = run_uprbuzz(["publish"], root, env, timeout=300, extra_env=day30)
        assert r.returncode == 0, r.stdout + r.stderr
        held = _held(sc)
        for channel, posts in held.items():
            links = Counter(link for p in posts for link in p["links"])
            assert len(posts) == DAYS, (channel, len(posts))
            assert links == Counter(dict.fromkeys(want, 1)), (channel, links - Counter(want))
            for p in posts:  # each post names its own record's paragraph
                (link,) = p["links"]
                assert f"recommendation {want[link]} from " in p["text"], p["text"]
                assert p["text"].startswith("The US noted recommendation ") and "#UPR36" in p["text"]
            if CHANNELS[channel] == "bluesky":
                for p in posts:
                    assert p["card"] == p["links"][0], p  # the link card is the record's
        long = [p["text"] for p in held["x"] if "…”" in p["text"]]
        assert len(long) == sum(1 for i in noted if i % 5 == 0)  # shortened to fit X, link kept
        # the card fetches went to the refusing proxy (60: one per Bluesky post), none elsewhere
        assert sum("uhri.ohchr.org:443" in t for t in proxy.targets) == 2 * DAYS, proxy.targets
        # another tick, or publishing again, sends nothing
        for args in (["tick"], ["publish"]):
            r = run_uprbuzz(args, root, env, timeout=300, extra_env=day30)
            assert r.returncode == 0, r.stdout + r.stderr
        assert _per_channel(sc) == dict.fromkeys(CHANNELS, DAYS)


def _per_channel(sc) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {name: len(posts) for name, posts in sc.holdings().items()}


def _held(sc) -> dict[str, list[dict]]:  # type: ignore[no-untyped-def]
    """Each channel's posts as its server holds them: text, the record links in it (X and
    Mastodon: the URLs in the text; Bluesky: the link facets) and Bluesky's link card."""
    import re

    from uprbuzz.sandbox import manager

    out: dict[str, list[dict]] = {}
    for name, posts in sc.holdings().items():
        if CHANNELS[name] != "bluesky":
            out[name] = [{"text": p.text, "links": re.findall(r"https://\S+", p.text)}
                         for p in posts]
    for acct, name in zip(sc.state["bluesky"]["accounts"], manager.CHANNELS["bluesky"],
                          strict=True):
        out[name] = []
        for rec in pds_records(sc.pds_url, acct["did"]):
            v = rec["value"]
            links = [f["uri"] for fc in v.get("facets", []) for f in fc["features"]
                     if f["$type"] == "app.bsky.richtext.facet#link"]
            embed = v.get("embed") or {}
            out[name].append({"text": v["text"], "links": links,
                              "card": (embed.get("external") or {}).get("uri")})
    return out
