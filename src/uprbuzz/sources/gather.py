"""Every source of Posts in one call: queue files, campaign occurrences, stored posts (feeds).

Downstream code (plan, publish, scheduler) asks here and never knows which source made a Post.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uprbuzz.model import Loaded
from uprbuzz.sources.campaigns.campaign_posts import load_campaigns
from uprbuzz.sources.posts.collect import load_queue

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store

__all__ = ["Loaded", "load_all"]


def load_all(config: Config, store: Store | None = None) -> Loaded:
    """All posts the project defines, with the diagnostics met while reading them."""
    out = load_queue(config, store)
    # Campaign rules that post from records read them from ``store`` (without one, from the
    # project's ledger if it exists), once per load and only when such a rule exists.
    out.extend(load_campaigns(config, store))
    if store is not None:
        out.posts.extend(store.posts.stored())
    return out
