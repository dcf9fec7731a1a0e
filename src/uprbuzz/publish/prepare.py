"""Turn a Post into what a platform receives: rendered card, media bytes, OutgoingParts.

Also the pre-flight validation: a post with check errors is not sent anywhere. Pillow, the
checks and the card renderer are imported here lazily, only when something is actually due.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from uprbuzz.checks.post_rules import check_post
from uprbuzz.errors import UprbuzzError
from uprbuzz.model import Diagnostic, Post
from uprbuzz.platforms.base import OutgoingMedia, OutgoingPart

if TYPE_CHECKING:
    from uprbuzz.config import Channel, Config


class PrepareError(UprbuzzError):
    """The post cannot be sent as it stands (file missing, card failed); a plain sentence."""


def render_cards(post: Post, config: Config) -> Post:
    if post.card is None:
        return post
    from uprbuzz.cards import with_rendered_card  # Pillow: only when a card is due

    try:
        return with_rendered_card(post, config)
    except Exception as e:  # a template/font problem must not stop the other posts
        raise PrepareError(f"card could not be rendered: {e}") from e


def validate(post: Post, config: Config, loaded: Sequence[Diagnostic] = (), *,
             checked: bool = False) -> list[Diagnostic]:
    """Errors that block publishing: the loader's for this file, plus the platform checks
    (skipped when ``checked``: this very content already passed them, see check_key)."""
    errors = []
    if post.source is not None:
        errors += [d for d in loaded if d.severity == "error" and d.path == post.source.path]
    found: list[Diagnostic] = []
    if not checked:
        try:
            found = check_post(post, config, cards=False)
        except Exception as e:  # a checker crash blocks (we cannot say the post is fine)
            found = [Diagnostic.at(post.source, "error", "check-crashed",
                                   f"the checks failed: {e}")]
    errors += [d for d in found if d.severity == "error"]
    seen, out = set(), []
    for d in errors:
        if str(d) not in seen:
            seen.add(str(d))
            out.append(d)
    return out


def check_key(post: Post, config: Config, content_hash: str) -> str:
    """What decides the platform checks' verdict on a ready post: its content, the checking
    code and config (the parse cache's fingerprint) and each media file's size and time (a
    replaced image is checked again). A warm publish of content that already passed skips
    measuring it, and so never imports twitter-text."""
    import hashlib
    import os

    from uprbuzz.sources.posts.collect import fingerprint

    h = hashlib.sha256(content_hash.encode() + fingerprint(config))
    for part in post.parts:
        for m in part.media:
            try:
                st = os.stat(config.root / m.path)
                h.update(f"{m.path}:{st.st_size}:{st.st_mtime_ns};".encode())
            except (OSError, ValueError):
                h.update(f"{m.path}:missing;".encode())
    return h.hexdigest()


class MediaReader:
    """Reads and probes media files once per run (a card used by many posts is read once)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._cache: dict[str, tuple[bytes, str, int, int]] = {}

    def read(self, rel: str) -> tuple[bytes, str, int, int]:
        if rel not in self._cache:
            root = self.config.root.resolve()
            path = (root / rel).resolve()
            if not path.is_relative_to(root):
                raise PrepareError(f"media {rel} is outside the project folder")
            from uprbuzz.imaging import ImageError, check_bytes, probe

            try:
                check_bytes(path.stat().st_size)  # before reading: a huge file is refused unread
                data = path.read_bytes()
            except OSError as e:
                raise PrepareError(f"media {rel} cannot be read ({e.strerror})") from e
            except ImageError as e:
                raise PrepareError(f"media {rel}: {e}") from e
            try:
                info = probe(data)
            except ImageError as e:
                raise PrepareError(f"media {rel}: {e}") from e
            self._cache[rel] = (data, info.mime, info.width, info.height)
        return self._cache[rel]


def outgoing_parts(post: Post, channel: Channel, media: MediaReader) -> list[OutgoingPart]:
    """The parts as ``channel`` receives them (its own variant, else its platform's)."""
    parts = post.parts_on(channel.name, channel.platform) or ()
    out = []
    for i, p in enumerate(parts):
        items = []
        for m in p.media:
            data, mime, w, h = media.read(m.path)
            items.append(OutgoingMedia(data, mime, "" if m.decorative else m.alt, w, h,
                                       Path(m.path).name, focus=m.focus))
        out.append(OutgoingPart(
            text=p.text, media=tuple(items), langs=tuple(post.langs),
            link=post.link if i == 0 else None, tags=tuple(post.tags),
            spoiler_text=post.content_warning, sensitive=post.sensitive))
    return out
