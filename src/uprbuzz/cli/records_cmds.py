"""`uprbuzz records ...`: the UPR recommendations as records, and the State's responses
(sources/records/ reads the files, store/records.py keeps them)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import click

from uprbuzz.cli.common import echo_json, err, project_config
from uprbuzz.errors import UprbuzzError
from uprbuzz.upr_record import PENDING, POSITIONS, Record, normalise_position

_FILE = click.Path(dir_okay=False, path_type=Path)


class UsageProblem(UprbuzzError):
    """A ``records list`` filter that can match nothing (one line, exit 2)."""

    code = "records-usage"


@click.group()
def records() -> None:
    """The recommendations a review made, and the State's responses to them.

    \b
    Each recommendation is a record keyed by its report and paragraph (A/HRC/46/15 ¶26.1),
    with its recommending States, themes, SDGs, the State's position and links to the
    official record (the UN document; the UHRI or UPR Info page when known).
    Example:
      uprbuzz records import recommendations.csv --doc A/HRC/46/15
      uprbuzz records respond responses.xlsx && uprbuzz records summary --json
    """


@records.command("import")
@click.argument("file", type=_FILE)
@click.option("--doc", metavar="SYMBOL",
              help="The report the file lists (e.g. A/HRC/46/15): needed for a table without "
                   "a doc column; for a UHRI export, imports that report's rows only.")
@click.option("--format", "fmt", type=click.Choice(
    ["auto", "csv", "xlsx", "uhri-json", "uhri-xlsx", "uprinfo-json"]), default="auto",
    show_default=True, help="The file's kind (auto: from its name and its columns).")
def import_(file: Path, doc: str | None, fmt: str) -> None:
    """Import recommendations into the state store.

    \b
    Reads the project's CSV (paragraph, recommending_states, position, ohchr_primary_theme,
    text), a UHRI export (JSON or XLSX: Document Symbol, UPR Reccomending States, UPR
    Position, Themes, Sdgs, Text starting with the paragraph) or a UPR Info search answer
    (JSON, {"rows": [...]}: matched to recommendations already imported when it does not
    name the paragraph). Importing again updates what changed and keeps what the new file
    lacks (a position it does not give, a comment, the other source's links); a stored
    position it changes (one set by `records respond`, say) is listed. A bad row stops the
    import, each named by line (CSV), row (XLSX) or index (JSON); nothing is stored then.
    Example:
      uprbuzz records import us_upr2020_recommendations.csv --doc A/HRC/46/15
      uprbuzz records import export-full-en.json --doc A/HRC/46/15
    """
    from uprbuzz.sources.records.importing import import_records
    from uprbuzz.store import Store

    config = project_config()
    with Store.open(config) as store:
        result = import_records(store, file, fmt, doc.strip() if doc else None, progress=err)
    click.echo(result.line)
    if result.changes_line:
        click.echo(result.changes_line)
    for note in result.notes:
        err(f"warning: {file}: {note}")


@records.command("list")
@click.option("--theme", help="Only themes containing this (any case): death -> Death penalty.")
@click.option("--state", help="Only recommendations from this State (its whole name, any case).")
@click.option("--position", help=f"Only this position: {', '.join(POSITIONS)} or {PENDING}.")
@click.option("--doc", metavar="SYMBOL", help="Only this report's recommendations.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of records.")
def list_(theme: str | None, state: str | None, position: str | None, doc: str | None,
          as_json: bool) -> None:
    """List recommendations in paragraph order.

    \b
    Example:
      uprbuzz records list --theme "Death penalty" --position noted
      uprbuzz records list --state Mexico --json
    """
    from uprbuzz.store import Store

    if position is not None and position.strip().casefold() != PENDING:
        try:
            normalise_position(position)
        except ValueError:
            raise UsageProblem(f"--position: unknown position {position!r}: use one of "
                               f"{', '.join(POSITIONS)} or {PENDING}") from None
    config = project_config()
    with Store.open(config) as store:
        if doc is not None:
            _known_doc(store.records.docs(), doc.strip())
        found = store.records.list(theme=theme, state=state, position=position, doc=doc)
        if not found and (theme or state):
            # nothing at all, or nothing with these filters together? Say which.
            every = store.records.list(doc=doc)
            if theme is not None:
                _known_name("--theme", theme, {t for r in every for t in r.themes}, True)
            if state is not None:
                _known_name("--state", state, {s for r in every for s in r.states}, False)
    if as_json:
        echo_json([r.as_json() for r in found])
        return
    for r in found:
        click.echo(_row(r))
    err(f"{len(found)} recommendation{'s' if len(found) != 1 else ''}")


@records.command()
@click.argument("file", type=_FILE)
@click.option("--doc", metavar="SYMBOL",
              help="The report the paragraphs belong to (default: the most recently "
                   "imported one holding each paragraph).")
def respond(file: Path, doc: str | None) -> None:
    """Record the State's positions from a CSV or XLSX file.

    \b
    Columns: paragraph,position[,comment]. Positions: supported, noted, supported in part
    (any case; "Not Supported" counts as noted, the UN's own word for it). Every row is
    checked first: an unknown paragraph, a bad position, a paragraph answered twice or (XLSX)
    a paragraph stored as a number stops it, one line per bad row, and nothing is recorded.
    In XLSX, format the paragraph column as Text: Excel turns 26.10 into the number 26.1.
    Example:
      uprbuzz records respond us_responses_add1.csv
    """
    from uprbuzz.sources.records.importing import respond as record_responses
    from uprbuzz.store import Store

    config = project_config()
    with Store.open(config) as store:
        n = record_responses(store, file, doc.strip() if doc else None)
        pending = store.records.summary(doc)["by_position"][PENDING]
    click.echo(f"recorded {n} response{'s' if n != 1 else ''} from {file} "
               f"({pending} recommendation{'s' if pending != 1 else ''} still pending)")


@records.command()
@click.option("--doc", metavar="SYMBOL", help="Only this report's recommendations.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"total", "by_position", "by_theme", "by_state"} as JSON.')
def summary(doc: str | None, as_json: bool) -> None:
    """Count recommendations by position, theme and recommending State.

    \b
    A recommendation made by several States counts once for each of them (and once for
    each of its themes); "pending" counts those the State has not answered.
    Example:
      uprbuzz records summary --json
    """
    from uprbuzz.store import Store

    config = project_config()
    with Store.open(config) as store:
        counts = store.records.summary(doc)
    if as_json:
        echo_json(counts)
        return
    click.echo(f"{counts['total']} recommendations")
    for title, key, limit in (("by position", "by_position", None),
                              ("by theme", "by_theme", 10), ("by State", "by_state", 10)):
        items = list(counts[key].items())
        click.echo(f"{title}:")
        for name, n in items[:limit]:
            click.echo(f"  {n:5d}  {name}")
        if limit and len(items) > limit:
            click.echo(f"         ... and {len(items) - limit} more (--json for all)")


def _row(r: Record) -> str:
    head = f"{r.key}  [{r.status}]  {'; '.join(r.states) or '-'}"
    body = textwrap.shorten(r.text, 100, placeholder=" ...")
    themes = f"\n    themes: {'; '.join(r.themes)}" if r.themes else ""
    return f"{head}\n    {body}{themes}\n    {r.link}"


def _known_doc(docs: list[str], doc: str) -> None:
    if doc not in docs:
        held = f"the imported ones: {', '.join(docs)}" if docs else "none is imported yet"
        raise UsageProblem(f"--doc {doc}: that report was never imported ({held}); "
                           "uprbuzz records import FILE --doc SYMBOL imports one")


def _known_name(option: str, wanted: str, names: set[str], substring: bool) -> None:
    """A filter value that names nothing stored is a mistake: say so, with what is stored."""
    import difflib

    folded = " ".join(wanted.casefold().split())
    if any((folded in n.casefold()) if substring else folded == n.casefold() for n in names):
        return  # it exists: the other filters left nothing, which is an answer, not a mistake
    if not names:
        raise UsageProblem(f"{option} {wanted!r}: no record has one (import recommendations "
                           "first: uprbuzz records import FILE)")
    ordered = sorted(names, key=str.casefold)
    by_fold = {n.casefold(): n for n in ordered}
    close = [by_fold[c] for c in difflib.get_close_matches(folded, list(by_fold), n=5,
                                                            cutoff=0.6)]
    if substring and not close:  # a misspelt word of a theme: "deth" -> "Death penalty"
        close = [n for n in ordered
                 if difflib.get_close_matches(folded, n.casefold().split(), cutoff=0.75)][:5]
    if close:
        hint = f"did you mean {', '.join(repr(c) for c in close)}?"
    else:
        shown = "; ".join(ordered[:12])
        more = f"; ... ({len(ordered)} in all: uprbuzz records summary lists them)" \
            if len(ordered) > 12 else ""
        hint = f"known: {shown}{more}"
    what = "theme contains" if substring else "State is named"
    raise UsageProblem(f"{option} {wanted!r}: no {what} that: {hint}")
