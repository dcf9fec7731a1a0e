"""``uprbuzz run`` (daemon) and ``uprbuzz tick`` (cron)."""

from __future__ import annotations

import sys

import click

from uprbuzz.cli.common import project_config


def _log(line: str) -> None:
    click.echo(line)
    sys.stdout.flush()


@click.command()
@click.option("--rescan", default=1.0, show_default=True, type=float,
              help="Seconds between checks of posts/ and schedules/ for changes.")
def run(rescan: float) -> None:
    """Run the scheduler daemon: publish every approved post at its time.

    Added, edited and deleted files in posts/ and schedules/ take effect without a restart.
    A post more than the late limit overdue (uprbuzz.toml [project] late_limit, default 30m)
    is reported as missed, not published. After each run it takes the engagement snapshots
    that are due (docs/engagement.md). SIGTERM or Ctrl+C finishes the publication in flight,
    then stops.

    \b
    Example:
      uprbuzz run
    """
    from uprbuzz.schedule.daemon import Daemon
    from uprbuzz.store import Store, ledger_mark

    config = project_config()
    with Store.open(config) as store:  # a lost ledger stops the daemon before it starts
        ledger_mark.verify(store, config.root, config.state)
    Daemon(config, log=_log, rescan_seconds=rescan).run_forever()


@click.command()
@click.option("--quiet", "-q", is_flag=True, help="Print only failures and the summary.")
def tick(quiet: bool) -> None:
    """Publish everything due now (within the late limit), take the engagement snapshots
    that are due (docs/engagement.md), then exit.

    For cron or a scheduled CI workflow. Overlapping runs are safe: a second tick while
    one is running exits at once; two runs in the same minute never post twice. Exit
    status 1 when any publication failed.

    \b
    Example (crontab, every 5 minutes):
      */5 * * * *  cd /srv/campaign && .venv/bin/uprbuzz tick -q
    """
    from uprbuzz.publish.report import NOTICES
    from uprbuzz.schedule.daemon import tick as do_tick

    log = (lambda _line: None) if quiet else _log
    result = do_tick(project_config(), log=log, processes=True)
    if not result.ran:
        click.echo(f"uprbuzz tick: {result.message}")
        return
    if quiet:  # the progress lines were not shown: show what needs a person
        for line in result.feed_lines:
            if "error" in line or "failed" in line:
                click.echo(line)
        for item in result.report.items if result.report is not None else ():
            if item.state in ("failed", "missed", *NOTICES):
                click.echo(item.line())
    if result.report is not None:
        click.echo(result.report.summary())
    if result.engagement is not None and result.engagement.channels:
        if quiet:  # what needs a person: a channel that could not be read
            for c in result.engagement.channels:
                if c.error or c.stopped:
                    click.echo(c.line())
        click.echo(result.engagement.summary())
    if not result.ok:
        sys.exit(1)
