"""Campaign rules that post from records (``records = {...}``): the grammar and its errors at
their file:line, which record each occurrence gets (each once, stable across loads and
re-imports), the placeholders in the post's language, ``{text}`` shortened as each platform
counts, the note when no records are imported, and the due index noticing record changes.
Records live in a real ledger (SQLite, and PostgreSQL where the store is involved)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from uprbuzz.config import Config
from uprbuzz.platforms.text_measure import bluesky_count, mastodon_count, x_length
from uprbuzz.sources.campaigns.campaign_posts import load_campaigns
from uprbuzz.store import Store
from uprbuzz.upr_record import UHRI_PAGE, Record

HEAD = """[campaign]
name = "followup"
start = 2021-03-05
end = 2021-04-03
status = "approved"
lang = "{lang}"

[[rule]]
every = "daily 09:00"
"""
LONG = ("Take all necessary measures to ensure that law enforcement officials are held "
        "accountable for the excessive use of force, in particular against persons of African "
        "descent, and that victims have access to effective remedies and full reparation, "
        "including by establishing independent oversight bodies at the federal, state and "
        "local levels with the power to investigate every complaint promptly and impartially")


def _uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def _records(n: int = 50) -> list[Record]:
    """``n`` recommendations of A/HRC/46/15 (26.1 …): every third supported, the rest noted;
    themes and States vary; every 7th text is long; each with its UHRI page."""
    themes = ("Death penalty", "Racial discrimination", "Migrants")
    states = (("Slovakia",), ("Slovakia", "Slovenia"), ("Brazil", "Chile", "Mexico"))
    return [Record("A/HRC/46/15", f"26.{i}", LONG if i % 7 == 0 else f"Recommendation text {i}",
                   states=states[i % 3], themes=(themes[i % 3],),
                   position="supported" if i % 3 == 0 else "noted",
                   links={"uhri": UHRI_PAGE.format(id=_uuid(i))})
            for i in range(1, n + 1)]


def _project(tmp_path: Path, rule: str, *, lang: str = "en", state: str | None = None,
             head: str = HEAD) -> Config:
    (tmp_path / "schedules").mkdir(parents=True, exist_ok=True)
    (tmp_path / "schedules" / "followup.toml").write_text(head.format(lang=lang) + rule,
                                                          encoding="utf-8")
    return Config(root=tmp_path, timezone="UTC", state=state or str(tmp_path / "state.sqlite"))


def _imported(config: Config, records: list[Record] | None = None) -> Store:
    store = Store.open(config)
    store.records.upsert(_records() if records is None else records, source="test")
    return store


RULE = 'records = { position = "noted" }\ntext = "The US {position} recommendation {paragraph} from {states}: “{text}” {link}"\n'


def test_thirty_days_each_from_the_next_record_once(tmp_path: Path, store_url: str) -> None:
    config = _project(tmp_path, RULE, state=store_url)
    with _imported(config) as store:
        out = load_campaigns(config, store)
        assert out.diagnostics == []
        posts = out.posts
        assert [p.id for p in posts] == [f"followup/2021-03-{d:02d}" for d in range(5, 32)] + [
            f"followup/2021-04-{d:02d}" for d in range(1, 4)]
        assert posts[0].at == datetime(2021, 3, 5, 9, 0, tzinfo=UTC)
        # the noted records in paragraph order (26.10 after 26.8), each exactly once
        noted = [r for r in _records() if r.position == "noted"][:30]
        assert [p.link for p in posts] == [r.link for r in noted]
        assert len({p.link for p in posts}) == 30
        first = posts[0]
        assert first.parts[0].text == ("The US noted recommendation 26.1 from Slovakia and "
                                       f"Slovenia: “Recommendation text 1” {UHRI_PAGE.format(id=_uuid(1))}")
        assert posts[6].parts[0].text.startswith("The US noted recommendation 26.10 from ")
        assert first.status == "approved" and first.origin == "campaign"
        assert first.source is not None and first.source.line == 8  # the [[rule]]
        # stable: loaded again, and after the same records are imported again
        assert load_campaigns(config, store).posts == posts
        store.records.upsert(_records(), source="again")
        assert load_campaigns(config, store).posts == posts


def test_placeholders_in_the_posts_language(tmp_path: Path) -> None:
    config = _project(tmp_path, 'records = { theme = ["migrants", "Death penalty"] }\n'
                      'text = "{key} · {doc} · {themes} · {states} · {position} · {date}"\n',
                      lang="fr")
    with _imported(config):
        posts = load_campaigns(config).posts  # no store passed: read from the project's ledger
    assert posts[0].parts[0].text == ("A/HRC/46/15 ¶26.2 · A/HRC/46/15 · Migrants · Brazil, "
                                      "Chile et Mexico · notée · 5 March 2021")
    assert posts[0].langs == ("fr",)
    supported = next(p for p in posts if "26.3 " in p.parts[0].text)
    assert "· acceptée ·" in supported.parts[0].text


@pytest.mark.parametrize(("spec", "want"), [
    ('{ theme = "death PENALTY" }', {i for i in range(1, 51) if i % 3 == 0}),
    ('{ theme = ["Migrants", "Racial discrimination"], position = "noted" }',
     {i for i in range(1, 51) if i % 3 != 0}),
    ('{ position = "Supported" }', {i for i in range(1, 51) if i % 3 == 0}),
    ('{ state = "Slovenia", doc = "A/HRC/46/15" }', {i for i in range(1, 51) if i % 3 == 1}),
    ('{ position = "pending" }', set()),
])
def test_filters(tmp_path: Path, spec: str, want: set[int]) -> None:
    config = _project(tmp_path, f'records = {spec}\ntext = "{{paragraph}}"\n',
                      head=HEAD.replace("2021-04-03", "2021-06-30"))  # room for all 50
    with _imported(config) as store:
        out = load_campaigns(config, store)
    got = {int(p.parts[0].text.split(".")[1]) for p in out.posts}
    assert got == want
    if not want:
        assert [d.code for d in out.diagnostics] == ["records-none-match"]


def test_long_text_is_shortened_as_each_platform_counts(tmp_path: Path) -> None:
    config = _project(tmp_path, RULE.replace('"noted"', '"supported"'))
    from dataclasses import replace

    from uprbuzz.config import Channel

    small = Channel("small-masto", "mastodon", config.x, max_characters=200)
    big = Channel("big-masto", "mastodon", config.x, max_characters=5000)
    config = replace(config, declared_channels=(*config.channels, small, big))
    with _imported(config) as store:
        posts = load_campaigns(config, store).posts
    long = next(p for p in posts if "26.21 " in p.parts[0].text)  # 21 % 7 == 0: the long text
    link = UHRI_PAGE.format(id=_uuid(21))
    assert LONG in long.parts[0].text  # the post itself keeps the whole text
    assert mastodon_count(long.parts[0].text).valid  # URLs count 23: it fits Mastodon whole
    assert long.parts_for("mastodon") == long.parts
    for plat, ok in (("x", lambda t: x_length(t).valid), ("bluesky", lambda t: bluesky_count(t).valid),
                     ("small-masto", lambda t: mastodon_count(t, limit=200).valid)):
        text = (long.parts_on(plat, "mastodon" if "masto" in plat else plat) or ())[0].text
        assert ok(text), (plat, text)
        assert text.endswith(f"…” {link}"), text  # cut inside the quote; the link whole
        assert text.startswith("The US supported recommendation 26.21 from ")
    x_text = long.parts_for("x")[0].text  # type: ignore[index]
    # as long as X allows (URLs count 23): one word more would not fit
    assert x_length(x_text).weighted_length > 280 - 15
    assert "small-masto" in long.overrides and "x" in long.overrides
    assert "big-masto" not in long.overrides  # the whole text fits there as on any Mastodon
    short = next(p for p in posts if "26.3 " in p.parts[0].text)
    assert short.overrides == {}  # fits everywhere as it is


def test_no_records_imported_is_one_clear_note(tmp_path: Path) -> None:
    config = _project(tmp_path, RULE)
    out = load_campaigns(config)  # no ledger at all: not created just to be found empty
    assert not (tmp_path / "state.sqlite").exists()
    assert out.posts == []
    assert [str(d) for d in out.diagnostics] == [
        "schedules/followup.toml:10:1: warning: no recommendations are imported yet, so this "
        "rule makes no posts; run `uprbuzz records import FILE` (and `uprbuzz records respond "
        "FILE`)"]
    with Store.open(config) as store:  # an empty ledger says the same
        assert [d.code for d in load_campaigns(config, store).diagnostics] == ["records-missing"]


def test_check_and_plan_print_the_note_and_pass(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from uprbuzz.cli import main

    _project(tmp_path, RULE)
    (tmp_path / "uprbuzz.toml").write_text('[project]\nname = "t"\ntimezone = "UTC"\n',
                                           encoding="utf-8")
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "check"])
    assert r.exit_code == 0, r.output
    assert r.output.count("uprbuzz records import") == 1, r.output
    # plan says why the campaign's days are empty (on stderr; in --json as "notes")
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "plan", "--from", "2021-03-05"])
    assert r.exit_code == 0 and "Nothing scheduled" in r.output, r.output
    assert r.output.count("run `uprbuzz records import FILE`") == 1, r.output
    import json

    r = CliRunner().invoke(main, ["-C", str(tmp_path), "plan", "--from", "2021-03-05", "--json"])
    notes = json.loads(r.stdout)["notes"]
    assert len(notes) == 1 and notes[0].startswith("schedules/followup.toml:10:1: warning: no rec")


def test_more_days_than_records_stops_and_says_so(tmp_path: Path) -> None:
    config = _project(tmp_path, RULE)
    with _imported(config, _records(10)) as store:
        out = load_campaigns(config, store)
    assert len(out.posts) == 7  # 26.1, 2, 4, 5, 7, 8, 10 are noted
    assert [d.code for d in out.diagnostics] == ["records-used-up"]
    assert "30 occurrences but only 7 recommendations match" in out.diagnostics[0].message


def test_order_by_themes_and_shuffled_use_each_record_once(tmp_path: Path) -> None:
    config = _project(tmp_path, 'records = {}\norder = "themes"\ntext = "{paragraph} {themes}"\n')
    clustered = [Record("A/HRC/46/15", f"26.{i}", "t", themes=("A" if i <= 5 else "B" if i <= 8
                                                                else "C",)) for i in range(1, 11)]
    with _imported(config, clustered) as store:
        themed = [p.parts[0].text for p in load_campaigns(config, store).posts]
    assert themed == ["26.1 A", "26.6 B", "26.9 C", "26.2 A", "26.7 B", "26.10 C", "26.3 A",
                      "26.8 B", "26.4 A", "26.5 A"]
    with _imported(config) as store:
        (tmp_path / "schedules" / "followup.toml").write_text(
            HEAD.format(lang="en") + 'records = {}\norder = "shuffled"\ntext = "{paragraph}"\n')
        shuffled = [p.parts[0].text for p in load_campaigns(config, store).posts]
        assert len(set(shuffled)) == 30 and shuffled != sorted(shuffled)
        assert [p.parts[0].text for p in load_campaigns(config, store).posts] == shuffled


def test_response_and_summary_cards_take_their_fields_from_the_records(tmp_path: Path) -> None:
    rule = (RULE + 'card = { template = "response", alt = "{key}" }\n\n[[rule]]\n'
            'dates = ["2021-03-06"]\ntime = "18:00"\nrecords = {}\nsummary = true\n'
            'text = "{total} recommendations: {counts}"\ncard = { template = "summary" }\n')
    config = _project(tmp_path, rule)
    with _imported(config) as store:
        out = load_campaigns(config, store)
    assert out.diagnostics == []
    by_id = {p.id: p for p in out.posts}
    resp = by_id["followup/2021-03-05T0900"]  # two rules: ids carry the time
    assert resp.card is not None and resp.card.template == "response"
    assert dict(resp.card.fields) == {"state": "Slovakia; Slovenia", "text": "Recommendation text 1",
                                      "position": "noted", "paragraph": "26.1",
                                      "doc": "A/HRC/46/15", "link": UHRI_PAGE.format(id=_uuid(1))}
    assert resp.card.alt == "A/HRC/46/15 ¶26.1"
    summ = by_id["followup/2021-03-06T1800"]
    assert summ.parts[0].text == "50 recommendations: 16 supported and 34 noted"
    assert summ.card is not None and dict(summ.card.fields) == {
        "counts": "supported=16; noted=34; supported in part=0; pending=0", "doc": "A/HRC/46/15"}
    assert summ.link is None
    from uprbuzz.checks.card_fields import card_problem

    assert card_problem(resp.card, resp.at.date()) is None  # type: ignore[union-attr]
    assert card_problem(summ.card, summ.at.date()) is None  # type: ignore[union-attr]


@pytest.mark.parametrize(("rule", "line", "words"), [
    ('records = { positon = "noted" }\ntext = "a"', 10, "did you mean 'position'"),
    ('records = { position = "refused" }\ntext = "a"', 10, "unknown position 'refused'"),
    ('records = "noted"\ntext = "a"', 10, "records must be a table"),
    ('records = {}\ntext = "{paragraf} {text}"', 11, "unknown placeholder {paragraf}"),
    ('records = {}\norder = "random"\ntext = "a"', 11, "order must be listed, themes, shuffled"),
    ('records = {}\nmessages = ["a"]\ntext = "a"', 11, "unknown key 'messages'"),
    ('records = {}', 10, "needs text"),
    ('records = {}\ntext = "a"\nx.text = "{linx}"', 12, "unknown placeholder {linx}"),
    ('records = {}\ntext = "a"\nsummary = "yes"', 12, "summary must be true or false"),
    ('records = {}\ntext = "{total}"', 11, "unknown placeholder {total}"),
])
def test_bad_records_rules_point_at_their_line(tmp_path: Path, rule: str, line: int,
                                               words: str) -> None:
    config = _project(tmp_path, rule + "\n")
    out = load_campaigns(config)
    errors = [str(d) for d in out.diagnostics if d.severity == "error"]
    assert len(errors) == 1, out.diagnostics
    assert errors[0].startswith(f"schedules/followup.toml:{line}:1: error: ") and words in errors[0]


def test_the_due_index_sees_records_change(tmp_path: Path) -> None:
    """The tick fast path skips a full load only while the store mark is unchanged: importing
    records, or a response, must change it (what records rules post changes with them)."""
    from uprbuzz.schedule import fast_path

    config = _project(tmp_path, RULE)
    with Store.open(config) as store:
        marks = [fast_path.store_mark(store.db.conn)]
        store.records.upsert(_records(5), source="a")
        marks.append(fast_path.store_mark(store.db.conn))
        store.records.upsert(_records(5), source="a")  # nothing changes: nor does the mark
        marks.append(fast_path.store_mark(store.db.conn))
        store.records.respond(None, "26.1", "supported in part", "", source="b")
        marks.append(fast_path.store_mark(store.db.conn))
    assert len(set(marks)) == 3 and marks[1] == marks[2]


def test_a_link_that_is_no_web_address_makes_no_post_and_one_error(tmp_path: Path) -> None:
    config = _project(tmp_path, RULE + 'link = "{paragraph}"\n')
    with _imported(config) as store:
        out = load_campaigns(config, store)
    assert out.posts == []
    assert [str(d) for d in out.diagnostics] == [
        "schedules/followup.toml:12:1: error: no post for followup/2021-03-05 and 29 more: the "
        "filled link '26.1' is not an http(s) web address (only http:// and https:// links are "
        "posted)"]


@pytest.mark.parametrize("text", [
    "考虑批准所有其余的人权公约，并确保执法人员对过度使用武力负责。" * 12,
    "النظر في التصديق على جميع اتفاقيات حقوق الإنسان المتبقية وضمان المساءلة " * 8,
    "Ratify the CRC 👩🏽‍⚖️ and ensure that é (e + U+0301) stays whole " * 8,
])
def test_shortening_keeps_graphemes_whole_in_every_script(text: str) -> None:
    """Chinese has no spaces (cut between characters), Arabic has; an emoji sequence or a
    combining accent is never split."""
    import regex

    from uprbuzz.sources.campaigns.record_text import fit_text

    text = text.replace("é", "e\u0301")
    make = (lambda t: f"«{t}» https://uhri.ohchr.org/en/document/x")  # noqa: E731
    out = fit_text(make, text, lambda s: bluesky_count(s).valid)
    assert out is not None and bluesky_count(out).valid
    body = out[1:out.index("» https://")]
    assert body.endswith("…") and len(body) > 200
    kept = body[:-1]
    assert text.startswith(kept)
    whole = regex.findall(r"\X", text)
    assert regex.findall(r"\X", kept) == whole[:len(regex.findall(r"\X", kept))]
    # one more grapheme of the text would not have fitted (cut at a word end where there is one)
    assert not bluesky_count(make(text[:len(kept) + 1] + "…")).valid or " " in kept[-40:]


def test_an_instance_with_a_higher_limit_gets_the_whole_text(tmp_path: Path) -> None:
    from dataclasses import replace

    from uprbuzz.config import Channel

    config = _project(tmp_path, RULE)
    big = Channel("big-masto", "mastodon", config.x, max_characters=5000)
    config = replace(config, declared_channels=(*config.channels, big))
    huge = " ".join([LONG] * 3)  # over Mastodon's default 500
    with _imported(config, [Record("A/HRC/46/15", "26.1", huge, states=("Chile",),
                                   position="noted")]) as store:
        post = load_campaigns(config, store).posts[0]
    default = (post.parts_for("mastodon") or ())[0].text
    assert mastodon_count(default).valid and "…”" in default
    whole = (post.parts_on("big-masto", "mastodon") or ())[0].text
    assert whole == post.parts[0].text and huge in whole


# --- the same text twice on X: X refuses it as a duplicate at publish time -------------------

WEEKLY = HEAD.replace('every = "daily 09:00"', 'every = "mon 12:00"')
SUMMARY = ('records = {}\nsummary = true\n'
           'text = "Of {total} recommendations, the US gave: {counts}"\n')


def _x_duplicates(config: Config, store: Store) -> list[str]:
    return [str(d) for d in load_campaigns(config, store).diagnostics
            if d.code == "x-duplicate-text"]


def test_a_weekly_summary_with_the_same_text_is_flagged_at_its_text(tmp_path: Path) -> None:
    config = _project(tmp_path, SUMMARY, head=WEEKLY)
    with _imported(config) as store:
        out = load_campaigns(config, store)
        # Mondays 8, 15, 22 and 29 March: four identical texts, three of them refused by X
        assert [p.id for p in out.posts] == [f"followup/2021-03-{d:02d}" for d in (8, 15, 22, 29)]
        assert len({p.parts[0].text for p in out.posts}) == 1
        assert _x_duplicates(config, store) == [
            "schedules/followup.toml:12:1: warning: this summary posts the same counts every "
            "time: followup/2021-03-15 would post on X (x) the text of followup/2021-03-08 "
            "(and 2 more), and X refuses an account's repeated text as a duplicate; put {date} "
            "in the text, or vary it"]


def test_check_prints_the_warning_and_passes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from uprbuzz.cli import main

    config = _project(tmp_path, SUMMARY, head=WEEKLY)
    (tmp_path / "uprbuzz.toml").write_text(
        f'[project]\nname = "t"\ntimezone = "UTC"\nstate = "{config.state}"\n', encoding="utf-8")
    _imported(config).close()
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "check"])
    assert r.exit_code == 0, r.output
    assert "schedules/followup.toml:12:1: warning: this summary posts the same counts" in r.output


@pytest.mark.parametrize("fix", [
    'text = "{date}: of {total} recommendations, the US gave: {counts}"',  # the docs' fix
    'text = "Of {total} recommendations, the US gave: {counts}"\nplatforms = ["bluesky"]',
    # X gets its own text with the date; Bluesky may repeat itself
    'text = "Of {total} recommendations, the US gave: {counts}"\nx.text = "{date}: {counts}"',
])
def test_a_summary_that_varies_on_x_or_skips_it_is_not_flagged(tmp_path: Path, fix: str) -> None:
    config = _project(tmp_path, "records = {}\nsummary = true\n" + fix + "\n", head=WEEKLY)
    with _imported(config) as store:
        assert len(load_campaigns(config, store).posts) == 4
        assert _x_duplicates(config, store) == []


def test_a_variant_x_text_that_repeats_is_flagged_at_its_own_line(tmp_path: Path) -> None:
    rule = ('records = {}\nsummary = true\ntext = "{date}: {counts}"\n'
            'x.text = "The US gave: {counts}"\n')
    config = _project(tmp_path, rule, head=WEEKLY)
    with _imported(config) as store:
        found = _x_duplicates(config, store)
    assert len(found) == 1 and found[0].startswith("schedules/followup.toml:13:1: warning:")


def test_two_records_that_fill_the_same_words_are_flagged(tmp_path: Path) -> None:
    # no {paragraph} or {text}: 26.1 and 26.4 (both Slovakia and Slovenia, noted) read alike
    rule = 'records = { position = "noted" }\ntext = "The US {position} a recommendation from {states}"\n'
    config = _project(tmp_path, rule)
    with _imported(config) as store:
        found = _x_duplicates(config, store)
        assert found == [
            "schedules/followup.toml:11:1: warning: two records fill this text with the same "
            "words: followup/2021-03-07 would post on X (x) the text of followup/2021-03-05 "
            "(and 27 more), and X refuses an account's repeated text as a duplicate; put {date} "
            "in the text, or vary it with a record's placeholder ({paragraph} or {text})"]
        config = _project(tmp_path, RULE)  # each record's own words: nothing to say
        assert _x_duplicates(config, store) == []
