"""Mastodon's limits on a post, as the server judges it: StatusLengthValidator's count
(graphemes of the content warning plus the text, a URL as 23, ``@user@domain`` as ``@user``)
up to the instance's ``max_characters`` (500 unless the channel says otherwise), at most 4
attachments, alt text (description) up to 1,500 characters, images up to the instance's size.
File problems (missing, not an image, ...) are media_rules'."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uprbuzz.checks.media_rules import at, image_file, part_label, too_many_images
from uprbuzz.model import Diagnostic, Post
from uprbuzz.platforms.limits import MASTODON, MiB
from uprbuzz.platforms.text_measure import mastodon_count

if TYPE_CHECKING:
    from uprbuzz.config import Config


def check_post(post: Post, config: Config, max_characters: int | None = None) -> list[Diagnostic]:
    parts = post.parts_for("mastodon")
    if not parts:
        return []
    lim = MASTODON
    limit = max_characters or lim.max_length
    out: list[Diagnostic] = []
    for i, part in enumerate(parts):
        label = part_label(parts, i)
        # Every part carries the post's content warning, and it counts against each part.
        count = mastodon_count(part.text, post.content_warning, limit, lim.url_chars)
        if not count.valid:
            cw = " with its content warning" if post.content_warning else ""
            out.append(at(post, part.loc, "error", "mastodon-too-long",
                          f"{label}{cw} is {count.length} characters on Mastodon; the limit "
                          f"is {limit} ({count.length - limit} over)"))
        too_many = too_many_images(post, parts, i, "Mastodon", "mastodon-too-many-images",
                                   lim.max_images)
        if too_many:
            out.append(too_many)
        for m in part.media:
            loc = m.loc or part.loc
            if len(m.alt) > lim.max_alt:
                out.append(at(post, loc, "error", "mastodon-alt-too-long",
                              f"alt text of '{m.path}' is {len(m.alt)} characters; Mastodon "
                              f"allows at most {lim.max_alt} ({len(m.alt) - lim.max_alt} over)"))
            f = image_file(config, m.path)
            if f.info is not None and f.size > lim.max_image_bytes:
                out.append(at(post, loc, "error", "mastodon-media-too-big",
                              f"'{m.path}' is {f.size:,} bytes; Mastodon accepts images up to "
                              f"{lim.max_image_bytes / MiB:g} MB"))
    return out
