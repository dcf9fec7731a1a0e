"""Cards checked without rendering: what the renderer would refuse, judged on the post's day,
and no Pillow on the way."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from uprbuzz.checks.card_fields import card_problem, check_post, field_problem
from uprbuzz.config import Config
from uprbuzz.model import Card, Loc, Part, Post

ROOT = Path(__file__).resolve().parents[2]
LIVE = {"start": "2020-11-09T14:30+01:00", "title": "Review of the United States"}


@pytest.mark.parametrize("card, words", [
    (Card("quotes", {"quote": "x"}), "unknown card template 'quotes'"),
    (Card("countdown", {"when": "2020-11-09"}), "no field when"),
    (Card("watch-live", {"title": "x"}), "needs field start"),
    (Card("watch-live", {**LIVE, "end": "later"}), "field end"),
    (Card("watch-live", {**LIVE, "zones": "Europe/Geneva=Geneva"}), "unknown time zone"),
    (Card("countdown", {"date": "2020-11-09", "days": "two"}), "not a whole number"),
    (Card("countdown", {"date": "2020-11-09", "today": "monday"}), "field today"),
    (Card("countdown", {"start": "2020-11-09 14:30", "tz": "Geneva"}), "tz"),
    (Card("quote", {"quote": "x"}, size="1200x630"), "size '1200x630'"),
])
def test_refused_cards(card: Card, words: str) -> None:
    msg = card_problem(card, date(2020, 11, 2))
    assert msg is not None and words in msg, msg


def test_countdown_is_judged_on_the_publication_day() -> None:
    card = Card("countdown", {"date": "2020-11-09"})
    assert card_problem(card, date(2020, 11, 9)) is None  # "today" on the day itself
    assert "before 2020-11-10" in (card_problem(card, date(2020, 11, 10)) or "")
    assert card_problem(Card("countdown", {"date": "2020-11-09", "days": "1"}),
                        date(2020, 11, 10)) is None
    assert card_problem(card, None) is None  # an undated draft: its day is not known yet


def test_valid_cards_of_every_template() -> None:
    for card in (Card("quote", {"quote": "Rights are universal", "attribution": "A"}),
                 Card("watch-live", LIVE), Card("countdown", {**LIVE, "days": f"{3}"}),
                 Card("blog", {"title": "Shadow report", "url": "https://e.org/p"}),
                 Card("recommendation", {"state": "Slovakia", "text": "Ratify", "lang": "en"}),
                 Card("quote", {"quote": "x"}, size="1080x1080")):
        assert card_problem(card, date(2020, 11, 2)) is None, card


def test_check_post_uses_the_post_day_in_the_project_zone(tmp_path: Path) -> None:
    cfg = Config(root=tmp_path, timezone="America/New_York")
    card = Card("countdown", {"date": "2020-11-09"})
    # 23:30 in New York on the 9th is already the 10th in UTC: still the day itself locally
    at = datetime.fromisoformat("2020-11-10T04:30:00+00:00")
    post = Post(id="p", parts=(Part("t"),), at=at, card=card, source=Loc("schedules/a.toml", 7))
    assert check_post(post, cfg) == []
    late = Post(id="p", parts=(Part("t"),), at=datetime.fromisoformat("2020-11-10T12:00:00+00:00"),
                card=card, source=Loc("schedules/a.toml", 7))
    (d,) = check_post(late, cfg)
    assert (d.path, d.line, d.code, d.severity) == ("schedules/a.toml", 7, "card", "error")


def test_field_names_for_cards_filled_later() -> None:
    assert field_problem({"template": "blog", "title": "{title}"}) is None
    assert "no field headline" in (field_problem({"template": "blog", "headline": "x"}) or "")
    assert "unknown card template" in (field_problem({"template": "poster"}) or "")


def test_no_pillow_to_check_a_card() -> None:
    code = ("import sys\nfrom datetime import date\nfrom uprbuzz.model import Card\n"
            "from uprbuzz.checks.card_fields import card_problem\n"
            "assert card_problem(Card('watch-live', {'start': '2020-11-09T14:30+01:00'}), "
            "date(2020, 11, 2)) is None\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'PIL'))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
