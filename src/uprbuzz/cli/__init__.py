"""The ``uprbuzz`` command. Subcommands are imported only when invoked, so that
``uprbuzz tick`` with nothing due starts fast (no platform SDK, no Pillow)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from uprbuzz import __version__
from uprbuzz.errors import UprbuzzError, missing_from

# command name -> "module:attribute" (one module per area under uprbuzz.cli)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("uprbuzz.cli.queue_cmds:check", "Check posts, schedules and config as the platforms will judge them."),
    "measure": ("uprbuzz.cli.measure_cmd:measure", "Show how each platform counts a text."),
    "plan": ("uprbuzz.cli.queue_cmds:plan", "List upcoming publications in time order, with per-day totals."),
    "publish": ("uprbuzz.cli.publish_cmds:publish", "Publish due (or named) approved posts exactly once."),
    "status": ("uprbuzz.cli.publish_cmds:status", "Show every publication's state, links and errors."),
    "state": ("uprbuzz.cli.state_cmds:state", "Look after the ledger: rebuild it from the platforms, copy it (SQLite, PostgreSQL)."),
    "retract": ("uprbuzz.cli.publish_cmds:retract", "Delete a published post (and its thread) everywhere."),
    "sandbox": ("uprbuzz.cli.sandbox_cmds:sandbox", "Run local stand-ins of X and Bluesky for rehearsal and tests."),
    "run": ("uprbuzz.cli.schedule_cmds:run", "Run the scheduler daemon (publishes each post on time)."),
    "tick": ("uprbuzz.cli.schedule_cmds:tick", "Publish what is due now (for cron / CI schedules)."),
    "engagement": ("uprbuzz.cli.engagement_cmds:engagement", "Likes, reposts, replies read back after publishing: snapshot, show."),
    "feeds": ("uprbuzz.cli.feeds_cmds:feeds", "Turn the blog feed into posts (poll, preview)."),
    "render": ("uprbuzz.cli.cards_cmds:render", "Render a share card from a template."),
    "preview": ("uprbuzz.cli.cards_cmds:preview", "Contact sheet of every queued post's images with alt text."),
    "live": ("uprbuzz.cli.live_cmds:live", "Review-day live console keyed to the webcast clock."),
    "recap": ("uprbuzz.cli.live_cmds:recap", "Export a live session's coverage (Markdown or CSV)."),
    "records": ("uprbuzz.cli.records_cmds:records", "UPR recommendations as records: import, list, the State's responses, summary."),
    "toolkit": ("uprbuzz.cli.toolkit_cmd:toolkit", "Static, offline site of suggested posts for partner organisations."),
    "report": ("uprbuzz.cli.report_cmd:report", "Impact report: posts, engagement, coverage, positions, X spend (HTML, CSV, JSON)."),
}


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a problem the user can fix ends in one line and exit 2."""
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader that left early shows here, not in the exit's flush
            return result
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            if not _stdout_closed():
                _bug()  # a broken pipe to something else (a socket): not the reader leaving
            _reader_left()
        except UprbuzzError as e:
            _fail(str(e) if str(e).startswith(e.where or "\0") else f"error: {e}")
        except ImportError as e:
            missing = missing_from(e)
            if missing is None:
                _bug()  # one of uprbuzz's own modules failed to import
            _fail(f"error: {missing}")
        except Exception:
            _bug()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        target, _ = COMMANDS[name]
        mod, attr = target.split(":")
        # Imported unconditionally: a missing third-party package surfaces in invoke() above as
        # one line naming it; a broken uprbuzz module is a bug and shows its traceback.
        cmd: click.Command = getattr(importlib.import_module(mod), attr)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table above: listing commands must not import them all.
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _fail(line: str) -> None:
    click.echo(f"uprbuzz: {line}", err=True)
    raise SystemExit(2)


# 128 + SIGPIPE: what a shell reports for `seq 1000000 | head -1`'s seq, so a pipeline run
# with `set -o pipefail` sees uprbuzz as it sees any Unix tool. (click alone exits 1, Python's
# own advice too; 1 is uprbuzz's "check found problems", so it would mislead here.)
EXIT_PIPE_CLOSED = 141


def _stdout_closed() -> bool:
    """Whether our stdout is a pipe whose reader has gone (poll reports an error on it)."""
    import select

    if not hasattr(select, "poll"):  # Windows: no poll; a broken pipe there is stdout's
        return True
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (OSError, ValueError):  # no real stdout (a test runner's buffer): not a pipe
        return False


def _reader_left() -> None:
    """The reader of our output closed it (`uprbuzz records list | head -1`): not a bug, and
    nothing to say. Leave quietly, as Unix tools do; stdout goes to /dev/null so the exit's
    own flush of what is still buffered cannot fail again and print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(EXIT_PIPE_CLOSED)


def _bug() -> None:
    """Anything else is a bug in uprbuzz: the traceback, and a line saying so."""
    import traceback

    traceback.print_exc()
    click.echo(f"uprbuzz {__version__}: this is a bug in uprbuzz, not a problem with your "
               "project: please report it with the traceback above", err=True)
    raise SystemExit(70)  # EX_SOFTWARE


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="uprbuzz")
@click.option(
    "-C", "--project", "project", type=click.Path(file_okay=False, exists=True),
    envvar="UPRBUZZ_ROOT", help="Project folder (holding uprbuzz.toml). Default: search upwards from cwd.",
)
@click.pass_context
def main(ctx: click.Context, project: str | None) -> None:
    """uprbuzz: publicity and live coverage for UN Universal Periodic Review campaigns.

    Posts are files in posts/ (Markdown with YAML front matter), campaigns are
    schedules/*.toml, settings are in uprbuzz.toml, credentials come from UPRBUZZ_*
    environment variables (see `uprbuzz sandbox start` for local ones).

    \b
    Example:
      uprbuzz check && uprbuzz plan --days 14
    """
    ctx.ensure_object(dict)
    ctx.obj["project"] = project
