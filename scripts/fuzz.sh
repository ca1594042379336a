#!/usr/bin/env bash
# Coverage-guided fuzzing of osprey's parsers with libFuzzer (`make fuzz`):
# configures the `fuzz` preset (clang, -fsanitize=fuzzer,address,undefined)
# in build/fuzz, builds the targets of fuzz/, and runs each for SECONDS.
# New interesting inputs go to build/fuzz/corpus/<target>/ (the checked-in
# fuzz/corpus/<target>/ is only read); crashes, leaks and timeouts to
# build/fuzz/crashes/<target>-*. Exits 1 when any target found one.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (default: 60 s, every target)
# FUZZ_TIMEOUT (seconds, default 10) is libFuzzer's per-input limit; it is
# wall-clock time, so on a loaded machine raise it (60) lest a slow start be
# reported as a hang. FUZZ_JOBS=N fuzzes N targets at once.
# clang is not in scripts/install-deps.sh: fuzzing is optional.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
if ! command -v clang++ >/dev/null; then
  echo "make fuzz needs clang (apt-get install clang); 'make test' runs the fuzz targets without it" >&2
  exit 2
fi
test -f build/fuzz/build.ninja || cmake --preset fuzz
cmake --build build/fuzz --target fuzz_all -j "${JOBS:-$(nproc)}"

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in fuzz/*_fuzz.cc; do targets+=("$(basename "$f" _fuzz.cc)"); done
fi
mkdir -p build/fuzz/crashes
fuzz_one() {  # TARGET; prints its figures, returns 1 on a finding
  local t=$1 rc=0
  mkdir -p "build/fuzz/corpus/$t"
  build/fuzz/fuzz/fuzz_"$t" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -max_len=1048576 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$t-" \
      "build/fuzz/corpus/$t" "fuzz/corpus/$t" 2>"build/fuzz/$t.log" || rc=1
  {
    echo "== fuzz_$t for ${seconds}s: $( ((rc)) && echo FINDING || echo ok)"
    ((rc)) && grep -E "ERROR|SUMMARY|invariant failed|Test unit written" "build/fuzz/$t.log" | head -5
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "build/fuzz/$t.log" | tr '\n' ' '
    echo
  } || true
  return $rc
}
failed=()
jobs=${FUZZ_JOBS:-1}
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  pids=()
  for t in "${targets[@]:i:jobs}"; do
    fuzz_one "$t" >"build/fuzz/$t.summary" &
    pids+=("$!:$t")
  done
  for p in "${pids[@]}"; do
    wait "${p%%:*}" || failed+=("${p#*:}")
    cat "build/fuzz/${p#*:}.summary"
  done
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: crashes in ${failed[*]}: see build/fuzz/crashes/ and build/fuzz/<target>.log" >&2
  exit 1
fi
echo "fuzz: no crash in ${#targets[@]} targets"
