"""``uprbuzz live SESSION``, ``uprbuzz live who SESSION --at``, ``uprbuzz live align SESSION
TRANSCRIPT``, ``uprbuzz recap SESSION``."""

from __future__ import annotations

import re
import secrets
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from uprbuzz.cli.common import echo_json, project_config

if TYPE_CHECKING:
    from uprbuzz.config import Config


class LiveGroup(click.Group):
    """``live SESSION ...`` means ``live serve SESSION ...``; ``live who ...`` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


def _session(name: str) -> tuple[Any, Any]:
    from uprbuzz.errors import UprbuzzError
    from uprbuzz.live.session_file import SessionError, find_session, load_session

    config = project_config()
    try:
        path = find_session(name, config.root, config.schedules_dir)
        return config, load_session(path, config.root)
    except (FileNotFoundError, SessionError) as e:  # the user's to fix: one line, exit 2
        raise UprbuzzError(str(e)) from None


def _host_names(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    for name in value:
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?|\[?[0-9A-Fa-f:.]+\]?", name):
            raise click.BadParameter(f"{name!r} is not a host name or address (no port, no "
                                     "wildcards)")
    return value


@click.group(cls=LiveGroup)
def live() -> None:
    """Review-day live console keyed to the webcast clock.

    \b
      uprbuzz live SESSION [--host 127.0.0.1] [--port N] [--rehearse] [--speed X]
                           [--allow-host NAME] [--post-rate N]
      uprbuzz live who SESSION --at HH:MM:SS [--json]
      uprbuzz live align SESSION TRANSCRIPT.json [--dry-run] [--json]
    SESSION is a name under schedules/ (us-upr-2020) or a path to a session .toml.
    """


@live.command("serve")
@click.argument("session")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port (0: any free port).")
@click.option("--rehearse", is_flag=True, help="Replay on a simulated clock against the sandbox.")
@click.option("--speed", type=float, default=10.0, show_default=True, help="Rehearsal clock speed.")
@click.option("--keep-sandbox", is_flag=True,
              help="Rehearsal: keep what the sandbox's X and Mastodon stand-ins hold (by default "
                   "they are emptied first, so a rehearsal starts on fresh platforms).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME", callback=_host_names,
              help="Also answer to this Host name (besides 127.0.0.1, localhost, [::1] and the "
                   "--host address); repeatable.")
@click.option("--post-rate", type=click.IntRange(min=0), default=20, show_default=True,
              help="Posts per operator in any minute (0: no limit).")
def serve(session: str, host: str, port: int, rehearse: bool, speed: float, keep_sandbox: bool,
          allow_hosts: tuple[str, ...], post_rate: int) -> None:
    """Serve the console for SESSION (prints its URL with the access token).

    \b
    Example:
      uprbuzz live us-upr-2020                        # review day
      uprbuzz live us-upr-2020 --rehearse --speed 10  # practise on the sandbox
      uprbuzz live us-upr-2020 --host 0.0.0.0 --allow-host console.lan
    """
    import os

    import uvicorn

    from uprbuzz.live.app import create_app
    from uprbuzz.live.console import LiveConsole
    from uprbuzz.store import Store

    config, sess = _session(session)
    store = Store.open(config)
    if not rehearse:  # a lost ledger: refuse before the operator starts typing, not on send
        from uprbuzz.store import ledger_mark

        ledger_mark.verify(store, config.root, config.state)
    runner = None
    if rehearse:
        from uprbuzz.live.rehearse import (
            CueRunner,
            NotSandbox,
            check_sandbox,
            fresh_sandbox,
            rehearsal_console,
        )

        try:
            check_sandbox(config, sess.platforms)
            if not keep_sandbox:
                for base in fresh_sandbox(config, sess.platforms):
                    click.echo(f"sandbox reset: {base}")
        except NotSandbox as e:
            raise click.ClickException(str(e)) from e
        console = rehearsal_console(config, store, sess, speed, lead_in=30)
        runner = CueRunner(console, on_fire=lambda cid: click.echo(f"cue fired: {cid}"))
    else:
        console = LiveConsole(config, store, sess)
    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    token = os.environ.get("UPRBUZZ_LIVE_TOKEN") or secrets.token_urlsafe(24)
    console.start()
    if runner:
        runner.start()
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: anyone who can reach it and has the URL can "
                   "post to your accounts", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"uprbuzz live: {sess.title}" + (f" (REHEARSAL x{speed:g})" if rehearse else ""))
    click.echo(f"console: http://{shown}:{port}/?token={token}")
    click.echo(f"session key: {console.key}; pending posts resumed: "
               f"{len(console.store.pending(console.key))}")
    sys.stdout.flush()
    try:
        app = create_app(console, token, allowed_hosts=(host, *allow_hosts), post_rate=post_rate)
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
    finally:
        if runner:
            runner.stop()
        console.stop()
        store.close()


@live.command("who")
@click.argument("session")
@click.option("--at", "at", required=True, help="Broadcast offset, e.g. 01:02:03.")
@click.option("--json", "as_json", is_flag=True, help="Print {offset, segment, speaker, next}.")
@click.option("--no-marks", is_flag=True, help="Ignore the \"now speaking\" marks in the store.")
def who(session: str, at: str, as_json: bool, no_marks: bool) -> None:
    """Who speaks at a broadcast offset (predicted, re-anchored by the console's marks).

    \b
    Example:
      uprbuzz live who us-upr-2020 --at 00:42:10 --json
    """
    from uprbuzz.live.broadcast_clock import parse_hms
    from uprbuzz.live.speakers import Timeline

    config, sess = _session(session)
    try:
        offset = parse_hms(at)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--at") from e
    marks: dict[int, float] = {}
    if not no_marks and _has_store(config):
        from uprbuzz.store import Store
        from uprbuzz.store.live_tables import LiveStore

        with Store.open(config) as store:
            marks = LiveStore(store.db).marks(sess.id)
    res = Timeline(sess, marks).who(offset)
    if as_json:
        echo_json({"offset": res["offset"], "segment": res["segment"], "speaker": res["speaker"],
                   "next": res["next"]})
        return
    entry = res["entry"]
    now = res["speaker"] or (entry["name"] if entry else None) or "—"
    click.echo(f"{res['offset']}  {res['segment'] or 'outside the session'}  now: {now}  "
               f"next: {res['next'] or '—'}")


@live.command("align")
@click.argument("session")
@click.argument("transcript", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", help="Store key of the coverage (default: the session's; see "
                            "`uprbuzz recap --list`).")
@click.option("--dry-run", is_flag=True, help="Show what would move; store nothing.")
@click.option("--json", "as_json", is_flag=True,
              help="Print {moved: [{n, from, to, delay, webcast, ...}], median_delay, "
                   "unmatched: [...]} instead of the table.")
def align(session: str, transcript: Path, key: str | None, dry_run: bool, as_json: bool) -> None:
    """Re-time the live posts to the transcript: each post moves to the start of its
    speaker's statement (and its webcast link with it); reports the operator's median delay
    and the posts whose speaker has no statement (they keep their offset).

    TRANSCRIPT is a UN Transcripts JSON file: a list of {speaker, country_iso3, start, end,
    text} (start in seconds from the video's start), or an object with a "statements" list.
    A statement without a speaker matches by its country_iso3; a code that is no State's is
    warned about on stderr (its statements match no post).
    Running it again gives the same result; a new transcript replaces the old alignment.

    \b
    Example:
      uprbuzz live align us-upr-2020 transcript.json --dry-run
      uprbuzz live align us-upr-2020 transcript.json --json
    """
    from uprbuzz.errors import UprbuzzError
    from uprbuzz.live import align as aligning
    from uprbuzz.store import Store
    from uprbuzz.store.live_tables import LiveStore

    config, sess = _session(session)
    statements = aligning.load_transcript(transcript)  # a bad file fails before the store opens
    warnings = aligning.transcript_warnings(statements, str(transcript))
    if not _has_store(config):
        raise UprbuzzError(f"no state store at {config.state_path}: nothing was covered, "
                           "nothing to align")
    key = key or sess.id
    with Store.open(config) as store:
        live_store = LiveStore(store.db)
        posts = live_store.posts(key)
        if not posts:
            raise UprbuzzError(f"no live posts under {key!r}: nothing to align (`uprbuzz recap "
                               "--list` shows the covered sessions and their keys)")
        result = aligning.align([aligning.PostRef(p.n, p.speaker, p.offset, p.kind)
                                 for p in posts], statements)
        if not dry_run:
            live_store.set_alignment(key, {m.n: (m.to_offset, m.speaker) for m in result.moves})
    data = aligning.report(result, session=key, transcript=str(transcript), webtv=sess.webtv,
                           stored=not dry_run, warnings=warnings)
    for w in warnings:  # on stderr, as check's: the table (or the JSON) stays on stdout
        click.echo(w, err=True)
    if as_json:
        echo_json(data)
    else:
        click.echo(aligning.format_report(data), nl=False)


@click.command("recap")
@click.argument("session", required=False)
@click.option("--format", "fmt", type=click.Choice(["md", "csv"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of standard output.")
@click.option("--key", help="Store key of the coverage (default: the session's; rehearsals "
                            "have their own, printed by the console; see --list).")
@click.option("--list", "listing", is_flag=True,
              help="List the covered sessions and rehearsals (their keys) and stop.")
def recap(session: str | None, fmt: str, output: Path | None, key: str | None,
          listing: bool) -> None:
    """Export a live session's coverage in broadcast order, grouped by segment and State:
    offset, speaker, text, card images, links, webcast time. CSV starts with a UTF-8 BOM.
    Posts re-timed by `uprbuzz live align` are shown at their speaker's statement (said so).

    \b
    Example:
      uprbuzz recap us-upr-2020 --format md -o recap.md
      uprbuzz recap --list
    """
    from uprbuzz.live.recap import recap_rows, to_csv, to_markdown
    from uprbuzz.store import Store

    if listing:
        config = project_config()
        if not _has_store(config):
            raise click.ClickException(f"no state store at {config.state_path}: nothing was covered")
        from uprbuzz.store.live_keys import is_rehearsal
        from uprbuzz.store.live_tables import LiveStore

        with Store.open(config) as store:
            ls = LiveStore(store.db)
            for s in ls.sessions():
                posts = ls.posts(s["session"])
                kind = "rehearsal" if is_rehearsal(s["session"]) else "coverage"
                click.echo(f"{s['session']}\t{kind}\t{len(posts)} posts\t{s['title']}")
        return
    if not session:
        raise click.UsageError("name a SESSION (or use --list)")
    config, sess = _session(session)
    if not _has_store(config):
        raise click.ClickException(f"no state store at {config.state_path}: nothing was covered")
    with Store.open(config) as store:
        rows = recap_rows(store, sess, key, tuple(c.name for c in config.pick(sess.platforms)),
                          config=config)
    text = to_csv(rows, bom=True) if fmt == "csv" else to_markdown(rows, sess)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rows)} posts to {output}", err=True)
    else:
        click.echo(text, nl=False)


def _has_store(config: Config) -> bool:
    """A ledger to read: a PostgreSQL one, or this project's SQLite file."""
    return config.state_url is not None or config.state_path.is_file()
