"""Mastodon engagement: ``GET /api/v1/statuses/:id`` through Mastodon.py, one status a call
(the API has no batch read for statuses by id): favourites, reblogs, replies and, where the
server has quotes (4.5+), ``quotes_count``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from uprbuzz.platforms.base import Counts, Rejected, Remote


def read_metrics(status: Callable[[str], Any], remotes: Sequence[Remote]) -> dict[str, Counts]:
    """``status(id)``: MastodonPlatform's ``GET /api/v1/statuses/:id``, errors mapped."""
    out: dict[str, Counts] = {}
    for r in remotes:
        try:
            st: Any = status(r.id)
        except Rejected as e:
            if e.status in (404, 410):  # deleted (by us or a moderator): nothing to count
                continue
            raise
        out[r.id] = Counts(likes=int(st.get("favourites_count") or 0),
                           reposts=int(st.get("reblogs_count") or 0),
                           replies=int(st.get("replies_count") or 0),
                           quotes=int(st.get("quotes_count") or 0))
    return out
