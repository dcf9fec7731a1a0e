"""``uprbuzz report``: the impact report (HTML page, CSV or JSON) from the ledger."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from uprbuzz.cli.common import err, project_config


@click.command("report")
@click.option("--campaign", metavar="NAME", help="Only this campaign's posts (ids NAME/…).")
@click.option("--session", metavar="NAME", help="Only this live session's posts (live/NAME/…).")
@click.option("--from", "start", metavar="T",
              help="First day or moment, in the project's zone (2020-11-02, 2020-11-09T09:00).")
@click.option("--to", "end", metavar="T", help="Last day (inclusive) or moment (exclusive).")
@click.option("-o", "--output", metavar="FILE",
              help="Where to write it ('-': standard output). Default: report.html (or .csv, .json).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "json"]),
              help="Default: from the output file's extension, else html.")
def report(campaign: str | None, session: str | None, start: str | None, end: str | None,
           output: str | None, fmt: str | None) -> None:
    """What the coverage achieved, read back from the ledger: posts per day and channel,
    engagement over time, top posts, coverage per recommendation and theme, the State's
    positions and X spending. The page works offline (no script, nothing fetched), in the
    project's language ([project] lang), each chart with its text alternative and data table.

    \b
    Example:
      uprbuzz report --campaign followup --from 2021-03-04 -o followup.html
      uprbuzz report --session wg36 --format csv -o - | less
    """
    from uprbuzz.impact import Scope, ScopeError, check_scope, compute, parse_when, render
    from uprbuzz.live.session_file import session_names
    from uprbuzz.model import post_from_dict
    from uprbuzz.sources.gather import load_all
    from uprbuzz.store import Store

    config = project_config()
    fmt = _format(output, fmt)
    scope = Scope(campaign, session,
                  parse_when(start, config.zone) if start else None,
                  parse_when(end, config.zone, end=True) if end else None)
    if scope.since is not None and scope.until is not None and scope.until <= scope.since:
        raise ScopeError(f"--to {end!r} is before --from {start!r}: the window would be empty "
                         "(swap them?)")
    with Store.open(config) as store:
        posts = load_all(config, store).posts
        for r in store.db.query("SELECT data FROM live_posts"):
            try:  # a live post's card fields count for coverage too
                posts.append(post_from_dict(json.loads(r["data"])))
            except (ValueError, TypeError, KeyError):
                continue
        check_scope(store, scope, posts, session_names(config.root, config.schedules_dir))
        data = compute(store, config, scope, posts=posts)
    text = render(data, fmt)
    if output == "-":
        sys.stdout.write(text)
        where = "standard output"
    else:
        path = Path(output or f"report.{fmt}")
        _write(path, text)
        where = str(path)
    line = (f"{data.posts:,} post(s), {len(data.channels)} channel(s), "
            f"{data.totals.interactions:,} interaction(s)")
    if data.empty:
        line = "nothing published yet in this scope"
    (err if output == "-" else click.echo)(f"wrote {where}: {line}")


EXTENSIONS = {".html": "html", ".htm": "html", ".csv": "csv", ".json": "json"}


def _format(output: str | None, fmt: str | None) -> str:
    """--format, else the output's extension, else html; an extension that says otherwise
    (or that the report cannot write, such as .pdf) is a mistake, not a silent HTML file."""
    from uprbuzz.errors import UprbuzzError

    if not output or output == "-":
        return fmt or "html"
    ext = Path(output).suffix.lower()
    said = EXTENSIONS.get(ext)
    if ext and said is None:
        raise UprbuzzError(f"-o {output}: the report cannot write {ext} files: name it .html, "
                           ".csv or .json (or give --format and an extension it matches)")
    if fmt is not None and said is not None and said != fmt:
        raise UprbuzzError(f"-o {output} is a {ext} file but --format is {fmt}: make them "
                           "agree")
    return fmt or said or "html"


def _write(path: Path, text: str) -> None:
    from uprbuzz.errors import UprbuzzError

    if not path.parent.is_dir():
        raise UprbuzzError(f"cannot write {path}: the folder {path.parent} does not exist "
                           "(create it, or name another -o)")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UprbuzzError(f"cannot write {path}: {e.strerror or e} (name another -o)") from e
