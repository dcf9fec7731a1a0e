"""Bluesky's limits on a post, as the PDS will judge it: ≤ 300 graphemes and ≤ 3,000 UTF-8
bytes per part, ≤ 4 images, each image's size after re-encoding to the configured budget
(``imaging.fit_to_budget``, the function publishing uses, so the prediction is exact),
≤ 3 languages, post tags ≤ 64 graphemes / 640 bytes (≤ 8 of them), and in-text hashtags
too long to be linked. File problems (missing, not an image, …) are media.py's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uprbuzz.checks.media_rules import at, fit, image_file, part_label, too_many_images
from uprbuzz.model import Diagnostic, Post
from uprbuzz.platforms.text_measure import TAG_GRAPHEMES, bluesky_count, graphemes, long_hashtags

if TYPE_CHECKING:
    from uprbuzz.config import Config

MAX_IMAGES = 4
MAX_LANGS = 3
MAX_TAGS = 8
TAG_BYTES = 640


def check_post(post: Post, config: Config) -> list[Diagnostic]:
    parts = post.parts_for("bluesky")
    if not parts:
        return []
    out: list[Diagnostic] = []
    if len(post.langs) > MAX_LANGS:
        out.append(at(post, None, "error", "bsky-too-many-langs",
                      f"the post has {len(post.langs)} languages ({', '.join(post.langs)}); "
                      f"Bluesky allows at most {MAX_LANGS}"))
    if len(post.tags) > MAX_TAGS:
        out.append(at(post, None, "error", "bsky-too-many-tags",
                      f"the post has {len(post.tags)} tags; Bluesky allows at most {MAX_TAGS}"))
    for tag in post.tags:
        g, b = graphemes(tag), len(tag.encode("utf-8"))
        if g > TAG_GRAPHEMES or b > TAG_BYTES:
            out.append(at(post, None, "error", "bsky-tag-too-long",
                          f"tag '{tag}' is {g} graphemes ({b} bytes); Bluesky allows "
                          f"{TAG_GRAPHEMES} graphemes and {TAG_BYTES} bytes"))
    budget = config.bluesky.image_budget
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
                          f"hashtags of at most {TAG_GRAPHEMES}, so it will stay plain text"))
        too_many = too_many_images(post, parts, i, "Bluesky", "bsky-too-many-images", MAX_IMAGES)
        if too_many:
            out.append(too_many)
        for m in part.media:
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
