"""``uprbuzz measure [--json] TEXT``: what X, Bluesky and Mastodon will count for a text
(``-``: stdin)."""

from __future__ import annotations

import sys

import click


@click.command("measure")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def measure(text: str, as_json: bool) -> None:
    """Show how X, Bluesky and Mastodon count TEXT (use - to read it from standard input).

    Mastodon's limit is the default 500; an instance may allow more.

    \b
    Example:
      uprbuzz measure "Watch the review live at 14:30 Geneva time #UPR37"
      uprbuzz measure --json - < posts/review/watch-live.md
    """
    from uprbuzz.platforms.text_measure import measure as count

    if text == "-":
        text = sys.stdin.read()
        if text.endswith("\n"):  # the newline a shell or editor adds is not part of the post
            text = text[:-1]
    result = count(text)
    if as_json:
        from uprbuzz.cli.common import echo_json

        echo_json(result)
    else:
        click.echo(render(result))


def render(r: dict) -> str:
    x, b, m = r["x"], r["bluesky"], r["mastodon"]

    def verdict(ok: bool) -> str:
        return "ok" if ok else "TOO LONG"

    rows = [
        ("platform", "counts", "limit", ""),
        ("X", f"{x['weighted_length']} weighted", str(x["limit"]),
         "ok" if x["valid"] else "empty" if x["weighted_length"] == 0
         else "TOO LONG" if x["weighted_length"] > x["limit"] else "INVALID CHARACTER"),
        ("Bluesky", f"{b['graphemes']} graphemes", str(b["limit"]), verdict(b["graphemes"] <= b["limit"])),
        ("", f"{b['bytes']} bytes", str(b["max_bytes"]), verdict(b["bytes"] <= b["max_bytes"])),
        ("Mastodon", f"{m['length']} characters", str(m["limit"]), verdict(m["valid"])),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if b["facets"]:
        lines.append("")
        lines.append("Bluesky facets:")
        for f in b["facets"]:
            lines.append(f"  {f['type']:<8} bytes {f['byte_start']}-{f['byte_end']}  {f['value']}")
    return "\n".join(lines)
