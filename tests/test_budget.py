from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from uprbuzz.checks.budget import Budget, has_url
from uprbuzz.config import Config, ConfigError
from uprbuzz.model import Override, Part, Post
from uprbuzz.platforms.limits import X
from uprbuzz.store import Store

UTC = UTC


def post(pid: str, *texts: str, platforms: tuple[str, ...] = ("x", "bluesky"),
         at: datetime | None = None, **kw: object) -> Post:
    return Post(pid, tuple(Part(t) for t in texts), at=at, platforms=platforms, **kw)  # type: ignore[arg-type]


def cfg(tmp_path: Path, **budget: object) -> Config:
    return Config(root=tmp_path, timezone="America/New_York", budget=budget)


@pytest.mark.parametrize("text,url", [
    ("Watch the review live", False),
    ("Watch live at https://webtv.un.org/en", True),
    ("Watch live at webtv.un.org today", True),
    ("Read upr-info.org for more", True),
    ("The U.S. e.g. gave 4.5 answers", False),
    ("see report.pdf and image.png", False),
    ("write to info@example.org", False),
    ("#UPR36 @UN_HRC", False),
    ("see upr.gallery", True),  # a real TLD the old hand-made list did not know
    ("caf\u0065\u0301.com and more", True),  # decomposed é: found after NFC, as x_length does
])
def test_url_detection_matches_twitter_text(text: str, url: bool) -> None:
    from twitter_text import extract_urls

    assert has_url(text) is url
    assert bool(extract_urls(text)) is url  # the reference agrees on every sample


PRICE_OF = """
import sys
if sys.argv[1] == "warm":
    import twitter_text  # noqa: F401  (what the checks used to leave behind)
from uprbuzz.checks.budget import Budget
from uprbuzz.config import Config
from uprbuzz.model import Part, Post
b = Budget.from_config(Config(root=".", timezone="UTC", budget={}))
print(b.x_cost(Post("p", (Part("see upr.gallery"),), platforms=("x",))),
      "twitter_text" in sys.modules)
"""


def test_price_does_not_depend_on_what_is_imported() -> None:
    """The same text costs the same in a fresh interpreter, with or without twitter_text
    imported first (it used to be $0.015 cold and $0.20 warm)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    out = {}
    for mode in ("cold", "warm"):
        r = subprocess.run([sys.executable, "-c", PRICE_OF, mode], capture_output=True,
                           text=True, env=env, timeout=60, check=True)
        out[mode] = r.stdout.split()
    assert out["cold"] == out["warm"] == [str(X.url_post_usd), "True"]


def test_text_without_a_dot_is_priced_without_loading_twitter_text() -> None:
    code = ("import sys\nfrom uprbuzz.checks.budget import has_url\n"
            "assert not has_url('Watch the review live #UPR36 @UN_HRC https:')\n"
            "print(sorted(m for m in ('twitter_text', 'uprbuzz.platforms.text_measure') "
            "if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60, check=True)
    assert r.stdout.strip() == "[]"


def test_budget_defaults_are_the_declared_prices(tmp_path: Path) -> None:
    b = Budget.from_config(cfg(tmp_path))
    assert (b.x_post_usd, b.x_url_post_usd) == (X.post_usd, X.url_post_usd)


def test_x_cost_per_part(tmp_path: Path) -> None:
    b = Budget.from_config(cfg(tmp_path))
    assert b.x_cost(post("a", "plain")) == pytest.approx(0.015)
    assert b.x_cost(post("b", "see https://upr-info.org")) == pytest.approx(0.20)
    assert b.x_cost(post("c", "one", "two https://x.org", "three")) == pytest.approx(0.23)
    assert b.x_cost(post("d", "plain", platforms=("bluesky",))) == 0
    skip = post("e", "plain", overrides={"x": Override(skip=True)})
    assert b.x_cost(skip) == 0
    dear = Budget.from_config(cfg(tmp_path, x_post_usd=0.02, x_url_post_usd=0.5))
    assert dear.x_cost(post("f", "a", "b webtv.un.org")) == pytest.approx(0.52)


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'x_daily_usd'"):
        Budget.from_config(cfg(tmp_path, x_daily_usdd=3))
    with pytest.raises(ConfigError, match="numbers"):
        Budget.from_config(cfg(tmp_path, x="lots"))
    b = Budget.from_config(cfg(tmp_path))
    assert dict(b.caps) == {"x": 50, "bluesky": 300, "mastodon": 300} and b.x_daily_usd is None


def _row(store: Store, pid: str, platform: str, part: int, state: str, at: datetime,
         text: str | None = "t") -> None:
    iso = at.astimezone(UTC).isoformat()
    store.db.execute(
        "INSERT INTO publications (post_id, channel, part, content_hash, state, claimed_at, "
        "sent_at, updated_at, text) VALUES (?,?,?,?,?,?,?,?,?)",
        (pid, platform, part, "h", state, iso, iso if state == "sent" else None, iso, text))


def test_defer_reason_counts_sent_and_claimed_on_the_local_day(tmp_path: Path) -> None:
    c = cfg(tmp_path, x=3)
    b = Budget.from_config(c)
    # 9 Nov 2020 in New York runs 05:00Z on the 9th to 05:00Z on the 10th
    when = datetime(2020, 11, 9, 20, 0, tzinfo=UTC)
    with Store.open(tmp_path / "state.sqlite") as store:
        _row(store, "a", "x", 0, "sent", datetime(2020, 11, 9, 6, 0, tzinfo=UTC))
        _row(store, "b", "x", 0, "claimed", datetime(2020, 11, 10, 4, 0, tzinfo=UTC))
        _row(store, "old", "x", 0, "sent", datetime(2020, 11, 9, 4, 59, tzinfo=UTC))  # the 8th locally
        _row(store, "f", "x", 0, "failed", datetime(2020, 11, 9, 7, 0, tzinfo=UTC))
        _row(store, "bs", "bluesky", 0, "sent", datetime(2020, 11, 9, 7, 0, tzinfo=UTC))
        assert b.used(store, "x", b.day_of(when)) == (2, pytest.approx(0.03))
        assert b.defer_reason(store, "x", post("p", "one"), when) is None
        reason = b.defer_reason(store, "x", post("p", "one", "two"), when)
        assert reason and "daily cap of 3 x posts" in reason and "Mon 09 Nov 2020" in reason
        # the post's own rows (a resumed attempt) do not count against it
        _row(store, "p", "x", 0, "claimed", when)
        assert b.defer_reason(store, "x", post("p", "one"), when) is None
        # another platform and another day are unaffected
        assert b.defer_reason(store, "bluesky", post("p", "one", "two"), when) is None
        assert b.defer_reason(store, "x", post("p", "1", "2", "3"), when + timedelta(days=1)) is None
        # a post that skips the platform is never deferred on it
        assert b.defer_reason(store, "x", post("q", "1", "2", platforms=("bluesky",)), when) is None


def test_defer_reason_daily_dollars(tmp_path: Path) -> None:
    b = Budget.from_config(cfg(tmp_path, x_daily_usd=0.5))
    when = datetime(2020, 11, 9, 15, 0, tzinfo=UTC)
    with Store.open(tmp_path / "state.sqlite") as store:
        _row(store, "a", "x", 0, "sent", when - timedelta(hours=1), "see https://un.org")
        _row(store, "b", "x", 0, "sent", when - timedelta(hours=2), None)  # unknown text: dear
        assert b.used(store, "x", b.day_of(when))[1] == pytest.approx(0.40)
        assert b.defer_reason(store, "x", post("p", "plain"), when) is None
        reason = b.defer_reason(store, "x", post("p", "with webtv.un.org"), when)
        assert reason and "$0.50" in reason


def test_plan_days_counts_costs_and_warns(tmp_path: Path) -> None:
    b = Budget.from_config(cfg(tmp_path, x=2, x_daily_usd=0.2))
    ny = datetime(2020, 11, 9, 9, 0, tzinfo=UTC)
    posts = [
        post("a", "one", "two https://un.org", at=ny),                       # 9 Nov local: 04:00
        post("b", "three", at=ny + timedelta(hours=10)),                     # 9 Nov
        post("c", "four", at=datetime(2020, 11, 10, 4, 59, tzinfo=UTC)),     # still 9 Nov locally
        post("d", "five", at=datetime(2020, 11, 10, 5, 0, tzinfo=UTC)),      # 10 Nov
        post("e", "bluesky only", platforms=("bluesky",), at=ny),
        post("f", "unscheduled"),
    ]
    days = b.plan_days(posts)
    d9, d10 = sorted(days)
    assert str(d9) == "2020-11-09" and str(d10) == "2020-11-10"
    p9 = days[d9]
    assert p9.counts == {"x": 4, "bluesky": 5}
    assert p9.x_cost == pytest.approx(0.015 * 3 + 0.2)
    assert any("over the daily cap of 2" in w for w in p9.warnings)
    assert any("over the daily limit of $0.20" in w for w in p9.warnings)
    assert days[d10].counts == {"x": 1, "bluesky": 1} and days[d10].warnings == []
    assert days[d10].as_dict()["x_cost"] == 0.015


def test_plan_days_over_the_sample_campaigns(tmp_path: Path) -> None:
    from uprbuzz.sources.campaigns.campaign_posts import load_campaigns

    root = Path(__file__).resolve().parent.parent
    c = Config(root=root, timezone="America/New_York")
    posts = load_campaigns(c).posts
    days = Budget.from_config(c).plan_days(posts)
    # 10 Dec 2020: Human Rights Day (09:00), counted on its local day
    d = days[next(k for k in days if str(k) == "2020-12-10")]
    on_day = [p for p in posts if p.at and p.at.astimezone(c.zone).date() == d.day]
    assert [p.id for p in on_day] == ["human-rights-day/2020-12-10"]
    assert d.counts == {"x": 1, "bluesky": 1} and d.warnings == []
    assert sum(dp.counts["x"] for dp in days.values()) == sum(len(p.parts_for("x") or ()) for p in posts)
