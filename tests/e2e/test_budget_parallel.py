"""A platform's daily cap holds when its channels publish in parallel.

Two X channels (two accounts) share `[budget] x`, and every post goes to both; `uprbuzz
publish` runs their workers side by side (processes of their own), each post a little slow to
land. Counted on the X stand-in: exactly the cap goes out.

Found by this test: a lane counted the platform's posts leaving out every row of its own post,
its other X channel's included, so each post routed to two X channels could go one over (12
sent for a cap of 11). The cap is also asked inside each claim's write transaction
(store/publications.claim's gate), so that two lanes can never both read "one left" and both
claim; that race is closed by construction and not provoked here (its window is a
millisecond).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_publish_crash import unlimited
from tests.fixtures.publish import make_project, run_uprbuzz
from tests.fixtures.xapi import ACCOUNT, OTHER, env_for

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("cap", [5, 8, 11])
def test_two_x_channels_in_parallel_send_exactly_the_platform_cap(tmp_path: Path, xapi,  # type: ignore[no-untyped-def]
                                                                  cap: int) -> None:
    unlimited(xapi)
    xapi.server.set_faults(delay_rate=1.0, delay_seconds=0.05, paths=["POST /2/tweets"])
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    posts = {f"q/{i:02d}.md": f"---\nat: {at}\nstatus: approved\n---\ncap {cap} post {i}\n"
             for i in range(10)}
    root = make_project(tmp_path / "proj", posts)
    (root / "uprbuzz.toml").write_text(
        '[project]\nname = "caps"\ntimezone = "UTC"\nlate_limit = "30m"\n'
        f'[budget]\nx = {cap}\n'
        '[channels.x]\nplatform = "x"\n[channels.x-es]\nplatform = "x"\n', encoding="utf-8")
    other = {k.replace("UPRBUZZ_X_", "UPRBUZZ_X_ES_"): v
             for k, v in env_for(xapi.server, OTHER).items()}
    r = run_uprbuzz(["publish"], root, {**env_for(xapi.server, ACCOUNT), **other})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    sent = [t for t in xapi.server.store.tweets if t["text"].startswith(f"cap {cap} ")]
    by_account = {a: len([t for t in sent if t["author_id"] == a.user_id])
                  for a in (ACCOUNT, OTHER)}
    assert len(sent) == cap, (by_account, r.stdout[-3000:])
    assert all(by_account.values()), by_account  # both channels did publish
    assert f"{cap} published, {20 - cap} deferred, 0 failed" in r.stdout, r.stdout[-3000:]
    assert f"daily cap of {cap} x posts" in r.stdout
