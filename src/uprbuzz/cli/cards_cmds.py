"""`uprbuzz render` (one card to a file) and `uprbuzz preview` (contact sheet for a reviewer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from uprbuzz.cli.common import echo_json, err, project_config

SIZES = ("1600x900", "1080x1080")


def _errors() -> tuple[type[Exception], ...]:
    from uprbuzz.cards.brand import BrandError
    from uprbuzz.cards.fonts import FontError
    from uprbuzz.cards.renderer import CardError
    from uprbuzz.cards.templates import TemplateError
    from uprbuzz.imaging import ImageError

    return (BrandError, FontError, CardError, TemplateError, ImageError)


def _today(config: Any) -> Any:
    from uprbuzz.clock import default_clock

    return default_clock().now().astimezone(config.zone).date()


@click.command("render")
@click.argument("template")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A template field (repeat).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file (.png or .jpg; default format: PNG, JPEG for photo cards).")
@click.option("--size", type=click.Choice(SIZES), default=SIZES[0], show_default=True)
@click.option("--alt", default=None, help="Alt text to use instead of the generated one.")
@click.option("--json", "as_json", is_flag=True, help="Print {path, width, height, bytes, alt}.")
def render(template: str, sets: tuple[str, ...], output: str, size: str, alt: str | None,
           as_json: bool) -> None:
    """Render a share card from TEMPLATE, a card template's name (docs/cards.md lists them and
    their fields; an unknown name is answered with the list).

    \b
    Example:
      uprbuzz render recommendation --set state=Slovakia --set paragraph=26.1 \\
        --set "text=Consider ratifying all remaining human rights conventions" -o card.png
    """
    from uprbuzz.cards.encode import budget_for, encode

    config = project_config()
    fields: dict[str, str] = {}
    for s in sets:
        key, eq, value = s.partition("=")
        if not eq or not key.strip():
            raise click.BadParameter(f"{s!r} is not KEY=VALUE", param_hint="--set")
        fields[key.strip()] = value
    from uprbuzz.cards.renderer import render as do_render

    try:
        out = do_render(template, fields, size, config, today=_today(config))
        kind = out.kind
        suffix = Path(output).suffix.lower()
        if suffix in (".jpg", ".jpeg"):
            kind = "photo"
        elif suffix == ".png":
            kind = "flat"
        enc = encode(out.image, kind, budget_for(config))
    except _errors() as e:
        raise click.ClickException(str(e)) from e
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(enc.data)
    for w in out.warnings:
        err(f"warning: {w}")
    text = alt or out.alt
    if as_json:
        echo_json({"path": str(path), "width": enc.width, "height": enc.height,
                   "bytes": len(enc.data), "alt": text, "aspect": enc.aspect,
                   "format": enc.format, "warnings": out.warnings})
    else:
        click.echo(f"{path}: {enc.width}x{enc.height} {enc.format} {len(enc.data):,} bytes")
        click.echo(f"alt: {text}")


@click.command("preview")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Contact sheet to write (PNG).")
@click.option("--columns", default=3, show_default=True, type=click.IntRange(1, 8))
def preview(paths: tuple[str, ...], output: str, columns: int) -> None:
    """Contact sheet of every queued post's images (media and rendered cards) with alt text.

    PATHS limit it to those post files or folders (default: every post).

    \b
    Example:
      uprbuzz preview posts/review -o review-sheet.png
    """
    from uprbuzz.cards import render_card
    from uprbuzz.cards.sheet import Tile, contact_sheet
    from uprbuzz.checks.media_rules import media_problem

    config = project_config()
    posts = _load_posts(config, paths)
    tiles: list[Tile] = []
    for post in posts:
        if post.card is not None:
            try:
                m = render_card(post.card, config)
                tiles.append(Tile(post.id, "card " + post.card.template, config.root / m.path, m.alt))
            except _errors() as e:
                tiles.append(Tile(post.id, "card " + post.card.template, None, "", error=str(e)))
        for i, part in enumerate(post.parts, 1):
            for m in part.media:
                # a file check would refuse (missing, over the image limits, damaged) is never
                # opened: its tile and a file:line line say why
                problem = media_problem(post, part, m, config)
                if problem is not None:
                    err(str(problem))
                tiles.append(Tile(post.id, f"part {i}", config.root / m.path, m.alt, m.decorative,
                                  error=problem.message if problem is not None else ""))
    if not tiles:
        raise click.ClickException("no post has images or cards to preview")
    sheet = contact_sheet(tiles, columns)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output, "PNG", compress_level=6)
    missing = sum(1 for t in tiles if not t.alt.strip() and not t.decorative)
    click.echo(f"{output}: {len(tiles)} image(s) from {len(posts)} post(s)"
               + (f"; {missing} without alt text" if missing else ""))


def _load_posts(config: Any, paths: tuple[str, ...]) -> list[Any]:
    wanted = [Path(p).resolve() for p in paths]

    def keep(src: str | None) -> bool:
        if not wanted:
            return True
        if not src:
            return False
        p = (config.root / src).resolve()
        return any(p == w or w in p.parents for w in wanted)

    from uprbuzz.sources.gather import load_all

    loaded = load_all(config)
    for d in loaded.errors:
        err(str(d))
    return [p for p in loaded.posts if keep(p.source.path if p.source else None)]
