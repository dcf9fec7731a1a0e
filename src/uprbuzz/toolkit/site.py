"""Write the toolkit: one static page per language, images, a calendar, and nothing fetched.

Every page works from the file system with networking off: styles and the small copy script are
files beside it, images are copied in, share links are plain links (they only leave the page
when followed). Without JavaScript everything works except the copy buttons, which stay hidden.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from uprbuzz.cards import i18n
from uprbuzz.cards import labels as L
from uprbuzz.model import Media, Post
from uprbuzz.toolkit import share
from uprbuzz.toolkit.ics import Moment, calendar
from uprbuzz.toolkit.select import SHARE_PLATFORMS, lang_of, platform_parts

STATIC = Path(__file__).parent / "static"
CTX = "toolkit"
DEFAULT_ZONES = ("Europe/Zurich", "UTC", "America/New_York", "America/Los_Angeles")


def _(msgid: str, lang: str, **kw: Any) -> str:
    return i18n.gettext(msgid, lang, CTX).format(**kw)


@dataclass
class Built:
    out: Path
    pages: dict[str, Path] = field(default_factory=dict)  # lang -> index.html
    images: int = 0
    posts: int = 0
    warnings: list[str] = field(default_factory=list)


def build(config: Any, posts: Sequence[Post], out: Path, *, all_posts: Sequence[Post] = (),
          zones: Sequence[str] = (), instances: Sequence[str] = share.DEFAULT_MASTODON,
          stamp: datetime | None = None) -> Built:
    """Write the toolkit for ``posts`` (already selected) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "media").mkdir(exist_ok=True)
    for f in ("toolkit.css", "copy.js"):
        shutil.copyfile(STATIC / f, out / f)
    built = Built(out)
    zone_list = _zones(config, zones)
    by_lang: dict[str, list[Post]] = {}
    for p in posts:
        by_lang.setdefault(lang_of(p), []).append(p)
    webcasts = _webcasts(config, list(all_posts) or list(posts))
    stamp = stamp or datetime.now(UTC)
    langs = sorted(by_lang)
    for lang in langs:
        folder = out / lang
        folder.mkdir(exist_ok=True)
        articles, moments = [], list(webcasts)
        for i, post in enumerate(by_lang[lang], 1):
            images = _images(config, post, lang, out, built)
            articles.append(_article(post, i, lang, images, zone_list, instances))
            moments += _countdown_moments(post, lang)
        title = _("Partners’ toolkit", lang)
        cal = calendar([_localise(m, lang) for m in moments], f"{title}: {config.name}", stamp,
                       lang)
        (folder / "calendar.ics").write_text(cal, encoding="utf-8", newline="")
        page = _page(config, lang, langs, articles)
        (folder / "index.html").write_text(page, encoding="utf-8")
        built.pages[lang] = folder / "index.html"
        built.posts += len(by_lang[lang])
    (out / "index.html").write_text(_home(config, langs, by_lang), encoding="utf-8")
    return built


# --- images ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Image:
    href: str  # relative to a language page
    alt: str
    what: str  # "card" or "image"
    width: int | None = None
    height: int | None = None


def _images(config: Any, post: Post, lang: str, out: Path, built: Built) -> list[Image]:
    out_imgs: list[Image] = []
    if post.card is not None:
        from uprbuzz.cards import render_card

        card = post.card
        if "lang" not in card.fields:
            card = replace(card, fields={**card.fields, "lang": lang})
        today = post.at.astimezone(config.zone).date() if post.at else None
        with _card_warnings() as said:
            m = render_card(card, config, platforms=post.targets or None, today=today)
        built.warnings += [f"{post.id}: {w}" for w in said]
        out_imgs.append(_copy(config, m, out, "card"))
    for part in post.parts:
        for m in part.media:
            out_imgs.append(_copy(config, m, out, "image"))
    built.images += len(out_imgs)
    return out_imgs


@contextmanager
def _card_warnings() -> Iterator[list[str]]:
    """What the renderer warns about a card (too long for a phone, cut, characters left out),
    collected for the toolkit's output."""
    said: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    log = logging.getLogger("uprbuzz.cards")
    handler = Keep(logging.WARNING)
    log.addHandler(handler)
    try:
        yield said
    finally:
        log.removeHandler(handler)


def _copy(config: Any, m: Media, out: Path, what: str) -> Image:
    src = config.root / m.path
    digest = hashlib.sha256(m.path.encode()).hexdigest()[:10]
    name = f"{digest}-{Path(m.path).name}"
    dst = out / "media" / name
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, dst)
    w, h = m.width, m.height
    if w is None:
        from PIL import Image as PILImage

        with PILImage.open(src) as im:
            w, h = im.size
    return Image(f"../media/{name}", m.alt, what, w, h)


# --- times and moments ----------------------------------------------------------------------

@dataclass(frozen=True)
class Zone:
    zone: ZoneInfo
    label: str = ""  # as given (--zone Europe/Zurich=Geneva); else CLDR's city, localised

    def name(self, lang: str) -> str:
        if self.label:
            return self.label
        key = str(self.zone)
        if key in ("UTC", "Etc/UTC"):
            return "UTC"
        if key == "Europe/Zurich":  # the UN's clock in Geneva
            return _("Geneva", lang)
        from babel.dates import get_timezone_location

        return str(get_timezone_location(self.zone, locale=i18n.locale(lang), return_city=True))


def _zones(config: Any, zones: Sequence[str]) -> list[Zone]:
    """``--zone`` values (``Zone`` or ``Zone=Label``), else the project's zone and the
    defaults; each zone once."""
    from uprbuzz.toolkit.select import ToolkitError

    out: list[Zone] = []
    for spec in list(zones) or [config.timezone, *DEFAULT_ZONES]:
        name, _sep, label = spec.partition("=")
        try:
            z = ZoneInfo(name.strip())
        except (KeyError, ValueError):
            raise ToolkitError(f"unknown time zone {name.strip()!r} in --zone "
                               "(e.g. Europe/Zurich or Europe/Zurich=Geneva)") from None
        if all(str(z) != str(o.zone) for o in out):
            out.append(Zone(z, label.strip()))
    return out


def _webcasts(config: Any, posts: Sequence[Post]) -> list[Moment]:
    """Webcast starts: from live session files (``[session]``) and from the cards that announce
    them (countdown, watch-live), once per start."""
    seen: dict[datetime, Moment] = {}
    folder = config.root / config.schedules_dir
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        s = data.get("session")
        if not isinstance(s, dict) or not s.get("start"):
            continue
        try:
            start = datetime.fromisoformat(str(s["start"]).replace(" ", "T", 1))
            if start.tzinfo is None:
                start = start.replace(tzinfo=ZoneInfo(str(s.get("timezone", config.timezone))))
        except (ValueError, KeyError):
            continue
        key = start.astimezone(UTC)
        seen[key] = Moment(f"webcast-{key:%Y%m%dT%H%M}@uprbuzz", start, str(s.get("title", "")),
                           url=str(s.get("webtv", "")))
    for p in posts:
        if p.card is None or p.card.template not in ("countdown", "watch-live"):
            continue
        f = p.card.fields
        if not f.get("start"):
            continue
        try:
            start = datetime.fromisoformat(str(f["start"]).replace(" ", "T", 1))
            if start.tzinfo is None:
                start = start.replace(tzinfo=ZoneInfo(str(f.get("tz") or "UTC")))
            end = (datetime.fromisoformat(str(f["end"]).replace(" ", "T", 1))
                   if f.get("end") else None)
            if end is not None and end.tzinfo is None:
                end = end.replace(tzinfo=start.tzinfo)
        except (ValueError, KeyError):
            continue
        key = start.astimezone(UTC)
        old = seen.get(key)
        where = str(f.get("where", ""))
        url = where if where.startswith("http") else (f"https://{where}" if where else "")
        seen[key] = Moment(f"webcast-{key:%Y%m%dT%H%M}@uprbuzz", start,
                           (old.summary if old and old.summary else str(f.get("title", ""))),
                           end or (old.end if old else None), url=(old.url if old and old.url
                                                                   else url))
    return list(seen.values())


def _countdown_moments(post: Post, lang: str) -> list[Moment]:
    if post.card is None or post.card.template != "countdown" or post.at is None:
        return []
    f = post.card.fields
    days = str(f.get("days", "")).strip()
    title = str(f.get("title", ""))
    head = (f"{days} {L.days_word(int(days), lang)}" if days.isdigit() and int(days) > 0
            else L.label("today", lang)) if days else title
    text = post.parts[0].text if post.parts else ""
    return [Moment(f"countdown-{post.id}@uprbuzz", post.at,
                   f"{head}: {title}" if title and head != title else head,
                   post.at + timedelta(minutes=15), description=text)]


def _localise(m: Moment, lang: str) -> Moment:
    if m.uid.startswith("webcast-"):
        head = L.label("webcast_starts", lang)
        return replace(m, summary=f"{head}: {m.summary}" if m.summary else head)
    return m


def _when(post: Post, zones: Sequence[Zone], lang: str) -> str:
    assert post.at is not None
    rows = []
    for z in zones:
        t = post.at.astimezone(z.zone)
        rows.append(f"<tr><th scope=\"row\">{escape(z.name(lang))}</th>"
                    f"<td><time datetime=\"{t.isoformat()}\">"
                    f"{escape(i18n.format_datetime(t, lang))}</time></td></tr>")
    cap = escape(_("Suggested time", lang))
    return f"<table class=\"times\"><caption>{cap}</caption><tbody>{''.join(rows)}</tbody></table>"


# --- HTML -----------------------------------------------------------------------------------

def _article(post: Post, i: int, lang: str, images: list[Image], zones: Sequence[Zone],
             instances: Sequence[str]) -> str:
    assert post.at is not None
    first = post.at.astimezone(zones[0].zone)
    h = f"p{i}"
    heading = f"{escape(i18n.format_datetime(first, lang))} · {escape(zones[0].name(lang))}"
    parts = [f"<article id=\"{h}\" aria-labelledby=\"{h}-h\" data-post=\"{escape(post.id)}\">",
             f"<h3 id=\"{h}-h\">{heading}</h3>",
             f"<p class=\"post-id\">{escape(_('Post', lang))}: <code>{escape(post.id)}</code></p>",
             _when(post, zones, lang)]
    if images:
        parts.append("<div class=\"images\">")
        for k, img in enumerate(images, 1):
            dims = (f" width=\"{img.width}\" height=\"{img.height}\""
                    if img.width and img.height else "")
            alt_id = f"{h}-alt{k}"
            download = (_("Download the card", lang) if img.what == "card"
                        else _("Download the image", lang))
            parts.append(
                f"<figure><img src=\"{escape(img.href)}\" alt=\"{escape(img.alt)}\"{dims} "
                f"aria-describedby=\"{alt_id}\">"
                f"<figcaption><p class=\"alt\" id=\"{alt_id}\"><strong>"
                f"{escape(_('Alt text', lang))}:</strong> <span dir=\"auto\">{escape(img.alt)}"
                f"</span></p><p><a href=\"{escape(img.href)}\" download>"
                f"{escape(download)}</a></p></figcaption></figure>")
        parts.append("</div>")
    for platform in SHARE_PLATFORMS:
        pp = platform_parts(post, platform)
        if not pp:
            continue
        name = share.NAMES[platform]
        sid = f"{h}-{platform}"
        parts.append(f"<div class=\"platform {platform}\" role=\"group\" "
                     f"aria-labelledby=\"{sid}-h {h}-h\">"
                     f"<h4 id=\"{sid}-h\">{escape(name)}</h4>")
        for n, part in enumerate(pp, 1):
            tid = f"{sid}-t{n}"
            c = share.count(platform, part.text)
            label = (_("Text, part {n} of {total}", lang, n=str(n), total=str(len(pp)))
                     if len(pp) > 1 else _("Text", lang))
            rows = min(12, max(3, part.text.count("\n") + 1 + len(part.text) // 60))
            over = " over" if c.over else ""
            parts.append(
                f"<div class=\"part\"><label for=\"{tid}\">{escape(label)}</label>"
                f"<textarea id=\"{tid}\" readonly rows=\"{rows}\" dir=\"auto\" "
                f"aria-describedby=\"{tid}-c\">{escape(part.text)}</textarea>"
                f"<p class=\"count{over}\" id=\"{tid}-c\">"
                f"{escape(_('{used} of {limit} characters', lang, used=str(c.used), limit=str(c.limit)))}"
                f"</p><button type=\"button\" class=\"copy\" data-copy=\"{tid}\" hidden>"
                f"{escape(_('Copy', lang))}</button></div>")
        text = pp[0].text
        cont = (f" <span class=\"note\">{escape(_('Then reply with the next parts.', lang))}</span>"
                if len(pp) > 1 else "")
        link = share.share_link(platform, text)
        if link:
            parts.append(f"<p class=\"share\"><a href=\"{escape(link)}\" rel=\"noopener\" "
                         f"data-platform=\"{platform}\" target=\"_blank\">"
                         f"{escape(_('Share on {platform}', lang, platform=name))}</a>{cont}</p>")
        else:
            items = "".join(
                f"<li><a href=\"{escape(share.mastodon_share(inst, text))}\" rel=\"noopener\" "
                f"target=\"_blank\" data-platform=\"mastodon\">{escape(inst)}</a></li>"
                for inst in instances)
            parts.append(
                f"<div class=\"share mastodon-share\"><p id=\"{sid}-servers\">"
                f"{escape(_('Share on {platform}', lang, platform=name))}: "
                f"{escape(_('choose your server', lang))}{cont}</p>"
                f"<ul aria-labelledby=\"{sid}-servers\">{items}</ul>"
                f"<form class=\"mastodon-other\" hidden data-text-from=\"{sid}-t1\">"
                f"<label for=\"{sid}-inst\">{escape(_('Another server', lang))}</label> "
                f"<input id=\"{sid}-inst\" name=\"instance\" type=\"text\" inputmode=\"url\" "
                f"autocomplete=\"url\" placeholder=\"example.social\" dir=\"ltr\"> "
                f"<button type=\"submit\">{escape(_('Share', lang))}</button></form></div>")
        parts.append("</div>")
    parts.append("</article>")
    return "\n".join(parts)


def _head(lang: str, title: str, css: str) -> str:
    d = "rtl" if i18n.is_rtl(lang) else "ltr"
    return (f"<!doctype html>\n<html lang=\"{escape(lang)}\" dir=\"{d}\">\n<head>\n"
            f"<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<link rel=\"stylesheet\" href=\"{css}\">\n"
            f"</head>\n")


def _lang_name(code: str, in_lang: str) -> str:
    try:
        name = i18n.locale(code).get_display_name(i18n.locale(in_lang))
    except Exception:
        name = None
    return str(name or code)


def _page(config: Any, lang: str, langs: Sequence[str], articles: Sequence[str]) -> str:
    title = f"{_('Partners’ toolkit', lang)}: {config.name}"
    current = ' aria-current="page"'
    others = "".join(
        f"<li><a href=\"../{escape(o)}/index.html\" hreflang=\"{escape(o)}\" lang=\"{escape(o)}\""
        f"{current if o == lang else ''}>{escape(_lang_name(o, o))}</a></li>"
        for o in langs)
    return (_head(lang, title, "../toolkit.css")
            + "<body>\n<header>\n"
            + f"<p class=\"skip\"><a href=\"#posts\">{escape(_('Skip to the posts', lang))}</a></p>\n"
            + f"<h1>{escape(title)}</h1>\n"
            + f"<nav aria-label=\"{escape(_('Languages', lang))}\"><ul>{others}</ul></nav>\n"
            + "</header>\n<main>\n"
            + f"<p class=\"intro\">{escape(_('Suggested posts with their texts, images and share links. Post them at the suggested time, or close to it.', lang))}</p>\n"
            + "<p class=\"calendar\"><a href=\"calendar.ics\" download>"
            + f"{escape(_('Calendar of the key moments (.ics)', lang))}</a></p>\n"
            + f"<h2 id=\"posts\">{escape(_('Suggested posts', lang))}</h2>\n"
            + "\n".join(articles)
            + "\n</main>\n<script src=\"../copy.js\"></script>\n"
            + f"<template id=\"copied\">{escape(_('Copied', lang))}</template>\n"
            + "</body>\n</html>\n")


def _home(config: Any, langs: Sequence[str], by_lang: dict[str, list[Post]]) -> str:
    first = langs[0] if langs else "en"
    items = "".join(
        f"<li><a href=\"{escape(code)}/index.html\" hreflang=\"{escape(code)}\" "
        f"lang=\"{escape(code)}\">{escape(_('Partners’ toolkit', code))}: "
        f"{escape(_lang_name(code, code))}</a> "
        f"<span>({len(by_lang[code])})</span></li>" for code in langs)
    title = f"{_('Partners’ toolkit', 'en')}: {config.name}"
    return (_head(first if first == "en" else "en", title, "toolkit.css")
            + f"<body>\n<main>\n<h1>{escape(title)}</h1>\n<ul class=\"langs\">{items}</ul>\n"
            + "</main>\n</body>\n</html>\n")
