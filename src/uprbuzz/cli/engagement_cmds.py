"""``uprbuzz engagement``: take engagement snapshots now, and show what they hold."""

from __future__ import annotations

import sys
from datetime import tzinfo
from typing import TYPE_CHECKING

import click

from uprbuzz.cli.common import echo_json, project_config

if TYPE_CHECKING:
    from uprbuzz.store.engagement import Snapshot


@click.group()
def engagement() -> None:
    """Likes, reposts, replies and quotes read back after each publication.

    Snapshots are taken about 1 h, 24 h and 7 days after each part is sent
    ([engagement] after in uprbuzz.toml) by `uprbuzz tick` and `uprbuzz run`, on
    Bluesky and Mastodon channels, and on X channels that opt in ([engagement] x =
    true: each X read is paid, counted in [budget] x_daily_usd). See docs/engagement.md.

    \b
    Example:
      uprbuzz engagement snapshot && uprbuzz engagement show
    """


@engagement.command()
@click.option("--now", "manual", is_flag=True,
              help="Read every sent part now (stage \"now\", replacing the last manual read), "
                   "not only the snapshots that are due.")
@click.option("--channel", "channels", multiple=True, metavar="NAME",
              help="Only this channel (repeatable). Default: every engagement channel.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def snapshot(manual: bool, channels: tuple[str, ...], as_json: bool) -> None:
    """Take the engagement snapshots that are due now (what `tick` does after publishing).

    Progress goes to stderr with --json. A channel that fails is reported and left for the
    next run; the others go on. Exit status 1 when any channel failed.

    \b
    Example:
      uprbuzz engagement snapshot
      uprbuzz engagement snapshot --now --channel bluesky
    """
    from uprbuzz.clock import default_clock
    from uprbuzz.errors import UprbuzzError
    from uprbuzz.publish.engagement import reading_channels, take_due
    from uprbuzz.publish.publisher import Publisher
    from uprbuzz.schedule.daemon import exclusive
    from uprbuzz.store import Store

    config = project_config()
    known = {c.name for c in reading_channels(config)}
    for name in channels:
        if name not in known:
            raise UprbuzzError(f"channel {name!r} has no engagement read-back: choose one of "
                               f"{', '.join(sorted(known)) or '(none)'} (X channels opt in "
                               "with [engagement] x = true)", "uprbuzz.toml")
    log = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    clock = default_clock()
    # the lock tick and run take for snapshots: reading the same posts twice would pay X twice
    with exclusive(config, "engagement") as got:
        if not got:
            raise UprbuzzError("another uprbuzz process (tick or run) is taking engagement "
                               "snapshots: try again when it has finished")
        with Store.open(config) as store:
            pub = Publisher(config, store, clock=clock, log=log)
            report = take_due(config, store, pub.platform, clock.now(), log, manual=manual,
                              channels=list(channels) or None)
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(report.summary())
    sys.exit(0 if report.ok else 1)


@engagement.command()
@click.option("--post", "post_id", default=None, help="Only this post id.")
@click.option("--channel", default=None, metavar="NAME", help="Only this channel.")
@click.option("--series", is_flag=True,
              help="Every snapshot (1h, 24h, 7d, now), not only the freshest per part.")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshots as JSON.")
def show(post_id: str | None, channel: str | None, series: bool, as_json: bool) -> None:
    """Show the freshest engagement counts of each post, channel and thread part.

    A snapshot taken well after its time (the scheduler was down) is marked "late". The
    counts are the platforms' own: a thread's replies include the network's own replies (its
    next part, the next live post), which `uprbuzz report` subtracts.

    \b
    Example:
      uprbuzz engagement show
      uprbuzz engagement show --post review/watch-live --series --json
    """
    from uprbuzz.store import Store

    config = project_config()
    with Store.open(config) as store:
        freshest = store.engagement.latest(post_id, channel)
        snaps = store.engagement.series(post_id, channel) if series else freshest
    if as_json:
        echo_json([s.as_dict() for s in snaps])
        return
    if not snaps:
        click.echo("no engagement snapshots yet (they are taken 1 h after a post is sent; "
                   "`uprbuzz engagement snapshot --now` reads now)")
        return
    rows = [_row(s, config.zone) for s in snaps]
    head = ("post", "channel", "part", "stage", "taken", "likes", "reposts", "replies",
            "quotes", "views")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    for r in (head, *rows):
        click.echo("  ".join(c.ljust(w) if i < 5 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())
    totals = [sum(getattr(s, k) for s in freshest) for k in ("likes", "reposts", "replies",
                                                             "quotes")]
    click.echo(f"total (freshest): {_n(totals[0], 'like')}, {_n(totals[1], 'repost')}, "
               f"{_n(totals[2], 'reply', 'replies')}, {_n(totals[3], 'quote')}")
    click.echo("raw counts, as the platforms give them: replies include the network's own "
               "(the next part of a thread, the next live post); `uprbuzz report` leaves those out")


def _n(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _row(s: Snapshot, zone: tzinfo) -> tuple[str, ...]:
    taken = s.taken_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return (s.post_id, s.channel, str(s.part + 1), s.stage + (" (late)" if s.late else ""), taken,
            str(s.likes), str(s.reposts), str(s.replies), str(s.quotes),
            "" if s.impressions is None else str(s.impressions))
