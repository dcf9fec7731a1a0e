"""X's limits on a post, as X will judge it: twitter-text v3 weighted length per part, the
number of images (an animated GIF alone), their formats and bytes, alt text length. The values
are :data:`uprbuzz.platforms.limits.X`. File problems (missing, not an image, …) are media.py's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uprbuzz.checks.media_rules import at, image_file, part_label, too_many_images
from uprbuzz.model import Diagnostic, Post
from uprbuzz.platforms.limits import MiB, X
from uprbuzz.platforms.text_measure import x_length

if TYPE_CHECKING:
    from uprbuzz.config import Config


def check_post(post: Post, config: Config) -> list[Diagnostic]:
    parts = post.parts_for("x")
    if not parts:
        return []
    out: list[Diagnostic] = []
    for i, part in enumerate(parts):
        label = part_label(parts, i)
        count = x_length(part.text)
        n = count.weighted_length
        if n > count.limit:
            out.append(at(post, part.loc, "error", "x-too-long",
                          f"{label} is {n} weighted characters on X; the limit is "
                          f"{count.limit} ({n - count.limit} over)"))
        elif n > 0 and not count.valid:
            out.append(at(post, part.loc, "error", "x-invalid-text",
                          f"{label} contains a character X rejects (U+FFFE, U+FEFF or U+FFFF)"))
        too_many = too_many_images(post, parts, i, "X", "x-too-many-images", X.max_images)
        if too_many:
            out.append(too_many)
        images = len(part.media) + (i == 0 and post.card is not None)  # for the GIF rule below
        for m in part.media:
            loc = m.loc or part.loc
            if len(m.alt) > X.max_alt:
                out.append(at(post, loc, "error", "x-alt-too-long",
                              f"alt text of '{m.path}' is {len(m.alt)} characters; X allows at "
                              f"most {X.max_alt} ({len(m.alt) - X.max_alt} over)"))
            f = image_file(config, m.path)
            if f.info is None:
                continue  # reported by the media check
            fmt = f.info.format
            if fmt not in (X.formats or (fmt,)):
                out.append(at(post, loc, "error", "x-media-format",
                              f"'{m.path}' is a {fmt} image; X accepts {X.formats_text()}"))
                continue
            animated = fmt == "GIF" and f.info.frames > 1
            limit = X.image_cap(animated)
            if f.size > limit:
                out.append(at(post, loc, "error", "x-media-too-big",
                              f"'{m.path}' is {f.size:,} bytes; X accepts "
                              f"{'animated GIFs' if animated else 'images'} up to "
                              f"{limit / MiB:g} MB ({limit:,} bytes)"))
            if X.gif_alone and animated and images > 1:
                out.append(at(post, loc, "error", "x-gif-not-alone",
                              f"'{m.path}' is an animated GIF; on X it must be the only "
                              f"image of its post"))
    return out
