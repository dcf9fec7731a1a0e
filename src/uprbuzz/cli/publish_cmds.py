"""`uprbuzz publish`, `uprbuzz status`, `uprbuzz retract`: thin wrappers over uprbuzz.publish.publisher."""

from __future__ import annotations

import sys

import click

from uprbuzz.cli.common import echo_json, project_config


def _open():
    from uprbuzz.store import Store

    config = project_config()
    return config, Store.open(config)


@click.command()
@click.argument("post_ids", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Show what would be published; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def publish(post_ids: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Publish due (or the named) approved posts exactly once to each platform.

    \b
    Due: status approved, time reached, not older than late_limit (older ones are
    recorded as missed; name them to send anyway). Exit status 1 when anything failed.
    Example:
      uprbuzz publish                      # everything due now
      uprbuzz publish review/watch-live    # this post now, whatever its time
    """
    from uprbuzz.publish.publisher import Publisher

    config, store = _open()
    # progress goes to stderr with --json so stdout stays one JSON document
    log = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    with store:
        # processes=True: the channels' workers are processes of their own where they can be
        report = Publisher(config, store, log=log, processes=True).publish_due(
            list(post_ids) or None, dry_run=dry_run)
    if as_json:
        echo_json(report.as_dict())
    else:
        for item in report.items:
            if item.state == "sent" and item.new:
                continue  # already printed as progress
            if item.state in ("failed", "deferred", "unknown", "dry-run", "skipped") or post_ids:
                click.echo(item.line())
        click.echo(report.summary())
    sys.exit(0 if report.ok else 1)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the ledger as JSON.")
@click.option("--post", "post_id", default=None, help="Only this post id.")
def status(as_json: bool, post_id: str | None) -> None:
    """Show every publication's state, remote links and errors.

    \b
    Example:
      uprbuzz status --post review/watch-live
    """
    from uprbuzz.store import ledger_mark

    config, store = _open()
    with store:
        rows = store.publications.rows(post_id)
        lost = ledger_mark.problem(store, config.root, config.state)
    if lost:  # "nothing published" from a lost ledger would be a lie
        click.echo(f"uprbuzz: warning: {lost}", err=True)
    if as_json:
        platform_of = {c.name: c.platform for c in config.channels}
        echo_json([{**r.as_dict(), "platform": platform_of.get(r.channel, r.channel)}
                   for r in rows])
        return
    if not rows:
        click.echo("nothing published or attempted yet" if not post_id else
                   f"nothing recorded for {post_id}")
        return
    zone = config.zone
    table = [("POST", "PLATFORM", "PART", "STATE", "WHEN", "LINK / ERROR")]
    for r in rows:
        when = r.sent_at or r.updated_at
        shown = when.astimezone(zone).strftime("%Y-%m-%d %H:%M") if when else ""
        detail = r.url or r.uri or "" if r.state in ("sent", "retracted") else (r.error or "")
        if r.state == "sent" and r.error:  # a note: edited after it was sent
            detail = f"{detail} ({r.error})"
        if r.state == "deferred" and r.not_before:
            detail = f"until {r.not_before.astimezone(zone):%Y-%m-%d %H:%M:%S}: {detail}"
        table.append((r.post_id, r.channel, str(r.part + 1), r.state, shown, detail))
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[5])
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    click.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


@click.command()
@click.argument("post_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def retract(post_id: str, yes: bool, as_json: bool) -> None:
    """Delete a published post (every part of its thread) on every platform.

    The deletion is recorded in the ledger; a retracted post is never published again.

    \b
    Example:
      uprbuzz retract review/watch-live --yes
    """
    from uprbuzz.publish.publisher import Publisher

    config, store = _open()
    with store:
        rows = [r for r in store.publications.rows(post_id) if r.state == "sent"]
        if not rows and not store.publications.rows(post_id):
            raise click.ClickException(f"nothing recorded for {post_id!r} (see `uprbuzz status`)")
        if rows and not yes:
            for r in rows:
                click.echo(f"  {r.channel} part {r.part + 1}: {r.url or r.uri}")
            click.confirm(f"Delete these {len(rows)} published part(s)?", abort=True)
        log = (lambda line: click.echo(line, err=True)) if as_json else click.echo
        report = Publisher(config, store, log=log).retract(post_id)
    if as_json:
        echo_json(report.as_dict())
    else:
        for item in report.items:
            click.echo(item.line())
    sys.exit(0 if report.ok else 1)
