"""``uprbuzz sandbox start | stop | status | timeline``: local X, Bluesky and Mastodon for
rehearsal, two accounts (channels) on each."""

from __future__ import annotations

import click

from uprbuzz.cli.common import echo_json, err, project_config


@click.group()
def sandbox() -> None:
    """Run local stand-ins of X, Bluesky and Mastodon for rehearsal and tests.

    Two accounts on each platform, exported as the channels x, x-es, bluesky, bluesky-es,
    mastodon and mastodon-es (UPRBUZZ_<CHANNEL>_* variables).

    \b
    Start them and point uprbuzz at them (no real credentials needed):
      eval "$(uprbuzz sandbox start)"
      uprbuzz publish
      uprbuzz sandbox timeline
    """


def _root():
    return project_config().root


@sandbox.command()
@click.option("--x-port", type=int, default=None, help="Port for the X stand-in (default: a free one).")
@click.option("--no-bluesky", is_flag=True, help="Start the X stand-in only.")
@click.option("--fresh", is_flag=True,
              help="Stop what runs and discard the kept X timeline: both platforms start empty.")
def start(x_port: int | None, no_bluesky: bool, fresh: bool) -> None:
    """Start the X and Mastodon stand-ins and the local PDS (if installed); print `export`
    lines for every sandbox channel.

    Idempotent: what already runs is kept and its exports printed again (unless --fresh).

    \b
    Example:
      eval "$(uprbuzz sandbox start)"
    """
    from uprbuzz.sandbox import manager

    try:
        state, notes = manager.start(_root(), x_port=x_port, bluesky=not no_bluesky, fresh=fresh)
    except manager.SandboxError as e:
        raise click.ClickException(str(e)) from e
    for n in notes:
        err(f"# {n}")
    for line in manager.exports(state):
        click.echo(line)


@sandbox.command()
def stop() -> None:
    """Stop the sandbox processes (the X timeline file is kept)."""
    from uprbuzz.sandbox import manager

    for n in manager.stop(_root()):
        click.echo(n)


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Show what runs, where, with which account."""
    from uprbuzz.sandbox import manager

    st = manager.status(_root())
    if as_json:
        return echo_json(st)
    for name, label in (("x", "X stand-in"), ("bluesky", "local PDS"),
                        ("mastodon", "Mastodon stand-in")):
        s = st.get(name)
        if not s:
            click.echo(f"{label}: not started")
        else:
            state = "running" if s["running"] else "not running"
            click.echo(f"{label}: {state} at {s['url']} (pid {s['pid']}, account {s['account']})")


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def timeline(as_json: bool) -> None:
    """List what each local platform holds.

    \b
    Example:
      uprbuzz sandbox timeline --json
    """
    from uprbuzz.sandbox import manager

    tl = manager.timeline(_root())
    if as_json:
        return echo_json(tl)
    for name, label in (("x", "X"), ("bluesky", "Bluesky"), ("mastodon", "Mastodon")):
        data = tl.get(name)
        if data is None:
            click.echo(f"{label}: not running")
            continue
        who = ", ".join(data.get("accounts") or [data.get("account") or "?"])
        click.echo(f"{label} ({who}; {len(data['posts'])} posts):")
        for p in data["posts"]:
            gone = " [deleted]" if p.get("deleted") else ""
            reply = " ↳" if p.get("in_reply_to") or p.get("reply") else ""
            first = p["text"].splitlines()[0] if p["text"] else "(media only)"
            click.echo(f"  {str(p.get('created_at', ''))[:19]}{reply} [{p.get('account')}] "
                       f"{first[:60]}{gone}")
            click.echo(f"      {p.get('url') or p.get('uri')}")
