"""A cron `uprbuzz publish` with nothing due must stay cheap: no SDK, no Pillow imported, and
with the default SQLite ledger no PostgreSQL driver either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fixtures.publish import make_project

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("atproto", "atproto_client", "tweepy", "PIL", "twitter_text", "psycopg")


def test_nothing_due_imports_no_sdk(tmp_path):
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
    root = make_project(tmp_path / "p", {
        "later.md": f"---\nat: {soon}\nstatus: approved\n---\nLater today\n",
        "draft.md": "---\nstatus: draft\n---\nNot yet\n",
    })
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    env.update(PYTHONPATH=str(REPO / "src"), UPRBUZZ_X_API_URL="http://127.0.0.1:9",
               UPRBUZZ_X_CONSUMER_KEY="ck", UPRBUZZ_X_CONSUMER_SECRET="cs",
               UPRBUZZ_X_ACCESS_TOKEN="at", UPRBUZZ_X_ACCESS_SECRET="as",
               UPRBUZZ_BLUESKY_HANDLE="a.test", UPRBUZZ_BLUESKY_PASSWORD="pw")
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "uprbuzz", "-C", str(root),
                        "publish", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)["summary"].startswith("0 published")
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "uprbuzz" in imported and "click" in imported  # the measurement itself works
    assert not set(HEAVY) & imported, set(HEAVY) & imported
