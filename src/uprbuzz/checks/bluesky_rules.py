"""Bluesky's limits on a post, as the PDS will judge it: graphemes and UTF-8 bytes per part,
the number of images, each image's size after re-encoding to the configured budget
(``imaging.fit_to_budget``, the function publishing uses, so the prediction is exact),
languages, post tags (count, graphemes, bytes), in-text hashtags too long to be linked, and
alt text longer than the app shows. The values are :data:`uprbuzz.platforms.limits.BLUESKY`.
File problems (missing, not an image, …) are media.py's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uprbuzz.checks.media_rules import at, fit, image_file, part_label, too_many_images
from uprbuzz.model import Diagnostic, Post
from uprbuzz.platforms.limits import BLUESKY
from uprbuzz.platforms.text_measure import bluesky_count, graphemes, long_hashtags

if TYPE_CHECKING:
    from uprbuzz.config import Config


def check_post(post: Post, config: Config) -> list[Diagnostic]:
    parts = post.parts_for("bluesky")
    if not parts:
        return []
    lim = BLUESKY.for_account(config.bluesky.image_budget)  # as BlueskyPlatform.limits
    out: list[Diagnostic] = []
    if len(post.langs) > lim.max_langs:
        out.append(at(post, None, "error", "bsky-too-many-langs",
                      f"the post has {len(post.langs)} languages ({', '.join(post.langs)}); "
                      f"Bluesky allows at most {lim.max_langs}"))
    if len(post.tags) > lim.max_tags:
        out.append(at(post, None, "error", "bsky-too-many-tags",
                      f"the post has {len(post.tags)} tags; Bluesky allows at most {lim.max_tags}"))
    for tag in post.tags:
        g, b = graphemes(tag), len(tag.encode("utf-8"))
        if g > lim.max_tag_graphemes or b > lim.max_tag_bytes:
            out.append(at(post, None, "error", "bsky-tag-too-long",
                          f"tag '{tag}' is {g} graphemes ({b} bytes); Bluesky allows "
                          f"{lim.max_tag_graphemes} graphemes and {lim.max_tag_bytes} bytes"))
    budget = lim.max_image_bytes
    for i, part in enumerate(parts):
        label = part_label(parts, i)
        c = bluesky_count(part.text)
        if c.graphemes > c.limit:
            out.append(at(post, part.loc, "error", "bsky-too-long",
                          f"{label} is {c.graphemes} graphemes on Bluesky; the limit is "
                          f"{c.limit} ({c.graphemes - c.limit} over)"))
        if c.bytes > c.byte_limit:
            out.append(at(post, part.loc, "error", "bsky-too-many-bytes",
                          f"{label} is {c.bytes:,} bytes in UTF-8 on Bluesky; the limit is "
                          f"{c.byte_limit:,} ({c.bytes - c.byte_limit:,} over)"))
        for tag in long_hashtags(part.text):
            out.append(at(post, part.loc, "warning", "bsky-hashtag-too-long",
                          f"hashtag #{tag[:20]}… is {graphemes(tag)} graphemes; Bluesky links "
                          f"hashtags of at most {lim.max_tag_graphemes}, so it will stay plain text"))
        too_many = too_many_images(post, parts, i, "Bluesky", "bsky-too-many-images", lim.max_images)
        if too_many:
            out.append(too_many)
        for m in part.media:
            if len(m.alt) > lim.max_alt:  # the PDS takes it; the app shows only this much
                out.append(at(post, m.loc or part.loc, "warning", "bsky-alt-too-long",
                              f"alt text of '{m.path}' is {len(m.alt)} characters; the Bluesky "
                              f"app shows at most {lim.max_alt} ({len(m.alt) - lim.max_alt} over)"))
            f = image_file(config, m.path)
            if f.info is None:
                continue  # reported by the media check
            r = fit(f, budget)
            loc = m.loc or part.loc
            if r.error:
                out.append(at(post, loc, "error", "bsky-image-too-big",
                              f"'{m.path}' is {f.size:,} bytes and cannot be re-encoded under "
                              f"Bluesky's {budget:,}-byte limit ({r.error})"))
            elif r.reencoded:
                why = (f"is {f.size:,} bytes" if f.size > budget
                       else f"is a {f.info.format} image")
                out.append(at(post, loc, "warning", "bsky-image-reencoded",
                              f"'{m.path}' {why}; for Bluesky it will be re-encoded to "
                              f"{r.size:,} bytes ({r.mime.split('/')[-1].upper()}, "
                              f"{r.width}×{r.height}) to fit the {budget:,}-byte limit"))
    return out
