"""When the publish loop will next have something to do (the scheduler's only question).

The answer is the publish loop's own rule (``uprbuzz.publish.due_rule``), not a copy of it: the
earliest moment any lane of any post is due, to be published or reported missed. The rule does
not read the clock, so the time is right whenever it is used: the daemon sleeps until it, the
tick fast path stores it, and a clock moved back makes neither say "due" where a run would do
nothing, nor "nothing due" where a run would publish.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from uprbuzz.publish.due_rule import (  # re-exported: the scheduler's names for them
    RETRY_FAILED,
    RETRY_UNCLEAR,
    next_due,
    next_local_midnight,
    post_due,
)

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.model import Post
    from uprbuzz.store.publications import PubRow

__all__ = ["RETRY_FAILED", "RETRY_UNCLEAR", "next_local_midnight", "next_wake", "post_wake"]


def next_wake(posts: Iterable[Post], ledger: Mapping[str, Sequence[PubRow]],
              config: Config) -> datetime | None:
    """The earliest moment a publish run could publish or report something (may be past)."""
    return next_due(posts, ledger, config)


def post_wake(post: Post, rows: Sequence[PubRow], config: Config) -> datetime | None:
    """The earliest moment a publish run has something to do with ``post``."""
    return post_due(post, rows, config)
