"""The store keys of live coverage: a session's own key, and its rehearsals'.

A live post's id is ``live/<key>/<n>`` (``store.live_tables``). A rehearsal is stored under
``<session>~rehearsal-<stamp>`` (``live.rehearse``) so that it never mixes with the day's
coverage: the impact report and the engagement read-back leave such keys out. This is the one
place that spells the rehearsal key; everything else asks :func:`is_rehearsal`.
"""

from __future__ import annotations

from datetime import datetime

REHEARSAL_MARK = "~rehearsal-"
LIVE_PREFIX = "live/"


def rehearsal_key(session_id: str, at: datetime) -> str:
    return f"{session_id}{REHEARSAL_MARK}{at:%Y%m%d-%H%M%S}"


def is_rehearsal(key: str) -> bool:
    """A rehearsal's store key (``us-upr-2020~rehearsal-20201109-143000``)."""
    return REHEARSAL_MARK in key


def live_key(post_id: str) -> str | None:
    """``live/<key>/<n>`` -> ``<key>``; None for a post that is not live coverage."""
    if not post_id.startswith(LIVE_PREFIX):
        return None
    key, sep, _ = post_id[len(LIVE_PREFIX):].partition("/")
    return key if sep and key else None


def is_rehearsal_post(post_id: str) -> bool:
    key = live_key(post_id)
    return key is not None and is_rehearsal(key)
