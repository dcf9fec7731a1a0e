"""Read every post file once, reusing cached parse+check results when nothing changed.

The cache key of a file is sha256(fingerprint + bytes), where the fingerprint covers the config,
the uprbuzz version and the checking code; media a post uses are re-stat'ed (size, mtime) so a
replaced image re-runs its checks. A cached row is ``meta \\n extra \\n post`` (three JSON
documents): the warm ``check`` decodes only the small meta (diagnostics, id, time, status);
``plan`` also decodes extra (platforms, per-part lengths), and a post only when it needs one. Nothing here imports YAML, Pillow or twitter-text unless a file
actually has to be parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uprbuzz import __version__
from uprbuzz.model import Diagnostic, Loaded, Post, post_from_dict, post_to_dict

if TYPE_CHECKING:
    from uprbuzz.config import Config
    from uprbuzz.store import Store

CACHE_FORMAT = 1
# Code whose change can change a cached result: the post parsers (this folder), the model and
# config (the package root), checks/ and cards/ (the card check resolves templates). Listing folders rather than
# files keeps the cache honest when a module is split or added; it costs ~60 stat calls.
_CODE_DIRS = (".", "../../checks", "../../cards", "../..")


@dataclass
class FileResult:
    rel: str
    meta: dict[str, Any]
    post_json: bytes | None = None  # undecoded (cache hit) ...
    _post: Post | None = None  # ... or decoded
    cached: bool = False
    extra_json: bytes | None = None  # targets, nparts, lengths: undecoded ...
    _extra: dict[str, Any] | None = None  # ... or decoded

    @property
    def extra(self) -> dict[str, Any]:
        if self._extra is None:
            self._extra = json.loads(self.extra_json) if self.extra_json else {}
        return self._extra

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [Diagnostic(self.rel, *d) for d in self.meta["diags"]]

    @property
    def has_errors(self) -> bool:
        return any(d[2] == "error" for d in self.meta["diags"])

    @property
    def post(self) -> Post | None:
        if self._post is None and self.post_json and self.post_json != b"null":
            self._post = post_from_dict(json.loads(self.post_json))
        return self._post


@dataclass
class Collected:
    files: list[FileResult] = field(default_factory=list)
    hits: int = 0

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]

    def loaded(self) -> Loaded:
        """As a Loaded: files with errors give their diagnostics and no Post."""
        out = Loaded()
        for f in self.files:
            out.diagnostics.extend(f.diagnostics)
            if not f.has_errors and f.post is not None:
                out.posts.append(f.post)
        return out


_fingerprints: dict[int, tuple[Config, bytes]] = {}


def fingerprint(config: Config) -> bytes:
    """Everything besides the file's bytes that can change a file's result. Computed once per
    config object (one run): it stats every checking module, and publish asks once per post."""
    got = _fingerprints.get(id(config))
    if got is None or got[0] is not config:
        got = _fingerprints[id(config)] = (config, _fingerprint(config))
    return got[1]


def _fingerprint(config: Config) -> bytes:
    here = Path(__file__).parent
    code = []
    for p in (p for d in _CODE_DIRS for p in sorted((here / d).glob("*.py"))):
        try:
            st = p.stat()
            code.append((f"{p.parent.name}/{p.name}", st.st_size, st.st_mtime_ns))
        except OSError:  # vanished between glob and stat
            continue
    data = {"v": CACHE_FORMAT, "version": __version__, "code": code, "raw": config.raw,
            "tz": config.timezone, "lang": config.lang, "platforms": config.platforms,
            "posts": config.posts_dir, "budget": config.bluesky.image_budget}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).digest()


def walk(folder: str | Path) -> list[str]:
    """``*.md`` files under ``folder`` as sorted path strings (os.scandir and plain strings:
    rglob and Path objects cost ~0.4 s at 10,000 files, more than the whole warm check)."""
    out: list[str] = []
    stack = [str(folder)]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    if e.name.startswith("."):
                        continue
                    if e.is_dir():
                        stack.append(e.path)
                    elif e.name.endswith(".md"):
                        out.append(e.path)
        except OSError:
            continue
    out.sort()
    return out


def files_for(config: Config, paths: Iterable[str | Path] | None) -> list[str]:
    if paths is None:
        return walk(config.root / config.posts_dir)
    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(walk(p))
        elif p.suffix == ".md" or p.exists():
            out.append(str(p))
    return out


def _rel(config: Config, path: str, root: str) -> str:
    if path.startswith(root):
        return path[len(root):].replace(os.sep, "/")
    from uprbuzz.sources.posts.post_parse import rel_path  # YAML: only when a file is parsed

    return rel_path(config, Path(path))


def _deps_ok(root: Path, deps: list[list[Any]]) -> bool:
    for rel, size, mtime in deps:
        try:
            st = os.stat(root / rel)
        except (OSError, ValueError):  # ValueError: a NUL in a mangled path
            if size != -1:
                return False
            continue
        if st.st_size != size or st.st_mtime_ns != mtime:
            return False
    return True


def _deps(root: Path, post: Post | None) -> list[list[Any]]:
    if post is None:
        return []
    paths = {m.path for p in post.parts for m in p.media}
    for ov in post.overrides.values():
        paths.update(m.path for p in ov.parts or () for m in p.media)
        paths.update(m.path for m in ov.media or ())
    out = []
    for rel in sorted(paths):
        try:
            st = os.stat(root / rel)
            out.append([rel, st.st_size, st.st_mtime_ns])
        except (OSError, ValueError):
            out.append([rel, -1, 0])
    return out


def _meta(post: Post | None, diags: list[Diagnostic], checked: bool, deps: list[list[Any]],
          lengths: dict[str, list[list[Any]]] | None, channels: list[str]) -> dict[str, Any]:
    m: dict[str, Any] = {"checked": checked, "deps": deps, "lengths": lengths,
                         "diags": [[d.line, d.column, d.severity, d.code, d.message] for d in diags]}
    if post is not None:
        m.update(id=post.id, at=post.at.isoformat() if post.at else None, status=post.status,
                 targets=channels, nparts=len(post.parts))
    return m


_EXTRA = ("targets", "nparts", "lengths")


def _split_meta(m: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({k: v for k, v in m.items() if k not in _EXTRA},
            {k: m[k] for k in _EXTRA if k in m})


def lengths_of(post: Post, config: Config) -> dict[str, list[list[Any]]] | None:
    """Per platform the post is routed to, per part: [length, limit, valid] as that platform
    counts it (for its first channel's variant and, on Mastodon, that channel's limit)."""
    from uprbuzz.platforms.limits import MASTODON
    from uprbuzz.platforms.text_measure import bluesky_count, mastodon_count, x_length

    out: dict[str, list[list[Any]]] = {}
    for ch in config.route(post):
        if ch.platform in out:
            continue
        rows = []
        for part in post.parts_on(ch.name, ch.platform) or ():
            if ch.platform == "x":
                c = x_length(part.text)
                rows.append([c.weighted_length, c.limit, c.valid])
            elif ch.platform == "bluesky":
                b = bluesky_count(part.text)
                rows.append([b.graphemes, b.limit, b.valid])
            else:
                m = mastodon_count(part.text, post.content_warning,
                                   ch.max_characters or MASTODON.max_length)
                rows.append([m.length, m.limit, m.valid])
        out[ch.platform] = rows
    return out


def post_checks(post: Post, config: Config) -> list[Diagnostic]:
    """The platform rules (owned by checks/), for a file being parsed."""
    from uprbuzz.checks.post_rules import check_post  # Pillow & co: only when a file is parsed

    return check_post(post, config)


# Post-level messages of the platform checks name no position: point them at their key.
_KEY_OF = {"bsky-too-many-langs": "lang", "bsky-too-many-tags": "tags", "bsky-tag-too-long": "tags",
           "card": "card"}


def _relocate(d: Diagnostic, rel: str, keys: dict[str, tuple[int, int]]) -> Diagnostic:
    key = _KEY_OF.get(d.code, "")
    if d.path == rel and (d.line, d.column) == (1, 1) and key in keys:
        line, col = keys[key]
        return Diagnostic(d.path, line, col, d.severity, d.code, d.message)
    return d


def _fresh(data: bytes, rel: str, config: Config, check: bool) -> FileResult:
    from uprbuzz.sources.posts.post_parse import parse_post_full  # YAML: only when parsing

    post, diags, keys = parse_post_full(data, rel, config)
    lengths = None
    if check and post is not None:
        seen = {(d.line, d.column, d.code) for d in diags}
        for d in post_checks(post, config):
            d = _relocate(d, rel, keys)
            if (d.line, d.column, d.code) not in seen:
                diags.append(d)
        lengths = lengths_of(post, config)
    diags.sort(key=lambda d: (d.line, d.column))
    channels = [c.name for c in config.route(post)] if post is not None else []
    meta, extra = _split_meta(_meta(post, diags, check, _deps(config.root, post), lengths,
                                    channels))
    meta["keys"] = {k: keys[k] for k in ("id", "at") if k in keys}
    return FileResult(rel, meta, _post=post, _extra=extra)


def _read(path: str) -> bytes:
    """os.read: ~30% less overhead than open().read() for thousands of small files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, 1 << 16)
        if len(data) < 1 << 16:
            return data
        chunks = [data]
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def collect(config: Config, store: Store | None = None,
            paths: Iterable[str | Path] | None = None, check: bool = True,
            progress: Callable[[int, int], None] | None = None) -> Collected:
    """Every post file's result; with ``check`` the platform rules ran on it too.

    ``progress(done, total)`` is called now and then while files are re-parsed (cold runs).
    A scan of the whole project also drops cache rows of files that no longer exist.
    """
    fp = hashlib.sha256(fingerprint(config))
    cache = store.cache.load_all() if store is not None else {}
    root = str(config.root) + os.sep
    out = Collected()
    misses: list[tuple[str, str, bytes]] = []
    fresh_posts: list[Post] = []
    files = files_for(config, paths)
    seen: set[str] = set()
    for i, path in enumerate(files):
        if progress is not None and i % 250 == 0 and i > out.hits:  # parsing, not just reading
            progress(i, len(files))
        rel = _rel(config, path, root)
        seen.add(rel)
        try:
            data = _read(path)
        except OSError as e:
            d = [1, 1, "error", "read-error", f"cannot read the file: {e.strerror}"]
            out.files.append(FileResult(rel, {"checked": check, "diags": [d], "deps": []}))
            continue
        h = fp.copy()
        h.update(data)
        key = h.hexdigest()
        hit = cache.get(rel)
        if hit is not None and hit[0] == key:
            meta_b, extra_b, post_b = bytes(hit[1]).split(b"\n", 2)
            meta = json.loads(meta_b)
            if (meta["checked"] or not check) and _deps_ok(config.root, meta["deps"]):
                out.files.append(FileResult(rel, meta, post_b, cached=True, extra_json=extra_b))
                out.hits += 1
                continue
        res = _fresh(data, rel, config, check)
        out.files.append(res)
        if store is not None:
            pj = json.dumps(post_to_dict(res._post) if res._post else None, ensure_ascii=False)
            row = "\n".join((json.dumps(res.meta, ensure_ascii=False),
                             json.dumps(res.extra, ensure_ascii=False), pj))
            misses.append((rel, key, row.encode()))
            if res._post is not None and not res.has_errors:
                fresh_posts.append(res._post)
    if store is not None and misses:
        store.cache.put_many(misses)
        store.posts.record_seen_many(fresh_posts)
    if store is not None and paths is None:
        store.cache.drop(k for k in cache if not k.startswith("#") and k not in seen)
    if progress is not None and len(files) > out.hits:
        progress(len(files), len(files))
    return out


class PostResults:
    """Checks and lengths of posts that come from no post file (campaign occurrences, stored
    posts), cached by content hash in the same table under ``#post/<hash>`` keys."""

    def __init__(self, config: Config, store: Store | None) -> None:
        self.config, self.store = config, store
        self.fp = fingerprint(config).hex()
        self._cache: dict[str, tuple[str, bytes]] | None = None
        self.new: list[tuple[str, str, bytes]] = []

    @property
    def cache(self) -> dict[str, tuple[str, bytes]]:
        if self._cache is None:  # loaded on first use: most projects have no such posts
            self._cache = self.store.cache.load_all() if self.store is not None else {}
        return self._cache

    def get(self, post: Post, check: bool) -> dict[str, Any]:
        # keyed on everything, positions included: they end up in the messages
        blob = json.dumps(post_to_dict(post), sort_keys=True, default=str).encode()
        key = f"#post/{hashlib.sha256(blob).hexdigest()}"
        hit = self.cache.get(key)
        if hit is not None and hit[0] == self.fp:
            meta = json.loads(bytes(hit[1]))
            if (meta["checked"] or not check) and _deps_ok(self.config.root, meta["deps"]):
                return meta
        diags = post_checks(post, self.config) if check else []
        meta = _meta(post, diags, check, _deps(self.config.root, post),
                     lengths_of(post, self.config), [c.name for c in self.config.route(post)])
        meta["diags"] = [[d.path, *row] for d, row in zip(diags, meta["diags"], strict=True)]
        self.cache[key] = (self.fp, json.dumps(meta).encode())
        self.new.append((key, self.fp, self.cache[key][1]))
        return meta

    @staticmethod
    def diagnostics(meta: dict[str, Any]) -> list[Diagnostic]:
        return [Diagnostic(*row) for row in meta["diags"]]

    def save(self) -> None:
        if self.store is not None and self.new:
            self.store.cache.put_many(self.new)
            self.new = []


def post_files(config: Config, paths: Iterable[str | Path] | None = None) -> list[Path]:
    """Post files to read: all of ``posts/`` by default, else the given files and folders."""
    return [Path(p) for p in files_for(config, paths)]


def load_queue(config: Config, store: Store | None = None) -> Loaded:
    """Every queued post file as Posts. Files with errors give diagnostics and no Post, so a
    broken file is never published; parsed files are reused from the cache when unchanged."""
    return collect(config, store, check=False).loaded()
