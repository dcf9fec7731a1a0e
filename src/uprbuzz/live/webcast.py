"""The one rule for a link to a moment of the webcast: ``<webtv>?t=h:mm:ss``.

UN Transcripts' links jump into the video with ``?t=h:mm:ss``; UN Web TV itself documents no
time-offset parameter, so wherever a link is shown the time is printed beside it too
("at 00:31:05"). The recap uses this for every post (at the console's offset, or at the
statement's start once ``uprbuzz live align`` has re-timed the post).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def t_param(seconds: float) -> str:
    """``h:mm:ss`` (hours not padded, whole seconds, never negative): 1865 -> "0:31:05"."""
    s = max(int(seconds), 0)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def webcast_link(url: str, seconds: float) -> str:
    """``url`` pointing at ``seconds`` into the video: its query's ``t`` set (replaced if it
    had one, other parameters and the fragment kept); "" when the session has no webcast URL."""
    if not url:
        return ""
    parts = urlsplit(url)
    # the other parameters exactly as written (no re-encoding)
    query = [q for q in parts.query.split("&") if q and q.split("=", 1)[0] != "t"]
    query.append(f"t={t_param(seconds)}")
    return urlunsplit(parts._replace(query="&".join(query)))
