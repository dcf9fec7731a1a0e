"""Images are read safely: hostile files give one ``file:line`` error each in ``check``,
``preview`` and the publish gate, the other files are still checked, and memory stays low.

The hostile files are made here, small on disk and in a fraction of a second: a 20000×20000
PNG of zero rows (a decompression bomb), a 177-megapixel baseline JPEG written by hand (every
8×8 block "no change", 2 MB), a real JPEG cut short, and a 300-frame GIF of 1280×1080 (X's
largest GIF size) written by hand. ``uprbuzz check`` and ``uprbuzz preview`` run in child
processes whose peak RSS is read with ``os.wait4`` by a small parent of their own (MEASURE).
"""

from __future__ import annotations

import io
import os
import random
import re
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from uprbuzz import imaging
from uprbuzz.imaging import DAMAGED, MAX_REENCODED_PIXELS, NOT_IMAGE, TOO_LARGE, ImageError

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
RSS_LIMIT = 400 * MB


# --- hostile files ---------------------------------------------------------------------------

def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(w: int = 20000, h: int = 20000) -> bytes:
    """A 1-bit PNG of w×h zero pixels: ~50 KB on disk, w×h pixels once decoded."""
    row = b"\0" * (1 + (w + 7) // 8)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row * min(1000, h - y)) for y in range(0, h, 1000)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def grey_jpeg(w: int, h: int) -> bytes:
    """A valid baseline greyscale JPEG of w×h mid-grey pixels, written without encoding it:
    Pillow's headers for an 8×8 grey image, the size patched, then one entropy-coded block per
    8×8 (DC difference 0: "00", end of block: "1010"; four blocks are the bytes 28 A2 8A)."""
    buf = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buf, "JPEG", quality=75)  # standard Huffman tables
    small = buf.getvalue()
    head = bytearray(small[:small.index(b"\xff\xda") + 10])  # up to the end of the SOS header
    struct.pack_into(">HH", head, small.index(b"\xff\xc0") + 5, h, w)
    quads, rest = divmod(((w + 7) // 8) * ((h + 7) // 8), 4)
    bits = "001010" * rest
    bits += "1" * (-len(bits) % 8)  # padding
    tail = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    return bytes(head) + b"\x28\xa2\x8a" * quads + tail + b"\xff\xd9"


def cut_jpeg() -> bytes:
    """A real 600×400 photo-like JPEG, cut after 60 % of its bytes."""
    rnd = random.Random(7)
    buf = io.BytesIO()
    Image.frombytes("RGB", (600, 400), rnd.randbytes(600 * 400 * 3)).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    return data[:len(data) * 6 // 10]


def dot_gif(w: int, h: int, frames: int) -> bytes:
    """An animated GIF: a w×h screen and ``frames`` frames, each one pixel that moves."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", w, h, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff")
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\0\0\0"  # loop for ever
    for i in range(frames):
        out += b"\x21\xf9\x04\x04\x04\0\0\0"  # 40 ms, keep the previous frame
        out += b"\x2c" + struct.pack("<HHHHB", (i * 3) % w, (i * 7) % h, 1, 1, 0)
        codes = 4 | ((i % 2) << 3) | (5 << 6)  # clear, the pixel, end (3-bit LZW codes)
        out += b"\x02\x02" + codes.to_bytes(2, "little") + b"\0"
    return bytes(out + b"\x3b")


def damaged_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buf, "PNG")
    data = bytearray(buf.getvalue())
    i = data.index(b"IDAT") + 8
    data[i] ^= 0xFF  # a byte of the compressed data: its CRC no longer matches
    return bytes(data)


# --- the project -----------------------------------------------------------------------------

POST = "---\nstatus: draft\n{extra}media:\n  - path: media/{name}\n    alt: {alt}\n---\n{text}\n"
MEDIA_LINE = 4  # "  - path:" is line 4 of POST (line 5 with one extra front-matter line)

HOSTILE = {  # post file -> (media file, what the error says)
    "bomb.md": ("bomb.png", "it has 400,000,000 pixels; uprbuzz reads images of at most "
                            "33,177,600 pixels (7680×4320)"),
    "huge.md": ("huge.jpg", "it is 13304×13304, 176,996,416 pixels"),
    "cut.md": ("cut.jpg", "the image data is damaged or cut short"),
    "anim.md": ("anim.gif", "it is an animation of 300 frames of 1280×1080, 414,720,000 pixels "
                            "in all"),
    "heavy.md": ("heavy.png", "the file is 41,943,040 bytes; uprbuzz reads media files of at "
                              "most 33,554,432 bytes"),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "uprbuzz.toml").write_text('[project]\nname = "hostile"\ntimezone = "UTC"\n')
    media, posts = root / "media", root / "posts"
    media.mkdir()
    posts.mkdir()
    (media / "bomb.png").write_bytes(png_bomb())
    (media / "huge.jpg").write_bytes(grey_jpeg(13304, 13304))  # 176,996,416 pixels
    (media / "cut.jpg").write_bytes(cut_jpeg())
    (media / "anim.gif").write_bytes(dot_gif(1280, 1080, 300))
    with open(media / "heavy.png", "wb") as f:  # 40 MiB, sparse: never read
        f.truncate(40 * MB)
    for post, (name, _) in HOSTILE.items():
        (posts / post).write_text(POST.format(extra="", name=name, alt="a picture", text=post))
    # files that are fine, or wrong in an ordinary way, checked all the same
    Image.new("RGB", (64, 48), "blue").save(media / "ok.png")
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "green", "blue")]
    frames[0].save(media / "small.gif", save_all=True, append_images=frames[1:], duration=80)
    # 33 MP, within the limits: re-encoded for Bluesky, scaled down a band of rows at a time
    Image.linear_gradient("L").resize((7680, 4320)).save(media / "scan.tif",
                                                         compression="tiff_deflate")
    (posts / "ok.md").write_text(POST.format(extra="", name="ok.png", alt="A blue", text="Fine"))
    (posts / "gif.md").write_text(POST.format(extra="platforms: [x]\n", name="small.gif",
                                              alt="Three colours", text="Animated"))
    (posts / "no-alt.md").write_text(POST.format(extra="", name="ok.png", alt='""', text="x"))
    (posts / "scan.md").write_text(POST.format(extra="platforms: [bluesky]\n", name="scan.tif",
                                               alt="A grey ramp", text="Big"))
    return root


# Runs the command and writes its peak RSS (KiB) to argv[1]. A child's ru_maxrss also counts
# the memory of the process it was forked from, up to its exec (Linux records the old mm's high
# water mark at exec): measured from this small parent, not from pytest, that part is ~10 MB.
MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(proc.returncode)
"""


def run_measured(args: list[str], root: Path) -> tuple[int, str, str, int, float]:
    """``python -m uprbuzz -C root ARGS``: (exit code, stdout, stderr, peak RSS in bytes,
    seconds), the peak read with ``os.wait4`` for that process alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPRBUZZ_")}
    env["PYTHONPATH"] = str(REPO / "src")
    rss_file = root.parent / f"{root.name}.rss"
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURE, str(rss_file), sys.executable, "-m",
                           "uprbuzz", "-C", str(root), *args],
                          capture_output=True, text=True, env=env, timeout=120)
    seconds = time.monotonic() - start
    return (done.returncode, done.stdout, done.stderr, int(rss_file.read_text()) * 1024,
            seconds)  # ru_maxrss is in KiB on Linux


def expected_lines(text: str) -> None:
    for post, (name, says) in HOSTILE.items():
        pattern = (rf"^posts/{re.escape(post)}:{MEDIA_LINE}:5: error: media file "
                   rf"'media/{re.escape(name)}' cannot be used: {re.escape(says)}")
        assert re.search(pattern, text, re.M), f"no line for {post} in:\n{text}"


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="peak RSS of a child needs os.wait4")
def test_check_reports_each_hostile_file_at_its_line_within_400_mb(project: Path) -> None:
    code, out, err, rss, seconds = run_measured(["check", "--no-cache"], project)
    text = out + err
    print(f"uprbuzz check: peak RSS {rss / MB:.0f} MB, {seconds:.1f} s")
    assert "Traceback" not in text and "bug in uprbuzz" not in text, text
    assert code == 1, text
    expected_lines(text)
    # the other files were checked too: an ordinary error, the re-encoding prediction for the
    # 33-megapixel scan, and nothing at all for the good files
    assert re.search(rf"^posts/no-alt.md:{MEDIA_LINE}:5: error: image 'media/ok.png' has no alt",
                     text, re.M), text
    assert re.search(r"^posts/scan.md:5:5: warning: 'media/scan.tif' is a TIFF image; for "
                     r"Bluesky it will be re-encoded to [\d,]+ bytes \(JPEG, 3408×1917\)",
                     text, re.M), text
    assert not re.search(r"^posts/(ok|gif).md:", text, re.M), text
    assert "checked 9 files: 6 errors, 1 warning" in text, text
    assert rss < RSS_LIMIT, f"peak RSS {rss / MB:.0f} MB"
    assert seconds < 30


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="peak RSS of a child needs os.wait4")
def test_preview_names_each_hostile_file_and_draws_the_rest(project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.png"
    code, out, err, rss, seconds = run_measured(["preview", "-o", str(sheet)], project)
    print(f"uprbuzz preview: peak RSS {rss / MB:.0f} MB, {seconds:.1f} s")
    assert "Traceback" not in out + err, out + err
    assert code == 0, out + err
    expected_lines(err)
    assert "9 image(s) from 9 post(s)" in out
    with Image.open(sheet) as im:
        assert im.width > 1000
    assert rss < RSS_LIMIT, f"peak RSS {rss / MB:.0f} MB"


def test_the_publish_gate_refuses_each_hostile_file_at_its_line(project: Path) -> None:
    from uprbuzz.config import load_config
    from uprbuzz.publish.prepare import MediaReader, PrepareError, validate
    from uprbuzz.sources.gather import load_all

    config = load_config(project)
    posts = {p.source.path: p for p in load_all(config).posts if p.source is not None}
    reader = MediaReader(config)
    for post, (name, says) in HOSTILE.items():
        [d] = validate(posts[f"posts/{post}"], config)
        assert (d.path, d.line, d.code) == (f"posts/{post}", MEDIA_LINE, "media-too-large"
                                            if name != "cut.jpg" else "media-damaged")
        assert says in d.message
        if name != "heavy.png":  # the gate stops a post before its media are read
            with pytest.raises(PrepareError, match=re.escape(says)):
                reader.read(f"media/{name}")
    assert validate(posts["posts/ok.md"], config) == []


# --- imaging itself --------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "code", "says"), [
    (png_bomb, TOO_LARGE, "400,000,000 pixels"),
    (lambda: png_bomb(6000, 6000), TOO_LARGE, "it is 6000×6000, 36,000,000 pixels"),
    (lambda: grey_jpeg(13304, 13304), TOO_LARGE, "13304×13304"),
    (cut_jpeg, DAMAGED, "cut short"),
    (damaged_png, DAMAGED, "damaged"),
    (lambda: dot_gif(1280, 1080, 300), TOO_LARGE, "300 frames of 1280×1080"),
    (lambda: dot_gif(40, 30, 1001), TOO_LARGE, "more than 1,000 frames"),
    (lambda: dot_gif(5000, 3000, 2), TOO_LARGE, "animations with frames of at most 8,294,400"),
    (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", NOT_IMAGE, "not a readable"),
], ids=["bomb", "36mp", "177mp-jpeg", "cut-jpeg", "bad-crc", "gif-pixels", "gif-frames",
        "gif-canvas", "eps"])
def test_probe_refuses(make: Callable[[], bytes], code: str, says: str) -> None:
    data = make()
    start = time.monotonic()
    with pytest.raises(ImageError) as e:
        imaging.probe(data)
    assert e.value.code == code and says in e.value.message, e.value.message
    assert time.monotonic() - start < 5


def test_probe_counts_frames_and_passes_good_images() -> None:
    info = imaging.probe(dot_gif(100, 80, 20))
    assert (info.format, info.width, info.height, info.frames) == ("GIF", 100, 80, 20)
    info = imaging.probe(grey_jpeg(7680, 4320))  # at the limit: verified at an eighth
    assert (info.format, info.width, info.height) == ("JPEG", 7680, 4320)


def test_a_jpeg_to_be_shrunk_is_decoded_reduced(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import JpegImagePlugin

    asked: list[tuple[int, int]] = []
    real = JpegImagePlugin.JpegImageFile.draft

    def draft(self, mode, size):  # type: ignore[no-untyped-def]
        asked.append(size)
        return real(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    data = grey_jpeg(7680, 4320) + b"\0"  # a new digest: not probed before
    enc = imaging.fit_to_budget(data, len(data) - 1)  # over budget: re-encoded
    assert enc.reencoded and enc.width * enc.height <= MAX_REENCODED_PIXELS
    assert (enc.width, enc.height) == (3408, 1917)  # the first 15 % step within 3840×2160
    assert (960, 540) in asked  # verified at an eighth
    assert (3408, 1917) in asked  # decoded at a half (3840×2160), then scaled: never in full
