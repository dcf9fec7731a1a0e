"""The partners' toolkit built from the sample: pages per language, share links that carry each
platform's text, images with their alt text beside them, counts, times, and the calendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.toolkit.helpers import build_sample

pytestmark = pytest.mark.usefixtures("card_fonts")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    return build_sample(tmp_path_factory.mktemp("toolkit"))


class Page(HTMLParser):
    """Articles with their share links, text areas, images and alt captions."""

    def __init__(self) -> None:
        super().__init__()
        self.articles: list[dict] = []
        self.html_lang = ""
        self._area: str | None = None
        self._alt: str | None = None
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang", "")
        elif tag == "article":
            self.articles.append({"id": a["data-post"], "links": [], "texts": {}, "imgs": [],
                                  "alts": {}})
        elif tag == "a" and a.get("data-platform") and self.articles:
            self.articles[-1]["links"].append((a["data-platform"], a["href"]))
        elif tag == "textarea":
            self._area = a["id"]
            self.articles[-1]["texts"][self._area] = ""
        elif tag == "img":
            self.articles[-1]["imgs"].append(a)
        elif tag == "p" and a.get("class") == "alt":
            self._alt = a["id"]
            self.articles[-1]["alts"][self._alt] = ""
        elif tag == "script":
            self.scripts.append(a.get("src", ""))
        elif tag == "link":
            self.styles.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._area = None
        elif tag == "p":
            self._alt = None

    def handle_data(self, data: str) -> None:
        if self._area:
            self.articles[-1]["texts"][self._area] += data
        if self._alt:
            self.articles[-1]["alts"][self._alt] += data


def _page(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_a_page_per_language_of_the_campaign(site) -> None:
    config, built = site
    assert set(built.pages) == {"en", "es"}
    assert _page(built.pages["es"]).html_lang == "es"
    home = (built.out / "index.html").read_text(encoding="utf-8")
    assert 'href="en/index.html"' in home and 'href="es/index.html"' in home
    es = built.pages["es"].read_text(encoding="utf-8")
    assert "Publicaciones sugeridas" in es and "lunes, 9 de noviembre de 2020" in es
    assert "Ginebra" in es


def test_share_links_decode_to_each_platforms_text(site) -> None:
    from uprbuzz.sources.gather import load_all
    from uprbuzz.toolkit.select import platform_parts

    config, built = site
    posts = {p.id: p for p in load_all(config).posts}
    seen = 0
    for page in built.pages.values():
        for art in _page(page).articles:
            post = posts[art["id"]]
            assert art["links"], art["id"]
            for platform, href in art["links"]:
                text = platform_parts(post, platform)[0].text
                u = urlsplit(href)
                assert u.scheme == "https"
                assert {"x": "x.com", "bluesky": "bsky.app"}.get(platform, u.netloc) == u.netloc
                assert parse_qs(u.query, keep_blank_values=True)["text"] == [text], (art["id"], platform)
                seen += 1
            # the text areas hold every part for every platform
            for platform in ("x", "bluesky", "mastodon"):
                parts = platform_parts(post, platform) or ()
                for n, part in enumerate(parts, 1):
                    tid = next(k for k in art["texts"] if k.endswith(f"-{platform}-t{n}"))
                    assert art["texts"][tid] == part.text
    assert seen > 40
    # a Bluesky variant differs from the X text, and its link says so
    cd = next(a for a in _page(built.pages["en"]).articles if a["id"] == "countdown/2020-11-02")
    links = dict((p, h) for p, h in cd["links"] if p != "mastodon")
    assert parse_qs(urlsplit(links["bluesky"]).query)["text"][0].startswith("7 days to go")
    assert parse_qs(urlsplit(links["x"]).query)["text"][0].startswith("7 days until")


def test_every_image_has_alt_text_shown_beside_it(site) -> None:
    config, built = site
    n = 0
    for page in built.pages.values():
        parsed = _page(page)
        for art in parsed.articles:
            for img in art["imgs"]:
                assert img["alt"].strip(), (art["id"], img)
                caption = art["alts"][img["aria-describedby"]]
                assert img["alt"] in caption
                assert (page.parent / img["src"]).is_file()
                n += 1
    assert n == built.images and n >= 20
    # a countdown card's alt text uses the language's date
    en = _page(built.pages["en"])
    cd = next(a for a in en.articles if a["id"] == "countdown/2020-11-02")
    assert "Monday, November 9, 2020" in cd["imgs"][0]["alt"]


def test_counts_and_times(site) -> None:
    config, built = site
    html = built.pages["en"].read_text(encoding="utf-8")
    assert re.search(r">\d+ of 280 characters<", html)
    assert re.search(r">\d+ of 300 characters<", html)
    assert re.search(r">\d+ of 500 characters<", html)
    # the review-day post at 14:30 Geneva, in the project's zone first and then the others
    assert '<time datetime="2020-11-09T14:30:00+01:00">Monday, November 9, 2020 14:30</time>' in html
    assert '<time datetime="2020-11-09T05:30:00-08:00">' in html
    assert ">Geneva<" in html and ">Los Angeles<" in html


def test_the_calendar_parses_back_with_the_right_utc_times(site) -> None:
    icalendar = pytest.importorskip("icalendar")
    config, built = site
    for lang in built.pages:
        cal = icalendar.Calendar.from_ical((built.out / lang / "calendar.ics").read_bytes())
        events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
        web = events["webcast-20201109T1330@uprbuzz"]
        assert web.decoded("DTSTART") == datetime(2020, 11, 9, 13, 30, tzinfo=UTC)
        if lang == "en":
            assert str(web["SUMMARY"]).startswith("Webcast starts: ")
            seven = events["countdown-countdown/2020-11-02@uprbuzz"]
            # 09:00 in Geneva (CET) is 08:00 UTC; before the DST change 09:00 CEST is 07:00 UTC
            assert seven.decoded("DTSTART") == datetime(2020, 11, 2, 8, 0, tzinfo=UTC)
            assert str(seven["SUMMARY"]) == "7 days to go: UN review of the United States"
            early = events["countdown-countdown/2020-10-19@uprbuzz"]
            assert early.decoded("DTSTART") == datetime(2020, 10, 19, 7, 0, tzinfo=UTC)
            assert len([u for u in events if u.startswith("countdown-")]) == 22
        else:
            assert str(web["SUMMARY"]).startswith("La transmisión empieza: ")


def test_selection_by_campaign_window_and_language(tmp_path: Path) -> None:
    config, built = build_sample(tmp_path, campaigns=("countdown",), langs=("en",))
    arts = _page(built.pages["en"]).articles
    assert {a["id"].split("/")[0] for a in arts} == {"countdown"}
    from uprbuzz.toolkit import parse_when

    config, built = build_sample(tmp_path / "w", start=parse_when("2020-11-08", config.zone),
                                 end=parse_when("2020-11-09", config.zone, end=True))
    ids = {a["id"] for p in built.pages.values() for a in _page(p).articles}
    assert "review/tomorrow" in ids and "es/revision-eeuu" in ids
    assert "countdown/2020-11-02" not in ids and "followup/adoption" not in ids


def test_the_cli_writes_the_site(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from tests.toolkit.helpers import sample_project
    from uprbuzz.cli import main

    root = sample_project(tmp_path / "p")
    monkeypatch.chdir(root)
    monkeypatch.setenv("UPRBUZZ_NOW", "2020-11-02T09:00:00-05:00")
    r = CliRunner().invoke(main, ["toolkit", "--campaign", "review", "--lang", "en",
                                  "--zone", "Europe/Zurich=Genf", "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "en" / "index.html").is_file()
    assert ">Genf<" in (tmp_path / "out" / "en" / "index.html").read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["toolkit", "--from", "soon", "-o", str(tmp_path / "o2")])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_an_arabic_page_runs_right_to_left_in_arabic(tmp_path: Path) -> None:
    config, built = build_sample(tmp_path, arabic=True, langs=("ar",))
    html = built.pages["ar"].read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in html
    assert "مجموعة أدوات الشركاء" in html and "المنشورات المقترحة" in html
    assert "الاثنين، 9 نوفمبر 2020" in html and ">جنيف<" in html
    art = _page(built.pages["ar"]).articles[0]
    assert "الاثنين، 9 نوفمبر 2020" in art["imgs"][0]["alt"]


def test_card_warnings_are_reported(tmp_path: Path) -> None:
    from tests.toolkit.helpers import sample_project
    from uprbuzz.config import load_config
    from uprbuzz.toolkit import Selection, make

    root = sample_project(tmp_path / "p")
    long = "Take all necessary measures to ensure accountability for violations. " * 9
    (root / "posts" / "review" / "long.md").write_text(
        "---\nat: 2020-11-09 10:00\nstatus: approved\ncard:\n  template: recommendation\n"
        f"  state: Slovakia\n  size: 1080x1080\n  text: {long.strip()}\n---\nLong one.\n",
        encoding="utf-8")
    built, problems = make(load_config(root), tmp_path / "out", Selection(campaigns=("review",)))
    assert not problems
    assert any(w.startswith("review/long: card recommendation: text: ") and "shorten it" in w for w in built.warnings), \
        built.warnings
