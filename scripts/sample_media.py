"""Draw the sample project's images (media/*.png|jpg) with Pillow. Re-run to regenerate.

Usage: .venv/bin/python scripts/sample_media.py   (writes into ./media)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

MEDIA = Path(__file__).resolve().parent.parent / "media"
NAVY, SKY, WHITE, GOLD = (16, 42, 84), (92, 154, 214), (255, 255, 255), (242, 183, 5)


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def palais() -> None:
    """A flat drawing of the Palais des Nations with the flag alley, for the thread."""
    w, h = 1200, 675
    im = Image.new("RGB", (w, h), SKY)
    d = ImageDraw.Draw(im)
    for y in range(h // 2):  # sky gradient
        c = tuple(int(a + (b - a) * y / (h / 2)) for a, b in zip(SKY, (200, 225, 245)))
        d.line([(0, y), (w, y)], fill=c)
    d.rectangle([0, 470, w, h], fill=(90, 140, 70))  # lawn
    d.rectangle([260, 250, 940, 470], fill=(236, 226, 200))  # building
    for x in range(290, 920, 45):  # columns
        d.rectangle([x, 280, x + 18, 470], fill=(210, 198, 168))
    d.rectangle([240, 235, 960, 255], fill=(200, 188, 160))
    for i, x in enumerate(range(60, w, 90)):  # flag alley
        d.line([(x, 300), (x, 520)], fill=(80, 80, 80), width=3)
        colours = [(200, 30, 45), (0, 90, 170), (0, 140, 70), GOLD, (120, 40, 150)]
        d.rectangle([x + 2, 300, x + 40, 325], fill=colours[i % len(colours)])
    d.text((40, 600), "Palais des Nations, Geneva", font=font(40), fill=WHITE)
    im.save(MEDIA / "palais-des-nations.jpg", quality=82)


def times() -> None:
    """Four clocks: when the review starts in Geneva, New York, Chicago and Los Angeles."""
    w, h = 1200, 675
    im = Image.new("RGB", (w, h), NAVY)
    d = ImageDraw.Draw(im)
    d.text((60, 40), "US human rights review - LIVE, Mon 9 Nov 2020", font=font(44), fill=WHITE)
    cities = [("Geneva", 14, 30), ("New York", 8, 30), ("Chicago", 7, 30), ("Los Angeles", 5, 30)]
    import math

    for i, (city, hh, mm) in enumerate(cities):
        cx, cy, r = 165 + i * 290, 340, 110
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=WHITE, outline=GOLD, width=8)
        for k in range(12):
            a = math.radians(k * 30)
            d.line([(cx + 0.85 * r * math.sin(a), cy - 0.85 * r * math.cos(a)),
                    (cx + 0.95 * r * math.sin(a), cy - 0.95 * r * math.cos(a))], fill=NAVY, width=4)
        ha = math.radians((hh % 12 + mm / 60) * 30)
        ma = math.radians(mm * 6)
        d.line([(cx, cy), (cx + 0.5 * r * math.sin(ha), cy - 0.5 * r * math.cos(ha))], fill=NAVY, width=10)
        d.line([(cx, cy), (cx + 0.8 * r * math.sin(ma), cy - 0.8 * r * math.cos(ma))], fill=NAVY, width=6)
        d.text((cx, cy + r + 40), city, font=font(34), fill=WHITE, anchor="mm")
        d.text((cx, cy + r + 85), f"{hh:02d}:{mm:02d}", font=font(40), fill=GOLD, anchor="mm")
    im.save(MEDIA / "watch-live-times.png", optimize=True)


def chart() -> None:
    """Bar chart: States with the most recommendations to the US (A/HRC/46/15)."""
    data = [("China", 9), ("Cuba", 8), ("Iran", 7), ("Venezuela", 7), ("Russian Fed.", 6),
            ("State of Palestine", 6), ("Syrian Arab Rep.", 6), ("France", 6)]
    w, h = 1200, 675
    im = Image.new("RGB", (w, h), WHITE)
    d = ImageDraw.Draw(im)
    d.text((50, 30), "347 recommendations to the United States", font=font(42), fill=NAVY)
    d.text((50, 85), "States making the most (UPR, 9 Nov 2020)", font=font(30), fill=(90, 90, 90))
    for i, (name, n) in enumerate(data):
        y = 150 + i * 62
        d.text((50, y + 8), name, font=font(30), fill=NAVY)
        d.rectangle([390, y, 390 + n * 80, y + 46], fill=SKY)
        d.text((400 + n * 80, y + 8), str(n), font=font(30), fill=NAVY)
    im.save(MEDIA / "recommendations-by-state.png", optimize=True)


if __name__ == "__main__":
    MEDIA.mkdir(exist_ok=True)
    palais()
    times()
    chart()
    for p in sorted(MEDIA.glob("*.*")):
        print(p.name, p.stat().st_size)
