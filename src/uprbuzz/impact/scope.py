"""What a report covers: a campaign, a live session, a time window (``--campaign``,
``--session``, ``--from``/``--to``).

A publication (post × channel) is in scope when its post id matches and the first of its parts
was sent inside the window; every number of the report is drawn from publications in scope.
A rehearsal's live posts (``live/<session>~rehearsal-…/<n>``) are never coverage: they are in
scope only when ``--session`` names that rehearsal's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from uprbuzz.clock import window_bound
from uprbuzz.errors import UprbuzzError
from uprbuzz.store.live_keys import is_rehearsal_post, live_key


class ScopeError(UprbuzzError):
    code = "report-scope"


@dataclass(frozen=True)
class Scope:
    campaign: str | None = None  # post ids "<campaign>/…"
    session: str | None = None  # live posts "live/<session>/<n>"
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def prefixes(self) -> tuple[str, ...]:
        out = []
        if self.campaign:
            out.append(f"{self.campaign.strip('/')}/")
        if self.session:
            out.append(f"live/{self.session}/")
        return tuple(out)

    def takes_post(self, post_id: str) -> bool:
        """Both filters given: a post of either (a campaign's posts and the session's). A
        rehearsal's posts only when ``session`` is that rehearsal's key."""
        if is_rehearsal_post(post_id) and live_key(post_id) != self.session:
            return False
        pre = self.prefixes()
        return not pre or post_id.startswith(pre)

    def takes_time(self, at: datetime) -> bool:
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    def as_dict(self) -> dict[str, str | None]:
        return {"campaign": self.campaign, "session": self.session,
                "from": self.since.isoformat() if self.since else None,
                "to": self.until.isoformat() if self.until else None}


def parse_when(value: str, zone: ZoneInfo, *, end: bool = False) -> datetime:
    """A date (its whole day in the project zone: ``--to 2020-11-09`` includes the 9th) or an ISO
    time (in the project zone unless it names an offset; ``--to`` at a time is exclusive)."""
    try:
        return window_bound(value, zone, end=end)
    except ValueError:
        flag = "--to" if end else "--from"
        raise ScopeError(f"{flag} {value!r} is not a date or a time: write 2020-11-09 or "
                         "2020-11-09T14:30 (in the project's time zone)") from None
