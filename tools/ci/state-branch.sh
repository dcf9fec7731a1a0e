#!/usr/bin/env bash
# Keep uprbuzz's state store (the publication ledger) on an orphan git branch between CI runs.
#
#   tools/ci/state-branch.sh restore   # fetch .uprbuzz/state.sqlite from the branch (or start empty)
#   tools/ci/state-branch.sh mark      # push "a run is using the state" (RUNNING file) before tick
#   tools/ci/state-branch.sh save      # push the state after tick and clear the RUNNING file
#
# Why the RUNNING marker: if a run publishes and then cannot push its ledger, the next run must
# not start from the older ledger (it would post again). A run that finds RUNNING on the branch
# stops with an error instead; see docs/scheduling.md ("Recovering the state branch").
# Every push is a compare-and-swap (--force-with-lease on the exact commit read), so two writers
# can never silently overwrite each other. Bluesky sessions are removed before anything is
# pushed: the branch holds no tokens (a run logs in again when it needs to).
#
# Env: REMOTE (default origin), BRANCH (default uprbuzz-state), STATE (default
# .uprbuzz/state.sqlite), LEASE_FILE (default .uprbuzz/state-branch.lease), RUN_URL (for messages),
# SNAPSHOT (the pushed copy, default .uprbuzz/state-branch.sqlite), PYTHON (default python3).
# Run it in the checked-out repository (its push credentials are used).
set -euo pipefail

REMOTE=${REMOTE:-origin}
BRANCH=${BRANCH:-uprbuzz-state}
STATE=${STATE:-.uprbuzz/state.sqlite}
LEASE_FILE=${LEASE_FILE:-.uprbuzz/state-branch.lease}
SNAPSHOT=${SNAPSHOT:-.uprbuzz/state-branch.sqlite}  # what is pushed (no sessions): kept for recovery
# uprbuzz's ledger mark (docs/scheduling.md): in CI the branch and its RUNNING marker do its job,
# and a mark committed from a local run would name another ledger, so restore removes it.
MARK=${MARK:-uprbuzz.ledger}
RUN_URL=${RUN_URL:-local run}
PY=${PYTHON:-python3}

die() { echo "::error::$*" >&2; exit 1; }

restore() {
  mkdir -p "$(dirname "$STATE")"
  rm -f "$MARK"
  set +e
  heads=$(git ls-remote --exit-code --heads "$REMOTE" "refs/heads/$BRANCH")
  rc=$?
  set -e
  if [ "$rc" -eq 2 ]; then
    echo "no $BRANCH branch yet: first run, starting with an empty state store"
    rm -f "$STATE" "$STATE-wal" "$STATE-shm"
    printf '' > "$LEASE_FILE"
    return
  fi
  [ "$rc" -eq 0 ] || die "cannot read branch $BRANCH (git ls-remote exit $rc): not ticking without the ledger"
  git fetch --quiet --depth=1 "$REMOTE" "refs/heads/$BRANCH" || die "cannot fetch branch $BRANCH"
  sha=$(git rev-parse FETCH_HEAD)
  if git cat-file -e "FETCH_HEAD:RUNNING" 2>/dev/null; then
    die "a previous run did not save its state ($(git show FETCH_HEAD:RUNNING)). Nothing was posted by this run. See docs/scheduling.md, 'Recovering the state branch'."
  fi
  rm -f "$STATE" "$STATE-wal" "$STATE-shm"
  if git cat-file -e "FETCH_HEAD:state.sqlite" 2>/dev/null; then
    git show "FETCH_HEAD:state.sqlite" > "$STATE"
  else
    echo "$BRANCH holds no state.sqlite yet (no run has created one): starting empty"
  fi
  echo "$sha" > "$LEASE_FILE"
  echo "restored $STATE from $BRANCH at ${sha:0:12}"
}

# push <with RUNNING marker: 0|1> <message>
push_state() {
  local marker=$1 msg=$2 lease tmp new
  lease=$(cat "$LEASE_FILE")
  tmp=$(mktemp -d)
  if [ -f "$STATE" ]; then
    # One self-contained file: fold the WAL in, and drop login sessions (tokens) from the copy.
    rm -f "$SNAPSHOT"
    "$PY" - "$STATE" "$SNAPSHOT" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1], timeout=60)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
src.close()
dst.execute("PRAGMA journal_mode=DELETE")
try:
    dst.execute("DELETE FROM sessions")
except sqlite3.OperationalError:  # an empty or older store
    pass
dst.commit()
dst.execute("VACUUM")
dst.close()
PY
  fi
  # Build the commit with plumbing in this repository (its push credentials apply; the working
  # tree and the checked-out branch are not touched).
  entries=""
  if [ -f "$STATE" ]; then
    entries+=$(printf '100644 blob %s\tstate.sqlite' "$(git hash-object -w "$SNAPSHOT")")$'\n'
  fi
  if [ "$marker" = 1 ]; then
    printf '%s\n' "$RUN_URL" > "$tmp/RUNNING"
    entries+=$(printf '100644 blob %s\tRUNNING' "$(git hash-object -w "$tmp/RUNNING")")$'\n'
  fi
  tree=$(printf '%s' "$entries" | git mktree)
  new=$(GIT_AUTHOR_NAME=uprbuzz GIT_AUTHOR_EMAIL=uprbuzz@users.noreply.github.com \
        GIT_COMMITTER_NAME=uprbuzz GIT_COMMITTER_EMAIL=uprbuzz@users.noreply.github.com \
        git commit-tree "$tree" -m "$msg")
  rm -rf "$tmp"
  git push -q --force-with-lease="refs/heads/$BRANCH:$lease" "$REMOTE" "$new:refs/heads/$BRANCH" \
    || die "could not push $BRANCH (another run changed it, or no permission): the state of this run is in the workflow artifact"
  echo "$new" > "$LEASE_FILE"
  echo "pushed $BRANCH at ${new:0:12}: $msg"
}

case "${1:-}" in
  restore) restore ;;
  mark) push_state 1 "in use by $RUN_URL" ;;
  save) push_state 0 "state after $RUN_URL" ;;
  *) echo "usage: $0 restore|mark|save" >&2; exit 2 ;;
esac
