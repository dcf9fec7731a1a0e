"""No configured secret ever reaches output, logs or the state store: every byte of every run's
stdout/stderr and every file the project holds afterwards is scanned for each secret."""

from __future__ import annotations

import pytest

from tests.fixtures.publish import make_project, pub_env, run_uprbuzz

pytestmark = pytest.mark.e2e

SECRET_VARS = ("UPRBUZZ_X_CONSUMER_KEY", "UPRBUZZ_X_CONSUMER_SECRET", "UPRBUZZ_X_ACCESS_TOKEN",
               "UPRBUZZ_X_ACCESS_SECRET", "UPRBUZZ_BLUESKY_PASSWORD")


def _posts() -> dict[str, str]:
    return {
        "a.md": "---\nstatus: approved\n---\nFirst public statement\n---\nand its second part\n",
        "b.md": "---\nstatus: approved\nmedia:\n  - path: media/b.png\n    alt: A box\n---\nWith a picture\n",
    }


def test_secrets_never_leak(tmp_path, xapi, bsky_config, pds):
    good = pub_env(xapi, bsky_config)
    root = make_project(tmp_path / "ok", _posts(), {"media/b.png": (64, 48, "red")})
    outputs: list[str] = []

    def run(args, env, root=root, **kw):
        r = run_uprbuzz(args, root, env, **kw)
        outputs.extend([r.stdout, r.stderr])
        return r

    assert run(["publish", "a", "b"], good).returncode == 0
    run(["publish", "--dry-run", "a"], good)
    run(["status"], good)
    run(["status", "--json"], good)
    assert run(["retract", "b", "--yes", "--json"], good).returncode == 0

    # failure paths: wrong credentials on both platforms (messages quote the platforms' errors)
    bad = dict(good, UPRBUZZ_X_ACCESS_SECRET="wrong-access-secret-3f9a1c77e2b04d",
               UPRBUZZ_BLUESKY_PASSWORD="wrong-password-8c1d2e3f4a5b")
    root2 = make_project(tmp_path / "bad", _posts(), {"media/b.png": (64, 48, "red")})
    r = run(["publish", "a"], bad, root=root2)
    assert r.returncode == 1
    assert "x: " in r.stdout + r.stderr and "authentication failed" in r.stdout + r.stderr

    secrets = {v: good[v] for v in SECRET_VARS} | {
        "bad x": bad["UPRBUZZ_X_ACCESS_SECRET"], "bad bsky": bad["UPRBUZZ_BLUESKY_PASSWORD"]}
    blobs = {f"output {i}": o.encode() for i, o in enumerate(outputs)}
    for project in (root, root2):
        for f in project.rglob("*"):
            if f.is_file():
                blobs[str(f.relative_to(tmp_path))] = f.read_bytes()
    assert any(".sqlite" in name for name in blobs)  # the state store was scanned
    for name, value in secrets.items():
        assert len(value) >= 8
        for where, blob in blobs.items():
            assert value.encode() not in blob, f"{name} found in {where}"
