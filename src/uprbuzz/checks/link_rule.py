"""The link rule as a check: a post's ``link`` (its Bluesky link card) must be an http(s) web
address (:func:`uprbuzz.links.is_web_url`). Part of ``post_rules.check_post``, so ``check``
and the publish gate refuse such a post whatever its source: post file, campaign, feed item
(including one stored before the rule) or the live console."""

from __future__ import annotations

from uprbuzz.checks.media_rules import at
from uprbuzz.links import link_problem
from uprbuzz.model import Diagnostic, Post


def check_post(post: Post) -> list[Diagnostic]:
    problem = link_problem(post.link) if post.link else None
    if problem is None:
        return []
    return [at(post, None, "error", "bad-link", f"link: {problem}")]
