"""X publication cost: time per post spent locally (tweepy, signing, our code) vs in the server.

Starts the X stand-in as a separate process (as ``uprbuzz sandbox`` does, so the two do not
share a GIL), publishes through XPlatform, and splits each publication's wall time using the
stand-in's ``Server-Timing`` header. Prints one figure per line.
"""

from __future__ import annotations

import io
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/ itself must not shadow stdlib modules (bench/queue.py would hide ``queue``).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "src"))

from uprbuzz.config import Secret, XConfig  # noqa: E402
from uprbuzz.platforms.base import OutgoingMedia, OutgoingPart  # noqa: E402
from uprbuzz.platforms.x import XPlatform  # noqa: E402
from uprbuzz.sandbox.xapi import dump_accounts, make_account  # noqa: E402

_DUR = re.compile(r"dur=([0-9.]+)")


def main(n: int = 200) -> None:
    from PIL import Image

    acct = make_account("bench")
    tmp = Path(tempfile.mkdtemp(prefix="uprbuzz-bench-x-"))
    dump_accounts([acct], tmp / "accounts.json")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "uprbuzz.sandbox.xapi", "--port", str(port),
                             "--accounts", str(tmp / "accounts.json"), "--processing-seconds", "0",
                             "--limits", '{"POST /2/tweets": [1000000, 900]}'],
                            stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": str(_HERE.parent / "src")})
    try:
        proc.stdout.readline()  # type: ignore[union-attr]
        cfg = XConfig(api_url=f"http://127.0.0.1:{port}", consumer_key=Secret(acct.consumer_key),
                      consumer_secret=Secret(acct.consumer_secret), access_token=Secret(acct.access_token),
                      access_secret=Secret(acct.access_secret), timeout=10)
        x = XPlatform(cfg)
        in_server = [0.0]
        x.client.session.hooks["response"].append(
            lambda r, *a, **k: in_server.__setitem__(0, in_server[0] + float(
                (_DUR.search(r.headers.get("Server-Timing", "")) or [0, 0])[1]) / 1000))
        x.verify()
        buf = io.BytesIO()
        Image.new("RGB", (800, 450), "navy").save(buf, "JPEG")
        img = OutgoingMedia(buf.getvalue(), "image/jpeg", "A navy card", 800, 450)
        for label, media in (("text only", ()), ("1 image + alt text", (img,))):
            walls, servers = [], []
            for i in range(n):
                in_server[0] = 0.0
                t0 = time.perf_counter()
                x.publish([OutgoingPart(f"bench {label} {i} {time.time_ns()}", media)], [None])
                walls.append(time.perf_counter() - t0)
                servers.append(in_server[0])
            wall, srv = statistics.median(walls) * 1000, statistics.median(servers) * 1000
            print(f"x publish, {label}: {wall:.2f} ms/post wall (median of {n}), {srv:.2f} ms in the "
                  f"stand-in, {wall - srv:.2f} ms local (tweepy, OAuth signing, HTTP); "
                  f"{n / sum(walls):.0f} posts/s")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
