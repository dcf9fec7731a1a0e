"""The ledger mark: a lost, emptied, older or foreign ledger is refused before anything is sent."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from uprbuzz.errors import UprbuzzError
from uprbuzz.store import Store, ledger_mark
from uprbuzz.store.ledger_mark import LedgerMismatch

NOW = datetime(2020, 11, 9, 13, 30, tzinfo=UTC)


def send(store: Store, post_id: str) -> None:
    pubs = store.publications
    assert pubs.claim(post_id, "x", [(0, "hello", None)], "h", "me", NOW, timedelta(minutes=1))
    pubs.mark(post_id, "x", 0, "deferred", NOW, error="try later")


def verify(store: Store, root: Path) -> None:
    ledger_mark.verify(store, root, ".uprbuzz/state.sqlite")


def test_the_projects_own_ledger_passes_and_the_mark_trails_it(tmp_path: Path,
                                                                store_url: str) -> None:
    with Store.open(store_url) as store:
        verify(store, tmp_path)  # no mark yet: a first run
        send(store, "a")
        mark = ledger_mark.advance(store, tmp_path)
        assert mark == ledger_mark.read_mark(tmp_path / "uprbuzz.ledger")
        assert mark.events == ledger_mark.high_water(store) > 0
        verify(store, tmp_path)
        send(store, "b")  # the ledger ahead of its mark (a crash before the mark): fine
        verify(store, tmp_path)


@pytest.mark.parametrize("how", ["deleted", "truncated", "older", "other"])
def test_a_lost_or_replaced_ledger_is_refused(tmp_path: Path, how: str) -> None:
    db = tmp_path / ".uprbuzz" / "state.sqlite"
    with Store.open(db) as store:
        send(store, "a")
        ledger_mark.advance(store, tmp_path)
    shutil.copyfile(db, tmp_path / "older.sqlite")
    with Store.open(db) as store:
        send(store, "b")
        ledger_mark.advance(store, tmp_path)
    for p in db.parent.glob("state.sqlite*"):
        p.unlink()
    if how == "truncated":
        db.write_bytes(b"")
    elif how == "older":
        shutil.copyfile(tmp_path / "older.sqlite", db)
    elif how == "other":
        with Store.open(db) as other:
            send(other, "c")
            send(other, "d")
            ledger_mark.advance(other, tmp_path / "nowhere")  # named, but not this project's
    with Store.open(db) as store, pytest.raises(LedgerMismatch) as e:
        verify(store, tmp_path)
    said = str(e.value)
    assert "uprbuzz state rebuild" in said and said.startswith(str(tmp_path / "uprbuzz.ledger"))
    assert {"deleted": "is empty", "truncated": "is empty", "older": "stops at event",
            "other": "different ledger"}[how] in said


def test_a_damaged_mark_names_its_file(tmp_path: Path, store_url: str) -> None:
    (tmp_path / "uprbuzz.ledger").write_text("ledger = \n")
    with Store.open(store_url) as store, pytest.raises(UprbuzzError) as e:
        verify(store, tmp_path)
    assert e.value.where == str(tmp_path / "uprbuzz.ledger") and "damaged" in str(e.value)


def test_forget_drops_a_row_and_says_so(store_url: str) -> None:
    with Store.open(store_url) as store:
        send(store, "a")
        store.publications.forget("a", "x", 0, NOW, "not found")
        assert store.publications.rows("a") == []
        assert store.publications.events("a")[-1]["event"] == "forgotten"
