"""Every source of Posts in one call: queue files, campaign occurrences, stored posts (feeds).

Downstream code (plan, publish, scheduler) asks here and never knows which source made a Post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from uprbuzz.model import Diagnostic, Post

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store


@dataclass
class Loaded:
    posts: list[Post] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def extend(self, other: "Loaded") -> None:
        self.posts.extend(other.posts)
        self.diagnostics.extend(other.diagnostics)


def load_all(config: "Config", store: "Store | None" = None) -> Loaded:
    """All posts the project defines, with the diagnostics met while reading them."""
    from uprbuzz.queue import load_queue

    out = load_queue(config, store)
    try:
        from uprbuzz.campaigns import load_campaigns
    except ImportError:  # campaigns not built yet
        pass
    else:
        out.extend(load_campaigns(config, store))
    if store is not None:
        out.posts.extend(store.posts.stored())
    return out
