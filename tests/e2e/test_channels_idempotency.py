"""Mastodon forgets an Idempotency-Key after an hour (on its own clock): a claim older than
that is reconciled, never posted again.

A thread's first part is sent and lands, but its answer is lost: the connection drops after
the write and the check that follows fails (the row is left ``unknown``), or the process is
killed while the answer is held back (the row stays ``claimed`` by a dead process). The
stand-in's clock then moves past the hour, so the stored key no longer protects a resend, and
the next run comes an hour later on its own clock too (``UPRBUZZ_NOW``). It must find the
status by reading the account's statuses, adopt it, and reply to it: the account ends with
the thread exactly once (counted on the stand-in)."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.mastodon import MastodonApi
from tests.fixtures.publish import make_image, make_project, popen_uprbuzz, run_uprbuzz
from uprbuzz.config import load_config
from uprbuzz.sandbox.mastodon_store import IDEMPOTENCY_TTL
from uprbuzz.store import Store
from uprbuzz.store.publications import PubRow

pytestmark = pytest.mark.e2e

PARTS = ["Our joint submission to the UPR of the United States is out #UPR36",
         "It covers policing, detention and the death penalty; read it and share it"]
CW = "Police violence"


def project(root: Path, cw: bool) -> Path:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    warning = f"content_warning: {CW}\nsensitive: true\n" if cw else ""
    post = (f"---\nat: {at}\nstatus: approved\n{warning}"
            "media:\n  - path: media/cover.png\n    alt: Cover of the submission\n"
            "---\n" + "\n---\n".join(PARTS) + "\n")
    root = make_project(root, {"idem/thread.md": post},
                        toml='mastodon = 1000\n[channels.mastodon]\nplatform = "mastodon"\n'
                             "timeout = 2\n")
    make_image(root / "media/cover.png", 64, 40, "navy")
    return root


def env_for(api: MastodonApi) -> dict[str, str]:
    return {"UPRBUZZ_MASTODON_API_URL": api.url,
            "UPRBUZZ_MASTODON_ACCESS_TOKEN": api.account.access_token}


def ledger(root: Path, env: dict[str, str]) -> dict[int, PubRow]:
    with Store.open(load_config(root, env=env)) as store:
        return {r.part: r for r in store.publications.rows("idem/thread")}


def live(api: MastodonApi) -> list[dict]:
    return [s for s in api.server.store.statuses
            if s["account_id"] == api.account.id and not s["deleted"]]


def lose_the_answer(how: str, root: Path, env: dict[str, str], api: MastodonApi) -> str:
    """Send part 1 so that it lands and the publisher does not learn it; returns the log."""
    srv = api.server
    if how == "dropped":
        # the write lands, the connection drops; the check that follows gets a 503
        srv.set_faults(script=["drop_after_write", "error"],
                       paths=["POST /api/v1/statuses", "GET /api/v1/accounts/:id/statuses"])
        r = run_uprbuzz(["publish"], root, env, timeout=120)
        return r.stdout + r.stderr
    # killed: the write lands, the answer is held back, the process is killed meanwhile
    srv.set_faults(script=["delay_after_write"], delay_seconds=30,
                   paths=["POST /api/v1/statuses"])
    p = popen_uprbuzz(["publish"], root, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                      extra_env={"PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while not live(api) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert p.poll() is None, "the publisher ended before its write landed"
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
    out, _ = p.communicate(timeout=30)
    return out.decode(errors="replace")


# with a content warning: the ledger row keeps the text only, and the reconciling lookup must
# still recognise the status (its spoiler_text set) as this part
@pytest.mark.parametrize("cw", [False, True], ids=["plain", "content-warning"])
@pytest.mark.parametrize("how", ["dropped", "killed"])
def test_claim_older_than_the_hour_is_reconciled_not_reposted(
        tmp_path: Path, mastodon_api: MastodonApi, how: str, cw: bool) -> None:
    root = project(tmp_path / "proj", cw)
    env = env_for(mastodon_api)
    srv = mastodon_api.server
    first = lose_the_answer(how, root, env, mastodon_api)

    # part 1 landed (once), the publisher does not know it: its row is still in flight
    landed = live(mastodon_api)
    assert [s["text"] for s in landed] == [PARTS[0]], first
    original = landed[0]
    rows = ledger(root, env)
    assert rows[0].state == ("unknown" if how == "dropped" else "claimed"), (rows[0], first)
    assert 1 not in rows or rows[1].state != "sent"
    key = rows[0].idem_key
    assert key and original["idempotency_key"] == key  # the stand-in remembers it ... for now

    # an hour and a second later on the stand-in's clock, the key is forgotten: a resend with
    # it would make a second status. The next run is an hour later on its own clock too.
    srv.set_faults(script=[], paths=[])
    srv.advance(IDEMPOTENCY_TTL + 1)
    assert srv.store.remembered(mastodon_api.account.id, key) is None
    later = {"UPRBUZZ_NOW": (datetime.now(UTC) + timedelta(seconds=IDEMPOTENCY_TTL + 1)).isoformat()}

    second = run_uprbuzz(["publish"], root, env, timeout=120, extra_env=later)
    out = second.stdout + second.stderr
    assert second.returncode == 0, out

    statuses = live(mastodon_api)  # counted on the server
    assert [s["text"] for s in statuses] == PARTS, out
    assert statuses[0]["id"] == original["id"], out  # adopted, not posted again
    assert statuses[1]["in_reply_to_id"] == original["id"]
    if cw:
        assert all(s["spoiler_text"] == CW for s in statuses)
    rows = ledger(root, env)
    assert [rows[k].state for k in (0, 1)] == ["sent", "sent"]
    assert rows[0].remote_id == original["id"]
    assert "reconciled, it had landed" in out, out

    # and a third run sends nothing
    third = run_uprbuzz(["publish"], root, env, timeout=120, extra_env=later)
    assert third.returncode == 0, third.stdout + third.stderr
    assert len(live(mastodon_api)) == 2
