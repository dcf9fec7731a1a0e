"""The partners' toolkit: a static site, usable offline, of a campaign's suggested posts.

    uprbuzz toolkit [--campaign NAME…] [--from T --to T] [--lang L…] -o DIR

One page per language (``DIR/<lang>/index.html``): each suggested post's text per platform with
its count, its cards and images to download with their alt text beside them, copy buttons,
share links (X's post intent, Bluesky's compose intent, a Mastodon server's share page), the
suggested time in several zones, and ``calendar.ics`` of the key moments. Words come from the
card catalogs (``cards/locales/*.po``, context ``toolkit``), dates from CLDR. See docs/toolkit.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from uprbuzz.toolkit.select import Selection, ToolkitError, parse_when, select
from uprbuzz.toolkit.site import Built

__all__ = ["Built", "Selection", "ToolkitError", "make", "parse_when", "select"]


def make(config: Any, out: Path, sel: Selection, *, zones: Sequence[str] = (),
         instances: Sequence[str] = (), stamp: datetime | None = None) -> tuple[Built, list[str]]:
    """Load the project's posts, select them and write the toolkit; (result, diagnostics)."""
    from uprbuzz.sources.gather import load_all
    from uprbuzz.toolkit import share
    from uprbuzz.toolkit.site import build

    loaded = load_all(config)
    problems = [str(d) for d in loaded.errors]
    chosen = select(loaded.posts, sel)
    if not chosen:
        raise ToolkitError("no approved, dated post matches --campaign/--from/--to/--lang")
    built = build(config, chosen, out, all_posts=loaded.posts, zones=zones,
                  instances=tuple(instances) or share.DEFAULT_MASTODON, stamp=stamp)
    return built, problems
