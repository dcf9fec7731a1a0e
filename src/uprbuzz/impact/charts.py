"""Charts as inline SVG (no script, no fetch): stacked columns, lines, horizontal bars.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>``
(the text alternative); the page puts the data table beside it. Colours are the Okabe–Ito
palette (told apart with colour blindness), every series is also named in a legend, and all
text is dark on white. Lines also differ by dash pattern and marker shape, so two series with
the same values (likes and reposts both 3) both stay visible, and colour is never the only cue.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8A6100", "#3D3D8F", "#56B4E9", "#000000")
W, H = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 16, 56
INK, GRID = "#1a1a1a", "#d0d0d0"
Fmt = Callable[[float], str]
DASHES = ("", "9 5", "2 4", "12 4 3 4", "6 3", "1 3")  # solid, dashed, dotted, dash-dot, ...
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "bar")


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _nice(top: float) -> float:
    """A round axis maximum at or above ``top`` (1, 2, 2.5, 5 × 10^k)."""
    if top <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(top))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= top:
            return float(m * exp)
    return float(10 * exp)


def _svg(ident: str, title: str, desc: str, body: list[str], height: int = H) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" role="img" '
            f'aria-labelledby="{ident}-t" aria-describedby="{ident}-d" class="chart" '
            f'font-family="system-ui, sans-serif" font-size="12">'
            f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def _y_axis(top: float, fmt: Fmt, int_ticks: bool) -> tuple[float, list[str]]:
    # four round steps (1, 2, 2.5, 5 × 10^k); counts get whole-number ones
    step = _nice(top / 4)
    ymax = float(max(1, math.ceil(step)) * 4) if int_ticks else step * 4
    plot_h = H - TOP - BOTTOM
    out = []
    for i in range(5):
        v = ymax * i / 4
        y = TOP + plot_h - plot_h * i / 4
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
                   f"{escape(fmt(v))}</text>")
    return ymax, out


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> list[str]:
    step = max(1, math.ceil(len(labels) / 12))  # at most a dozen labels under the axis
    return [f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" fill="{INK}">'
            f"{escape(lab)}</text>" for i, (lab, x) in enumerate(zip(labels, xs, strict=True))
            if i % step == 0]


def _legend(names: Sequence[str], y: float) -> list[str]:
    out, x = [], float(LEFT)
    for i, n in enumerate(names):
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour(i)}"/>'
                   f'<text x="{x + 16:.1f}" y="{y:.1f}" fill="{INK}">{escape(n)}</text>')
        x += 28 + 7 * len(n)
    return out


def _marker(k: int, x: float, y: float) -> str:
    """Series ``k``'s marker at (x, y): a shape of its own, white-edged so that one drawn on
    another of the same value still shows."""
    c, shape = colour(k), MARKERS[k % len(MARKERS)]
    edge = 'stroke="#ffffff" stroke-width="1"'
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.5" fill="{c}" {edge}/>'
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{c}" {edge}/>'
    if shape == "triangle":
        pts = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}"
        return f'<polygon points="{pts}" fill="{c}" {edge}/>'
    if shape == "diamond":
        pts = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill="{c}" {edge}/>'
    if shape == "cross":
        return (f'<path d="M{x - 4:.1f} {y - 4:.1f}L{x + 4:.1f} {y + 4:.1f}M{x - 4:.1f} '
                f'{y + 4:.1f}L{x + 4:.1f} {y - 4:.1f}" stroke="{c}" stroke-width="2.5"/>')
    return f'<rect x="{x - 1.5:.1f}" y="{y - 5:.1f}" width="3" height="10" fill="{c}"/>'


def _dash(k: int) -> str:
    d = DASHES[k % len(DASHES)]
    return f' stroke-dasharray="{d}"' if d else ""


def _line_legend(names: Sequence[str], y: float) -> list[str]:
    """A legend of line samples: each with its series' colour, dash pattern and marker."""
    out, x = [], float(LEFT)
    for i, n in enumerate(names):
        out.append(f'<line x1="{x:.1f}" x2="{x + 28:.1f}" y1="{y - 4:.1f}" y2="{y - 4:.1f}" '
                   f'stroke="{colour(i)}" stroke-width="2.5"{_dash(i)}/>'
                   + _marker(i, x + 14, y - 4)
                   + f'<text x="{x + 34:.1f}" y="{y:.1f}" fill="{INK}">{escape(n)}</text>')
        x += 50 + 7 * len(n)
    return out


def columns(ident: str, title: str, desc: str, labels: Sequence[str],
            series: Sequence[tuple[str, Sequence[float]]], fmt: Fmt, *,
            int_ticks: bool = True) -> str:
    """Stacked columns: one per label, one coloured segment per series."""
    totals = [sum(s[1][i] for s in series) for i in range(len(labels))]
    ymax, body = _y_axis(max(totals, default=0), fmt, int_ticks)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    bar = max(1.0, slot * 0.7)
    xs = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    for i, x in enumerate(xs):
        base = 0.0
        for k, (_, values) in enumerate(series):
            v = values[i]
            if v <= 0:
                continue
            h = plot_h * v / ymax
            y = TOP + plot_h - plot_h * base / ymax - h
            body.append(f'<rect x="{x - bar / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                        f'height="{h:.1f}" fill="{colour(k)}"/>')
            base += v
    body += _x_labels(labels, xs)
    if len(series) > 1:
        body += _legend([n for n, _ in series], H - 12)
    return _svg(ident, title, desc, body)


def lines(ident: str, title: str, desc: str, labels: Sequence[str],
          series: Sequence[tuple[str, Sequence[float]]], fmt: Fmt) -> str:
    """One line per series over the labels (days), with a dot on each value."""
    ymax, body = _y_axis(max((v for _, vs in series for v in vs), default=0), fmt, True)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    n = len(labels)
    xs = [LEFT + (plot_w * (i / (n - 1)) if n > 1 else plot_w / 2) for i in range(n)]
    marks: list[str] = []
    for k, (_, values) in enumerate(series):
        pts = [(x, TOP + plot_h - plot_h * v / ymax) for x, v in zip(xs, values, strict=True)]
        body.append(f'<polyline fill="none" stroke="{colour(k)}" stroke-width="2.5"{_dash(k)} '
                    'points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
        if n <= 31:  # a marker per day while days are few enough to tell apart
            marks += [_marker(k, x, y) for x, y in pts]
    body += marks  # over every line: a line drawn later never hides an earlier one's markers
    body += _x_labels(labels, xs)
    body += _line_legend([n for n, _ in series], H - 12)
    return _svg(ident, title, desc, body)


def bars(ident: str, title: str, desc: str, labels: Sequence[str], values: Sequence[float],
         fmt: Fmt, *, of: Sequence[float] | None = None) -> str:
    """Horizontal bars with their value written at the end; ``of``: a pale bar behind each
    showing its whole (records covered of all records)."""
    row, label_w = 26, 200
    height = TOP + row * max(1, len(labels)) + 8
    scale = max([*values, *(of or ())], default=0) or 1
    plot_w = W - label_w - 90
    body = []
    for i, lab in enumerate(labels):
        y = TOP + row * i
        short = lab if len(lab) <= 30 else lab[:29] + "…"
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="{INK}">'
                    f"{escape(short)}</text>")
        if of is not None:
            body.append(f'<rect x="{label_w}" y="{y + 3}" width="{plot_w * of[i] / scale:.1f}" '
                        f'height="16" fill="#e4e4e4"/>')
        w = plot_w * values[i] / scale
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="16" '
                    f'fill="{colour(0)}"/>')
        shown = fmt(values[i]) + (f" / {fmt(of[i])}" if of is not None else "")
        end = label_w + max(w, plot_w * of[i] / scale if of is not None else 0)
        body.append(f'<text x="{end + 6:.1f}" y="{y + 15}" fill="{INK}">{escape(shown)}</text>')
    return _svg(ident, title, desc, body, height)
