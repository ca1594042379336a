#!/usr/bin/env bash
# The layering rules of docs/architecture.md that the link graph alone does
# not catch (run by .ci/run before the tests):
#  1. detect/, rca/, schedule/, ingest/ and base/ include nothing from
#     store/, app/, api/, connectors/, alerts/ or cli/;
#  2. api/ calls none of the state store's write methods: it writes through
#     app/ (app/detector_admin.h, app::RecordFeedback, ...). A write method is
#     every `virtual` method of store::Store itself (src/osprey/store/store.h;
#     not of the classes nested in it) whose name does not start with List,
#     Get, Count, Load, ForEach or Totals.
# Prints each violation as file:line and exits 1 when there is any.
#   scripts/check_layering.sh [SOURCE_ROOT]     (default: this checkout)
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"

failed=0
pure=(src/osprey/detect src/osprey/rca src/osprey/schedule src/osprey/ingest src/osprey/base)
if hits=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]osprey/(store|app|api|connectors|alerts|cli)/' \
    "${pure[@]}"); then
  echo "layering: these modules may not include store/, app/, api/, connectors/, alerts/ or cli/:" >&2
  echo "$hits" >&2
  failed=1
fi

# Store's own members: the lines of `class Store { ... };` at brace depth 1
# (a nested class's methods, ModelStateAccess's, are not the store's).
store_members=$(awk '
  /^class Store[[:space:]]*(:[^{]*)?\{/ { inside = 1; depth = 0 }
  inside {
    if (depth == 1) print
    line = $0
    depth += gsub(/\{/, "{", line) - gsub(/\}/, "}", line)
    if (depth == 0 && NR > 1 && line ~ /\}/) exit
  }' src/osprey/store/store.h)
writes=$(sed -nE 's/^[[:space:]]*virtual[^(]*[[:space:]&*]([A-Z][A-Za-z0-9_]*)\(.*/\1/p' <<<"$store_members" |
  grep -vE '^(List|Get|Count|Load|ForEach|Totals)' | sort -u | paste -sd'|' -)
if [[ -z "$writes" ]]; then
  echo "layering: found no write methods in src/osprey/store/store.h; the check is broken" >&2
  exit 1
fi
if hits=$(grep -rnE "(\.|->)[[:space:]]*($writes)[[:space:]]*\(" src/osprey/api --include='*.cc' --include='*.h' |
    grep -v '_test\.cc:'); then
  echo "layering: api/ calls the store's write methods ($writes) directly; go through app/:" >&2
  echo "$hits" >&2
  failed=1
fi

if ((failed)); then exit 1; fi
echo "layering: ok (${#pure[@]} pure modules; api/ uses none of the store's $(tr '|' '\n' <<<"$writes" | wc -l) write methods)"
