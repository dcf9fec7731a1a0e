"""The live console's recommendation cards carry the record link once the recommendation is in
the store (``uprbuzz records import``): the card (printed on it, whole in its alt text) and the
post text it makes; without the record, or for another State's paragraph, cards are as before."""

from __future__ import annotations

import pytest

from tests.fixtures.cards import CARD_BRAND
from tests.live.conftest import wait_for
from uprbuzz.upr_record import UHRI_PAGE, Record

UHRI = UHRI_PAGE.format(id="0b5a1c4e-2f6d-4e8a-9c1b-3d5e7f9a1b2c")
TEXT = "Abolish the death penalty at the federal level"


def _sent(con, fakes, platform: str, para: str) -> dict:  # type: ignore[no-untyped-def]
    """The card post of paragraph ``para`` as the fake ``platform`` received it."""
    wait_for(lambda: all(p.state == "sent" for p in con.store.posts(con.key)))
    return next(p for p in fakes[platform].posts if f"(para {para})" in p["text"])


@pytest.mark.usefixtures("card_fonts")
def test_a_card_carries_its_records_link(live_env) -> None:  # type: ignore[no-untyped-def]
    config, store, fakes, make = live_env
    store.records.upsert([Record("A/HRC/46/15", "26.46", TEXT, states=("Slovakia",),
                                 links={"uhri": UHRI})], source="recs.json")
    con = make()
    con.start()
    lp = con.submit_card("Slovakia", "26.46", TEXT)
    assert lp.data["card"]["fields"]["link"] == UHRI
    x = _sent(con, fakes, "x", "26.46")
    tags = " ".join(con.session.hashtags)
    assert x["text"] == f"Slovakia recommends: “{TEXT}” (para 26.46) {UHRI} {tags}"
    assert x["media"] == 1  # the card went with it
    assert UHRI in _sent(con, fakes, "bluesky", "26.46")["text"]
    # the card as rendered: the link printed (without https://), whole in the alt text
    from uprbuzz.cards import render

    card = render("recommendation", lp.data["card"]["fields"], brand=CARD_BRAND)
    assert card.alt.startswith("Recommendation 26.46 — Slovakia: “Abolish") and UHRI in card.alt
    assert card.report["boxes"]["when"]["text"].endswith(" · " + UHRI.removeprefix("https://"))
    assert not card.warnings

    # the document link when the store knows no page for it; a State given in another case
    store.records.upsert([Record("A/HRC/46/15", "26.47", "Ratify the CRC",
                                 states=("Slovakia", "Ghana"))], source="recs.csv")
    lp = con.submit_card("ghana", "26.47", "Ratify the CRC")
    assert "https://docs.un.org/en/A/HRC/46/15" in lp.text


def test_without_the_record_a_card_is_as_before(live_env) -> None:  # type: ignore[no-untyped-def]
    config, store, fakes, make = live_env
    store.records.upsert([Record("A/HRC/46/15", "26.46", TEXT, states=("Chile",),
                                 links={"uhri": UHRI})], source="recs.json")
    con = make()
    con.start()
    other = con.submit_card("Slovakia", "26.46", TEXT)  # same number, another State's
    unknown = con.submit_card("Slovakia", "99.1", "Something else")
    for lp in (other, unknown):
        assert "link" not in lp.data["card"]["fields"]
        assert "https://" not in lp.text
    assert _sent(con, fakes, "x", "99.1")["text"].endswith(
        "(para 99.1) " + " ".join(con.session.hashtags))
