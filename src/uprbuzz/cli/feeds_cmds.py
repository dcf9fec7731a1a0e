"""``uprbuzz feeds poll`` and ``uprbuzz feeds preview``."""

from __future__ import annotations

import sys
from typing import Any

import click

from uprbuzz.cli.common import echo_json, project_config


@click.group()
def feeds() -> None:
    """Turn the blog feed ([[feeds]] in uprbuzz.toml) into posts.

    \b
    Examples:
      uprbuzz feeds poll
      uprbuzz feeds preview https://example.org/blog-feed.xml
    """


@feeds.command()
@click.option("--name", "names", multiple=True, help="Poll only this feed (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def poll(names: tuple[str, ...], as_json: bool) -> None:
    """Fetch each feed now and make one post per new item.

    Draft-mode feeds write posts/feed/<slug>.md (status: draft) for review; approve-mode
    feeds queue the post directly. A new subscription posts only items newer than itself
    (plus `backfill = N`). Exit status 1 when a feed could not be read.

    \b
    Example:
      uprbuzz feeds poll --name blog
    """
    from uprbuzz.config import ConfigError
    from uprbuzz.sources.feeds.feed_fetch import FeedError
    from uprbuzz.sources.feeds.feed_poll import poll_feeds
    from uprbuzz.store import Store

    config = project_config()
    try:
        with Store.open(config) as store:
            results = poll_feeds(config, store, list(names) or None)
    except (ConfigError, FeedError) as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        echo_json([r.as_dict() for r in results])
    else:
        if not results:
            click.echo("no feeds configured ([[feeds]] in uprbuzz.toml)")
        for r in results:
            click.echo(r.summary())
            for f in r.files:
                click.echo(f"  wrote {f}")
            for w in r.warnings:
                click.echo(f"  warning: {w}")
    if any(not r.ok for r in results):
        sys.exit(1)


@feeds.command()
@click.argument("source")
@click.option("--feed", "feed_name", help="Use this configured feed's template and filters.")
@click.option("--limit", default=10, show_default=True, help="Items to show (0 = all).")
@click.option("--json", "as_json", is_flag=True, help="Print the posts as JSON.")
def preview(source: str, feed_name: str | None, limit: int, as_json: bool) -> None:
    """Show what SOURCE (a feed URL or file) would post, without posting or storing anything.

    Uses the template of --feed, else of the configured feed with the same URL, else the
    first configured feed, else "{title} {link}".

    \b
    Example:
      uprbuzz feeds preview https://www.example.org/blog-feed.xml --limit 3
    """
    from uprbuzz.config import ConfigError
    from uprbuzz.sources.feeds.feed_fetch import FeedError, read_source
    from uprbuzz.sources.feeds.feed_items import (
        FeedConfig,
        feed_configs,
        item_post,
        item_slug,
        link_problem,
        parse_feed,
        wanted,
    )

    config = project_config()
    try:
        configured = feed_configs(config)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    feed = next((f for f in configured if f.name == feed_name), None) if feed_name else None
    if feed_name and feed is None:
        raise click.ClickException(f"no feed named {feed_name!r} in uprbuzz.toml")
    feed = feed or next((f for f in configured if f.url == source), None) or (
        configured[0] if configured else FeedConfig("preview", source, platforms=config.platforms,
                                                    lang=config.lang))
    try:
        items, warnings = parse_feed(read_source(source, timeout=feed.timeout,
                                                 max_bytes=feed.max_bytes))
    except FeedError as e:
        raise click.ClickException(f"{source}: {e}") from e
    shown = items[:limit] if limit else items
    rows = []
    for it in shown:
        pid = f"feed/{item_slug(it)}"
        row: dict[str, Any] = {
            "id": pid, "key": it.key, "title": it.title,
            "published": it.published.isoformat() if it.published else None,
            "wanted": wanted(it, feed), "refused": link_problem(it), "text": None,
            "link": it.link, "image": it.image, "tags": list(it.tags), "card": None}
        if row["refused"] is None:  # an item a poll refuses is shown, flagged, not rendered
            post = item_post(it, feed, pid, at=None,
                             status="approved" if feed.mode == "approve" else "draft")
            row["text"] = post.parts[0].text
            row["card"] = None if post.card is None else {"template": post.card.template,
                                                          **dict(post.card.fields)}
        rows.append(row)
    if as_json:
        echo_json({"feed": feed.name, "items": len(items), "warnings": warnings, "posts": rows})
        return
    for w in warnings:
        click.echo(f"warning: {w}")
    refused = sum(1 for r in rows if r["refused"])
    click.echo(f"{len(items)} items; template of feed {feed.name!r} ({feed.mode} mode); "
               "nothing is posted or stored" + (f"; {refused} refused" if refused else ""))
    for r in rows:
        mark = "" if r["wanted"] else "  [filtered out by tags]"
        if r["refused"]:
            mark += "  [REFUSED]"
        click.echo(f"\n{r['id']}  ({r['published'] or 'undated'}){mark}")
        if r["refused"]:
            click.echo(f"  refused: {r['refused']}")
            continue
        click.echo(f"  {r['text']}")
        if r["image"]:
            click.echo(f"  image: {r['image']}")
