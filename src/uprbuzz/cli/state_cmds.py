"""`uprbuzz state ...`: look after the ledger (store/ledger_mark.py, publish/rebuild.py,
store/state_copy.py)."""

from __future__ import annotations

import sys

import click

from uprbuzz.cli.common import echo_json, project_config


@click.group()
def state() -> None:
    """Look after the ledger (the record of what was published)."""


@state.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def rebuild(as_json: bool) -> None:
    """Recover the ledger from what the platforms show.

    \b
    Run it when publishing stops because the ledger was lost, emptied, truncated or
    replaced by an older copy. For every approved post whose time has come, each part
    the ledger does not know is looked for on its channel (Bluesky: the record at the
    key uprbuzz derives for it; X and Mastodon: the account's recent posts, matched by
    exact text). What is found is recorded as sent and never sent again; what is not
    found is left to the schedule (sent if still due, recorded missed if too late).
    Nothing is posted or deleted. Afterwards the project's uprbuzz.ledger names this
    ledger, and publishing goes on.
    Example:
      uprbuzz state rebuild && uprbuzz publish
    """
    from uprbuzz.publish.rebuild import rebuild as run_rebuild
    from uprbuzz.store import Store

    config = project_config()
    log = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    with Store.open(config) as store:
        report = run_rebuild(config, store, log=log)
    if as_json:
        echo_json(report.as_dict())
    else:
        for f in report.adopted:
            click.echo(f"found     {f.post_id} on {f.channel}, part {f.part + 1}: {f.url}")
        for f in report.missing:
            click.echo(f"not found {f.post_id} on {f.channel}, part {f.part + 1}: "
                       "left to the schedule")
        for f in report.unchecked:
            click.echo(f"unchecked {f.post_id} on {f.channel}, part {f.part + 1}: {f.why}")
        click.echo(f"{len(report.adopted)} part(s) found and recorded as sent, "
                   f"{len(report.missing)} not found, {len(report.unchecked)} could not be "
                   f"checked, {report.known} already in the ledger; the ledger mark is updated")
    sys.exit(1 if report.unchecked else 0)


@state.command()
@click.argument("src")
@click.argument("dest")
@click.option("--force", is_flag=True,
              help="Replace what DEST holds (by default a non-empty DEST is refused).")
def copy(src: str, dest: str, force: bool) -> None:
    """Copy the whole ledger from SRC to DEST, SQLite or PostgreSQL, either way.

    \b
    SRC and DEST are each a SQLite file or a postgresql:// URL. Every table and
    every row is copied as stored (events keep their ids, so the project's
    uprbuzz.ledger mark still names the copy). The source is held still while
    it is read and the destination is written in one transaction: a failed copy
    changes nothing. A DEST that already holds anything is refused unless --force.
    Stop the daemon and cron ticks first, then point `state` at DEST.
    Example (move a project to a shared PostgreSQL ledger):
      uprbuzz state copy .uprbuzz/state.sqlite postgresql://uprbuzz@db.example.org/uprbuzz
    """
    from uprbuzz.store.db import mask_url
    from uprbuzz.store.state_copy import Copied, copy_state

    def show(c: Copied) -> None:
        click.echo(f"copied {c.table}: {c.rows:,} row(s)", err=True)

    done = copy_state(src, dest, force=force, progress=show)
    click.echo(f"{sum(c.rows for c in done):,} row(s) in {len(done)} tables copied from "
               f"{mask_url(src)} to {mask_url(dest)}")
