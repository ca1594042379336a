#!/usr/bin/env bash
# Shows that scripts/check_layering.sh fails on each kind of violation: on a
# copy of src/osprey/, adds one violation at a time and expects exit 1 naming
# the file. Run by .ci/run after check_layering.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_violation() {  # NAME FILE LINE
  rm -rf "$tmp/tree" && mkdir -p "$tmp/tree/src" "$tmp/tree/scripts"
  cp -r "$here/src/osprey" "$tmp/tree/src/"
  cp "$here/scripts/check_layering.sh" "$tmp/tree/scripts/"
  echo "$3" >>"$tmp/tree/$2"
  if out=$("$tmp/tree/scripts/check_layering.sh" 2>&1); then
    echo "FAIL: $1: check_layering.sh passed a tree with '$3' in $2" >&2
    exit 1
  fi
  grep -q "$2" <<<"$out" || { echo "FAIL: $1: $2 not named in: $out" >&2; exit 1; }
  echo "ok: $1"
}

"$here/scripts/check_layering.sh" "$here" >/dev/null
expect_violation "detect/ includes store/" src/osprey/detect/model.cc '#include "osprey/store/store.h"'
expect_violation "rca/ includes app/" src/osprey/rca/cube.h '#include "osprey/app/pipeline.h"'
expect_violation "base/ includes cli/" src/osprey/base/time.cc '#  include <osprey/cli/args.h>'
expect_violation "api/ deletes a detector" src/osprey/api/handlers.cc 'void F(store::Store& s) { (void)s.DeleteDetector("x"); }'
expect_violation "api/ commits a chunk" src/osprey/api/views.cc 'void G(store::Store* s) { (void)s->CommitChunk({}); }'
