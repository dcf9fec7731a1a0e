#!/usr/bin/env bash
# Put the third-party conformance data that the tests read from ../shared/data (twitter-text's
# suite, Bluesky's facet cases, the 347 UPR recommendations and the speaking order derived from
# them, the Wix feeds and feedparser's corpus) where they look for it, fetched from the upstream
# repositories at the commits pinned below, and verify every file against conformance.sha256.
#
#   tools/ci/fetch-conformance.sh [SHARED_DIR]     (default: the project's ../shared)
#
# CI runs it before .ci/run. Files already present are not fetched again, only verified, so on a
# developer machine with ../shared it is a read-only check. Any mismatch fails the run.
#
# Not fetched (no test reads them): data/upr2020/us_upr2020_session_facts.json (compiled by hand
# from press releases and UN documents; no public copy) and data/x-api/openapi.json.
#
# Three files have no byte-identical public upstream and are rebuilt from one here:
#  - bluesky/rich-text-detection-cases.json: the input/output tables of atproto's
#    rich-text-detection.test.ts, extracted with node (actions/setup-node provides it in CI);
#  - upr2020/us_upr2020_recommendations.csv: the tracker's USA.json, one row per paragraph, with
#    four State names in UN style and four parser artefacts corrected (each one noted in the row);
#  - upr2020/us_upr2020_speaking_order_DERIVED.csv: the recommending States of that CSV,
#    alphabetical from Slovakia (an inference, not the official list).
# Their checksums are those of the developers' copies, so a rebuild that differs fails loudly.
# (The .ts input is pinned by checksum too; USA.json only by commit, the CSV built from it is.)
# feedparser's corpus (2,126 files) comes as the commit's archive from codeload.github.com.
#
# CONFORMANCE_RAW_BASE and CONFORMANCE_CODELOAD_BASE replace the GitHub hosts (a local mirror,
# file:// URLs) to test this script offline.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${1:-$root/../shared}
data=$shared/data
sums=$here/conformance.sha256
raw_base=${CONFORMANCE_RAW_BASE:-https://raw.githubusercontent.com}
codeload_base=${CONFORMANCE_CODELOAD_BASE:-https://codeload.github.com}

# The pins: repository and full commit.
TWITTER_TEXT=twitter/twitter-text
TWITTER_TEXT_AT=30e2430d90cff3b46393ea54caf511441983c260    # master, 2021-10-21
ATPROTO=bluesky-social/atproto
ATPROTO_AT=d6296a1cfdb40a773319cb59061300e4e8e52f26         # main, 2026-08-20
ATPROTO_TS=packages/api/tests/rich-text-detection.test.ts
ATPROTO_TS_SHA256=2668546e785f4cf7f8d95fa3756f653015c72a6e42141eec22e41028b54044a0
UPR_TRACKER=RolandCCPR/un-hr-recommendations-tracker
UPR_TRACKER_AT=3740e879ca35f89499d48c5ee896534057ee526a
FEEDPARSER=kurtmckee/feedparser
FEEDPARSER_AT=a22c5521cbb109871f1a2318948581901bd47e26      # main, 2026-07-30
WIX_FEEDS=(  # data/feeds/wix/<file>  repository  commit   (each repository's blog-feed.xml)
  "adolfstock.de_blog-feed.xml macgyver2k/adolf-stock-website-backup 48c28ea3fd4ba68e1b71da3107f108ff9ae23267"
  "ccte.space_blog-feed.xml davidgimenezs/ccte.space-archive 6828065eef1a6aa6d23a7eff2f59fd363bfa165f"
  "girlplusenvironment.org_blog-feed.xml GirlPlusEnvironment/girlplusenvironment.org f5152322f64dbf1463e4a7cf90d466a0e0062d0f"
)

die() { echo "fetch-conformance: $*" >&2; exit 1; }

command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
command -v sha256sum >/dev/null || die "sha256sum is missing (coreutils)"
[[ -f $sums ]] || die "no checksum list at $sums"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

fetch() {  # URL DEST
  mkdir -p "$(dirname "$2")"
  echo "fetch-conformance: $1" >&2
  curl --fail --silent --show-error --location --retry 3 --retry-delay 2 -o "$2" "$1" \
    || die "download failed: $1"
}

raw() {  # REPO COMMIT PATH DEST
  fetch "$raw_base/$1/$2/$3" "$4"
}

absent() {  # PATH... (under data/): true if any of them is missing
  local f
  for f in "$@"; do [[ -e $data/$f ]] || return 0; done
  return 1
}

install() {  # PATH... : verify the staged copies against conformance.sha256, then move them in
  local f listed
  listed=$(printf '%s\n' "$@" | awk 'NR==FNR { want[$0]; next } $1 !~ /^#/ && $2 in want' - "$sums")
  [[ $(grep -c . <<<"$listed") -eq $# ]] || die "not every one of $* is listed in $sums"
  (cd "$stage" && sha256sum --strict --quiet -c - <<<"$listed") \
    || die "checksum mismatch (above): upstream differs from the pinned data; nothing installed"
  for f in "$@"; do
    [[ -d $data/${f%/*} ]] || mkdir -p "$data/${f%/*}"
    mv "$stage/$f" "$data/$f"
  done
}

# --- twitter-text ---------------------------------------------------------------------------
f=twitter-text/validate.yml
if absent "$f"; then
  raw "$TWITTER_TEXT" "$TWITTER_TEXT_AT" conformance/validate.yml "$stage/$f"
  install "$f"
fi

# --- Bluesky facet cases: the three tables of atproto's test, as JSON -----------------------
f=bluesky/rich-text-detection-cases.json
if absent "$f"; then
  command -v node >/dev/null || die "node is needed to extract $f (CI: actions/setup-node)"
  ts=$stage/upstream/rich-text-detection.test.ts
  raw "$ATPROTO" "$ATPROTO_AT" "$ATPROTO_TS" "$ts"
  echo "$ATPROTO_TS_SHA256  $ts" | sha256sum --strict --quiet -c - \
    || die "$ATPROTO_TS at $ATPROTO_AT differs from the pinned file"
  mkdir -p "$(dirname "$stage/$f")"
  node - "$ts" >"$stage/$f" <<'JS'
// The array literal assigned after `marker`: scanned for its closing bracket (skipping strings
// and comments), then evaluated on its own. Output: JSON with one-space indent, no final newline.
const fs = require('fs'), vm = require('vm')
const src = fs.readFileSync(process.argv[2], 'utf8')
function literal(marker, from) {
  const at = src.indexOf(marker, from)
  if (at < 0) throw new Error('not found: ' + marker)
  let i = src.indexOf('= [', at) + 2, depth = 0, quote = null
  const start = i
  for (; i < src.length; i++) {
    const c = src[i]
    if (quote) { if (c === '\\') i++; else if (c === quote) quote = null; continue }
    if (c === "'" || c === '"' || c === '`') quote = c
    else if (c === '/' && src[i + 1] === '/') i = src.indexOf('\n', i)
    else if (c === '[') depth++
    else if (c === ']' && --depth === 0) break
  }
  return { value: vm.runInNewContext('(' + src.slice(start, i + 1) + '\n)'), end: i }
}
const inputs = literal('const inputs = [', 0)
const outputs = literal('const outputs: string[][][] = [', inputs.end)
const tags = literal("describe('correctly detects tags inline'", outputs.end)
const cashtags = literal("describe('correctly detects cashtags inline'", tags.end)
if (inputs.value.length !== outputs.value.length) throw new Error('inputs and outputs differ')
const triple = ([input, tags, indices]) => ({ input, tags, indices })
process.stdout.write(JSON.stringify({
  segments: inputs.value.map((input, i) => ({ input, output: outputs.value[i] })),
  tags: tags.value.map(triple),
  cashtags: cashtags.value.map(triple),
}, null, 1))
JS
  install "$f"
fi

# --- UPR 2020: the 347 recommendations, and the speaking order derived from them -------------
rec=upr2020/us_upr2020_recommendations.csv
order=upr2020/us_upr2020_speaking_order_DERIVED.csv
upr() {  # MODE IN OUT
  python3 - "$@" <<'PY'
import csv
import json
import sys
import unicodedata

mode, src, out = sys.argv[1:]
if mode == "recommendations":
    # State names as the UN writes them in lists; the source gives the inverted form.
    names = {
        "Bolivarian Republic of Venezuela": "Venezuela (Bolivarian Republic of)",
        "Islamic Republic of Iran": "Iran (Islamic Republic of)",
        "Côte d’Ivoire": "Côte d'Ivoire",
        "Democratic People ’ s Republic of Korea": "Democratic People's Republic of Korea",
    }
    # The source's parser took a text's trailing "(...)" for a recommending State.
    tails = {"26.34": "ACT Group", "26.91": "the Paris Principles", "26.161": "Bolivarian Republic of"}
    with open(src, encoding="utf-8") as f:
        doc = json.load(f)
    rows = {}
    for theme in doc["upr"]["themes"]:
        for block in theme["blocks"]:
            for r in block["recommendations"]:
                assert r["paragraph"] not in rows, r["paragraph"]
                rows[r["paragraph"]] = theme["theme"], r
    assert len(rows) == 347, len(rows)
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["paragraph", "recommending_states", "recommending_states_as_in_source",
                    "position", "ohchr_primary_theme", "text", "note"])
        for p in sorted(rows, key=lambda p: int(p.split(".")[1])):
            theme, r = rows[p]
            by, text, note = r["by"] or "", r["text"], ""
            states = by.split("; ")
            if p in tails:
                assert states[0] == tails[p], (p, by)
                states, text = states[1:], f"{text} ({tails[p]})"
                note = (f"recommending_states corrected: source parser gave '{by}'; text tail "
                        f"'({tails[p]})' restored (inferred from the parser's trailing-parentheses rule)")
            elif r["by"] is None:  # the State was left at the end of the text: "... (Nicaragua)."
                text, _, state = text.rpartition(" (")
                assert text and state.endswith(")."), (p, r["text"])
                states = [state[:-2]]
                note = f"recommending_states filled: source parser gave null and left '({state}' at the end of the text"
            w.writerow([p, "; ".join(names.get(s, s) for s in states), by, r["position"], theme,
                        text, note])
else:  # speaking order: every recommending State, alphabetical (accents ignored) from Slovakia
    paras = {}
    with open(src, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            for s in r["recommending_states"].split("; "):
                paras.setdefault(s, []).append(r["paragraph"])
    def key(s):
        return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().casefold()
    names = sorted(paras, key=key)
    names = names[names.index("Slovakia"):] + names[:names.index("Slovakia")]
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["derived_position", "state", "n_recommendations_attributed", "paragraphs"])
        for k, n in enumerate(names, 1):
            w.writerow([k, n, len(paras[n]), " ".join(paras[n])])
PY
}
if absent "$rec"; then
  command -v python3 >/dev/null || die "python3 is needed to build $rec"
  raw "$UPR_TRACKER" "$UPR_TRACKER_AT" site/public/data/USA.json "$stage/upstream/USA.json"
  mkdir -p "$stage/upr2020"
  upr recommendations "$stage/upstream/USA.json" "$stage/$rec" || die "could not build $rec"
  install "$rec"
fi
if absent "$order"; then
  mkdir -p "$stage/upr2020"
  upr order "$data/$rec" "$stage/$order" || die "could not build $order"
  install "$order"
fi

# --- feeds: three real Wix feeds, and feedparser's test corpus --------------------------------
for entry in "${WIX_FEEDS[@]}"; do
  read -r name repo commit <<<"$entry"
  f=feeds/wix/$name
  if absent "$f"; then
    raw "$repo" "$commit" blog-feed.xml "$stage/$f"
    install "$f"
  fi
done

mapfile -t corpus < <(awk '$1 !~ /^#/ && $2 ~ /^feeds\/feedparser\// { print $2 }' "$sums")
(( ${#corpus[@]} > 2000 )) || die "the feedparser corpus is missing from $sums"
if absent "${corpus[@]}"; then
  command -v tar >/dev/null || die "tar is missing"
  [[ ! -e $data/feeds/feedparser ]] \
    || die "$data/feeds/feedparser is incomplete; remove it and run again"
  fetch "$codeload_base/$FEEDPARSER/tar.gz/$FEEDPARSER_AT" "$stage/upstream/feedparser.tar.gz"
  top=feedparser-$FEEDPARSER_AT
  tar -xzf "$stage/upstream/feedparser.tar.gz" -C "$stage/upstream" "$top/tests" "$top/LICENSE" \
    || die "the feedparser archive lacks tests/ or LICENSE"
  mkdir -p "$stage/feeds/feedparser"
  mv "$stage/upstream/$top/tests" "$stage/upstream/$top/LICENSE" "$stage/feeds/feedparser/"
  extra=$(cd "$stage" && find feeds/feedparser -type f | LC_ALL=C sort \
    | comm -23 - <(printf '%s\n' "${corpus[@]}" | LC_ALL=C sort))
  [[ -z $extra ]] || die "files upstream that $sums does not list: $extra"
  install "${corpus[@]}"
fi

# --- everything, as the tests will read it --------------------------------------------------
(cd "$data" && sha256sum --strict --quiet -c "$sums") \
  || die "$data differs from $sums (see above)"
echo "fetch-conformance: $(grep -c '^[0-9a-f]' "$sums") files verified in $data"
