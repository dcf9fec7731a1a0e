"""What a publish run did, per post x platform: the values the CLI, scheduler and live mode show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from uprbuzz.platforms.base import Remote

# Outcome states: sent (now or earlier), deferred (will retry later), failed, missed (too late),
# unknown (could not tell whether it landed; reconciled next run), retracted, skipped, dry-run;
# and what a run noticed about posts changed after sending (publish/post_edits.py): renamed,
# edited, withdrawn (never to be sent).
PROBLEMS = ("failed",)
NOTICES = ("renamed", "edited", "withdrawn")


@dataclass
class PlatformOutcome:
    platform: str
    state: str
    remotes: list[Remote] = field(default_factory=list)
    message: str = ""
    not_before: datetime | None = None
    new: bool = False  # True when something was actually sent in this run

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.remotes if r.url]


@dataclass
class ReportItem:
    post_id: str
    platform: str  # "" for post-level problems (validation, unknown id)
    state: str
    message: str = ""
    urls: list[str] = field(default_factory=list)
    new: bool = False

    def as_dict(self) -> dict[str, object]:
        # "platform" repeats the lane's name for scripts written before channels existed
        return {"post": self.post_id, "channel": self.platform, "platform": self.platform,
                "state": self.state,
                "message": self.message, "urls": self.urls, "new": self.new}

    def line(self) -> str:
        where = f"{self.platform}: " if self.platform else ""
        what = f" {self.post_id}" if self.post_id else ""  # "" : the channel itself
        tail = f" -> {self.urls[0]}" if self.urls else ""
        msg = f" ({self.message})" if self.message else ""
        return f"{where}{self.state}{what}{tail}{msg}"


@dataclass
class Report:
    items: list[ReportItem] = field(default_factory=list)

    def extend(self, other: Report) -> None:
        """Add a later run's items (a tick's second pass over what its feeds brought)."""
        self.items.extend(other.items)

    def add(self, post_id: str, platform: str, state: str, message: str = "",
            urls: list[str] | None = None, new: bool = False) -> None:
        self.items.append(ReportItem(post_id, platform, state, message, list(urls or ()), new))

    def add_outcome(self, post_id: str, o: PlatformOutcome) -> None:
        self.add(post_id, o.platform, o.state, o.message, o.urls, o.new)

    def _where(self, state: str) -> list[ReportItem]:
        return [i for i in self.items if i.state == state]

    @property
    def published(self) -> list[ReportItem]:
        return [i for i in self.items if i.state == "sent" and i.new]

    @property
    def deferred(self) -> list[ReportItem]:
        return self._where("deferred") + self._where("unknown")

    @property
    def failed(self) -> list[ReportItem]:
        return self._where("failed")

    @property
    def missed(self) -> list[ReportItem]:
        return self._where("missed")

    @property
    def retracted(self) -> list[ReportItem]:
        return self._where("retracted")

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        parts = [f"{len(self.published)} published", f"{len(self.deferred)} deferred",
                 f"{len(self.failed)} failed", f"{len(self.missed)} missed"]
        if self.retracted:
            parts.append(f"{len(self.retracted)} retracted")
        changed = [i for i in self.items if i.state in NOTICES]
        if changed:
            parts.append(f"{len(changed)} changed after sending")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "summary": self.summary(),
                "items": [i.as_dict() for i in self.items]}
