"""``uprbuzz toolkit``: the partners' toolkit, a static site of the suggested posts."""

from __future__ import annotations

from pathlib import Path

import click

from uprbuzz.cli.common import err, project_config


@click.command("toolkit")
@click.option("--campaign", "campaigns", multiple=True, metavar="NAME",
              help="Only this campaign (or post folder); repeatable.")
@click.option("--from", "start", metavar="T", help="First day or moment (2020-11-02, 2020-11-09T09:00).")
@click.option("--to", "end", metavar="T", help="Last day (inclusive) or moment (exclusive).")
@click.option("--lang", "langs", multiple=True, metavar="L", help="Only posts in this language; repeatable.")
@click.option("--zone", "zones", multiple=True, metavar="ZONE",
              help="Show suggested times in this zone (repeatable; default: the project's, "
                   "Geneva, UTC, New York, Los Angeles).")
@click.option("--mastodon", "instances", multiple=True, metavar="HOST",
              help="Mastodon servers offered for sharing (repeatable).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder to write the site into.")
def toolkit(campaigns: tuple[str, ...], start: str | None, end: str | None,
            langs: tuple[str, ...], zones: tuple[str, ...], instances: tuple[str, ...],
            output: str) -> None:
    """A static site for partner organisations, usable offline: each suggested post's text per
    platform (with counts), its cards with alt text, copy buttons, share links, the suggested
    time in several zones, and an .ics calendar of the key moments; a page per language.

    \b
    Example:
      uprbuzz toolkit --campaign countdown --campaign review -o toolkit/
    """
    from uprbuzz.clock import default_clock
    from uprbuzz.toolkit import Selection, make, parse_when

    config = project_config()
    sel = Selection(tuple(campaigns),
                    parse_when(start, config.zone) if start else None,
                    parse_when(end, config.zone, end=True) if end else None, tuple(langs))
    built, problems = make(config, Path(output), sel, zones=zones, instances=instances,
                           stamp=default_clock().now())
    for p in problems:
        err(p)
    for w in built.warnings:
        err(f"warning: {w}")
    for lang, page in sorted(built.pages.items()):
        click.echo(f"{page}: {lang}")
    click.echo(f"{built.out}: {built.posts} post(s), {built.images} image(s), "
               f"{len(built.pages)} language(s)")
