"""The records store API on both backends (``store_url``: a SQLite file, then a real PostgreSQL)."""

from __future__ import annotations

import pytest

from uprbuzz.store import Store
from uprbuzz.store.records import Record, Response
from uprbuzz.upr_record import (
    document_link,
    document_links,
    normalise_position,
    paragraph_order,
    split_key,
)

DOC = "A/HRC/46/15"


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        yield s


def rec(par: str, **kw) -> Record:
    kw.setdefault("text", f"Recommendation {par}")
    return Record(doc=kw.pop("doc", DOC), paragraph=par, **kw)


def test_record_value_key_links_and_positions():
    r = rec("26.1", states=["Somalia", " Somalia ", "Ghana"], position="Supported_Noted")
    assert r.key == "A/HRC/46/15 ¶26.1"
    assert r.states == ("Somalia", "Ghana")
    assert r.position == "supported in part" and r.status == "supported in part"
    assert r.links == {"document": "https://docs.un.org/en/A/HRC/46/15"}
    assert r.link == "https://docs.un.org/en/A/HRC/46/15"
    both = rec("26.1", links={"uprinfo": "https://upr-info-database.uwazi.io/entity/x",
                              "uhri": "https://uhri.ohchr.org/en/document/u"})
    assert both.link == "https://uhri.ohchr.org/en/document/u"  # UHRI first, then UPR Info
    assert rec("26.1", links={"uprinfo": "https://u/e"}).link == "https://u/e"
    assert hash(r) == hash(rec("26.1", states=["Somalia", "Ghana"], position="supported in part"))
    with pytest.raises(ValueError, match="unknown position 'maybe'"):
        rec("26.1", position="maybe")


def test_position_spellings_fold_to_three_and_pending():
    for spelling, want in [("Supported", "supported"), ("NOTED", "noted"),
                           ("Not Supported", "noted"), ("supported_noted", "supported in part"),
                           ("Supported in part", "supported in part"),
                           ("Supported/Noted", "supported in part"), ("", None), (None, None),
                           ("Pending", None)]:
        assert normalise_position(spelling) == want, spelling


def test_document_links_and_keys():
    assert document_link("A/HRC/46/15/Add.1", "fr") == "https://docs.un.org/fr/A/HRC/46/15/Add.1"
    assert set(document_links(DOC)) == {"en", "fr", "es", "ru", "ar", "zh"}
    with pytest.raises(ValueError):
        document_link(DOC, "de")
    assert split_key("A/HRC/46/15 ¶26.1") == (DOC, "26.1")
    assert split_key("¶ 26.10") == (None, "26.10")
    assert sorted(["26.10", "26.2", "27.1", "26.1"], key=paragraph_order) == [
        "26.1", "26.2", "26.10", "27.1"]


def test_upsert_counts_added_updated_and_keeps_what_the_new_record_lacks(store):
    records = store.records
    first = [rec("26.1", states=("Somalia",), themes=("Death penalty",), position="supported",
                 comment="Add.1 ¶3"),
             rec("26.2", states=("Ghana", "Togo"))]
    assert records.upsert(first, source="a.csv") == (2, 0)
    assert records.upsert(first, source="a.csv") == (0, 0)  # nothing changed
    # a UHRI import: no position, SDGs and a page -> keeps the position, adds the rest
    uhri = [rec("26.1", sdgs=("16",), links={"uhri": "https://uhri.ohchr.org/en/document/1"}),
            rec("26.3")]
    assert records.upsert(uhri, source="u.json") == (1, 1)
    got = records.get(DOC, "26.1")
    assert got is not None
    assert (got.position, got.comment, got.states, got.themes, got.sdgs) == (
        "supported", "Add.1 ¶3", ("Somalia",), ("Death penalty",), ("16",))
    assert got.links == {"document": document_link(DOC),
                         "uhri": "https://uhri.ohchr.org/en/document/1"}
    assert got.link == "https://uhri.ohchr.org/en/document/1"
    row = store.db.query("SELECT source, position_source FROM records WHERE paragraph=?",
                         ("26.1",))[0]
    assert (row["source"], row["position_source"]) == ("u.json", "a.csv")


def test_list_in_paragraph_order_with_case_blind_filters(store):
    store.records.upsert([rec(p, states=("Ghana",) if p.endswith("0") else ("Chile", "Peru"),
                              themes=("Death penalty",), position="noted" if p == "26.10" else None)
                          for p in ("26.10", "26.2", "26.1", "27.1", "26.20")], source="s")
    assert [r.paragraph for r in store.records.list()] == ["26.1", "26.2", "26.10", "26.20",
                                                            "27.1"]
    assert [r.paragraph for r in store.records.list(state="GHANA")] == ["26.10", "26.20"]
    assert [r.paragraph for r in store.records.list(state="peru", theme="death PENALTY")] == [
        "26.1", "26.2", "27.1"]
    assert [r.paragraph for r in store.records.list(position="Noted")] == ["26.10"]
    assert len(store.records.list(position="pending")) == 4
    assert store.records.list(doc="A/HRC/1/1") == []


def test_respond_and_summary_counts(store):
    r = store.records
    r.upsert([rec("26.1", states=("Chile", "Peru"), themes=("Migrants",)),
              rec("26.2", states=("Chile",), themes=("Migrants", "Children")),
              rec("26.3", states=("Peru",))], source="s")
    assert r.respond(None, "26.1", "Supported", "we will", source="resp.csv")
    assert r.respond(DOC, "¶26.2", "supported_noted", "", source="resp.csv")
    assert not r.respond(None, "99.9", "noted", "", source="resp.csv")
    assert r.summary() == {
        "total": 3,
        "by_position": {"supported": 1, "noted": 0, "supported in part": 1, "pending": 1},
        "by_theme": {"Migrants": 2, "Children": 1},
        "by_state": {"Chile": 2, "Peru": 2},
    }
    got = r.get(None, "26.1")
    assert got is not None and (got.position, got.comment) == ("supported", "we will")


def test_respond_all_is_all_or_nothing(store):
    r = store.records
    r.upsert([rec("26.1"), rec("26.2")], source="s")
    with pytest.raises(LookupError, match="26.7"):
        r.respond_all([Response(None, "26.1", "noted"), Response(None, "26.7", "noted")], "x")
    assert r.summary()["by_position"]["pending"] == 2  # the first one was rolled back
    with pytest.raises(ValueError, match="needs a position"):
        r.respond_all([Response(None, "26.1", "")], "x")
    assert r.respond_all([Response(None, "26.1", "noted"), Response(DOC, "26.2", "noted")],
                         "x") == 2
    assert r.summary()["by_position"]["noted"] == 2


def test_a_paragraph_without_doc_resolves_to_the_most_recent_document(store):
    r = store.records
    r.upsert([rec("26.1", doc="A/HRC/30/12", text="2015")], source="old")
    assert r.get(None, "26.1").text == "2015"
    r.upsert([rec("26.1", text="2020"), rec("26.2", text="only 2020")], source="new")
    assert r.docs()[0] == DOC
    assert r.get(None, "26.1").text == "2020"
    assert r.get("A/HRC/30/12", "26.1").text == "2015"
    assert r.get("A/HRC/30/12", "26.2") is None
    assert r.get(None, "26.2").doc == DOC
