"""Checks on a post's images that hold for every platform, and the shared image cache.

``check_post`` reports: missing files, paths outside the project folder (``../``, absolute, or
a symlink resolving outside), files that are not images, images over the limits of
:mod:`uprbuzz.imaging` (bytes, pixels, frames) or with damaged data, alt text missing (only
``decorative: true`` with an empty alt opts out), decorative images that do carry alt text,
and a part with neither text nor media. The per-platform limits (format, size, count, alt
length, re-encoded size) are in checks/x_rules.py and checks/bluesky_rules.py (values from
platforms/limits.py), which read files through
:func:`image_file` so that a file used by many posts is read and probed once per process
(keyed by path + mtime + size, then by content hash; re-encodings by hash + budget).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from uprbuzz.model import Diagnostic, Loc, Media, Part, Post
from uprbuzz.platforms.limits import X

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.imaging import ImageInfo


@dataclass(frozen=True)
class ImageFile:
    """A media file as the checks see it; ``problem`` is None when it is a readable image."""

    path: Path
    size: int = 0
    sha256: str = ""
    info: ImageInfo | None = None
    problem: str | None = None  # code of the media.py diagnostic that covers it
    detail: str = ""  # why, for a file over imaging's limits or damaged (imaging.ImageError)


@dataclass(frozen=True)
class Fit:
    size: int
    mime: str
    width: int
    height: int
    reencoded: bool
    error: str | None = None


_FILES: dict[tuple[str, int, int], ImageFile] = {}
_PROBES: dict[str, ImageInfo | tuple[str, str]] = {}  # info, or (problem code, detail)
_FITS: dict[tuple[str, int], Fit] = {}


_RESOLVED: dict[tuple[str, str], tuple[tuple[int, int, int, int], Path]] = {}


def resolve(config: Config, rel: str) -> tuple[Path | None, str | None, str]:
    """(absolute path, problem code, message) for a media path relative to the project root.

    A good path is remembered with the lstat of its lexical path, so asking again costs one
    lstat instead of a full resolve; problems are never remembered (files appear)."""
    key = (str(config.root), rel)
    hit = _RESOLVED.get(key)  # never holds a path with NUL: _resolve refuses those first
    if hit is not None:
        try:
            st = os.lstat(os.path.join(config.root, rel))
            if (st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns) == hit[0]:
                return hit[1], None, ""
        except OSError:
            pass
        del _RESOLVED[key]
    path, problem, msg = _resolve(config, rel)
    if path is not None:
        st = os.lstat(os.path.join(config.root, rel))
        _RESOLVED[key] = ((st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns), path)
    return path, problem, msg


def _resolve(config: Config, rel: str) -> tuple[Path | None, str | None, str]:
    if "\x00" in rel:  # no file system accepts it (and os calls raise ValueError on it)
        return None, "media-missing", f"media path {rel!r} contains a NUL character"
    root = config.root.resolve()
    p = Path(rel)
    if p.is_absolute() or rel.startswith(("/", "\\")):
        return None, "media-outside-root", (
            f"media path '{rel}' is absolute; give it relative to the project folder "
            f"(e.g. media/photo.jpg)")
    lexical = Path(os.path.normpath(root / p))
    if not lexical.is_relative_to(root):
        return None, "media-outside-root", (
            f"media path '{rel}' points outside the project folder; copy the file into media/")
    real = lexical.resolve()
    if not real.is_relative_to(root):
        return None, "media-outside-root", (
            f"media file '{rel}' is a symlink to {real}, outside the project folder; "
            f"copy the file into media/ instead")
    if not real.exists():
        return None, "media-missing", f"media file '{rel}' does not exist"
    if not real.is_file():
        return None, "media-missing", f"media path '{rel}' is not a file"
    return real, None, ""


def image_file(config: Config, rel: str) -> ImageFile:
    """Read and probe a media file once per (path, mtime, size); see ImageFile.problem.

    Probing is imaging.probe: a file over its limits (bytes, checked before reading; pixels and
    frames, from the header) or with damaged data is a problem, never an exception."""
    from uprbuzz.imaging import NOT_IMAGE, ImageError, check_bytes, probe

    path, problem, _ = resolve(config, rel)
    if path is None:
        return ImageFile(Path(rel), problem=problem)
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key in _FILES:
            return _FILES[key]
        try:
            check_bytes(st.st_size)  # a file over the limit is not read at all
        except ImageError as e:
            _FILES[key] = ImageFile(path, st.st_size, problem=e.code, detail=e.message)
            return _FILES[key]
        data = path.read_bytes()
    except OSError:
        return ImageFile(path, problem="media-missing")
    digest = hashlib.sha256(data).hexdigest()
    if digest not in _PROBES:
        try:
            _PROBES[digest] = probe(data)
        except ImageError as e:
            _PROBES[digest] = (e.code if e.code != "error" else NOT_IMAGE, e.message)
    got = _PROBES[digest]
    if isinstance(got, tuple):
        f = ImageFile(path, len(data), digest, problem=got[0], detail=got[1])
    else:
        f = ImageFile(path, len(data), digest, got)
    _FILES[key] = f
    return f


def fit(f: ImageFile, budget: int) -> Fit:
    """What ``imaging.fit_to_budget`` will make of the file (cached by content hash)."""
    key = (f.sha256, budget)
    if key not in _FITS:
        from uprbuzz.imaging import ImageError, fit_to_budget

        try:
            e = fit_to_budget(f.path.read_bytes(), budget)
            _FITS[key] = Fit(len(e.data), e.mime, e.width, e.height, e.reencoded)
        except (ImageError, OSError) as err:
            _FITS[key] = Fit(f.size, "", 0, 0, False, str(err))
    return _FITS[key]


def clear_cache() -> None:
    for cache in (_FILES, _PROBES, _FITS, _RESOLVED):
        cache.clear()


def at(post: Post, loc: Loc | None, severity: str, code: str, message: str) -> Diagnostic:
    """A diagnostic at ``loc``, else at the post's source, else line 1 of the post id."""
    loc = loc or post.source
    if loc is None:
        return Diagnostic(post.id, 1, 1, severity, code, message)  # type: ignore[arg-type]
    return Diagnostic(loc.path, loc.line, loc.column, severity, code, message)  # type: ignore[arg-type]


def too_many_images(post: Post, parts: tuple[Part, ...], i: int, platform: str, code: str,
                    limit: int) -> Diagnostic | None:
    """Part ``i``'s image count against ``platform``'s limit (a card counts on part 1)."""
    part, card = parts[i], i == 0 and post.card is not None
    images = len(part.media) + card
    if images <= limit:
        return None
    return at(post, part.loc, "error", code,
              f"{part_label(parts, i)} has {images} images"
              f"{' (with the rendered card)' if card else ''}; {platform} allows at most {limit}")


def part_label(parts: tuple[Part, ...], i: int) -> str:
    return "The text" if len(parts) == 1 else f"Part {i + 1} of {len(parts)}"


def all_parts(post: Post) -> Iterator[tuple[str | None, tuple[Part, ...]]]:
    """(platform, parts) for every target; the post's own parts when it targets nothing."""
    targets = post.targets
    if not targets:
        yield None, post.parts
    for name in targets:
        parts = post.parts_for(name)
        if parts is not None:
            yield name, parts


def check_post(post: Post, config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen_media: set[tuple[str, Loc | None]] = set()
    seen_parts: set[tuple[str, Loc | None]] = set()
    for _, parts in all_parts(post):
        for i, part in enumerate(parts):
            if (part.text, part.loc) not in seen_parts:
                seen_parts.add((part.text, part.loc))
                if not part.text.strip() and not part.media and not (i == 0 and post.card):
                    out.append(at(post, part.loc, "error", "empty-post",
                                  f"{part_label(parts, i)} has neither text nor an image"))
            for m in part.media:
                if (m.path, m.loc) in seen_media:
                    continue
                seen_media.add((m.path, m.loc))
                out += _check_media(post, part, m, config)
    return out


def media_problem(post: Post, part: Part, m: Media, config: Config) -> Diagnostic | None:
    """The error that keeps media ``m`` from being used (missing, outside the project, not an
    image, over imaging's limits, damaged), at its line; None when it is a readable image.
    ``check``, the publish gate (through check_post) and ``preview`` report the same line."""
    loc = m.loc or part.loc
    _, problem, msg = resolve(config, m.path)
    if problem:
        return at(post, loc, "error", problem, msg)
    f = image_file(config, m.path)
    if f.problem is None:
        return None
    if f.problem == "media-not-image":
        return at(post, loc, "error", "media-not-image",
                  f"media file '{m.path}' is not an image X or Bluesky can show "
                  f"(use {X.formats_text()})")
    if f.detail:
        return at(post, loc, "error", f.problem, f"media file '{m.path}' cannot be used: {f.detail}")
    return at(post, loc, "error", f.problem, f"media file '{m.path}' cannot be read")


def _check_media(post: Post, part: Part, m: Media, config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    loc = m.loc or part.loc
    problem = media_problem(post, part, m, config)
    if problem is not None:
        out.append(problem)
    if m.decorative and m.alt.strip():
        out.append(at(post, loc, "error", "alt-decorative",
                      f"image '{m.path}' is marked decorative but has alt text; remove "
                      f"'decorative: true' or empty the alt text"))
    elif not m.decorative and not m.alt.strip():
        out.append(at(post, loc, "error", "alt-missing",
                      f"image '{m.path}' has no alt text; describe it for people who cannot "
                      f"see it (or, only if it carries no information, set 'decorative: true' "
                      f"with an empty alt)"))
    return out
