#!/usr/bin/env bash
# Runs the libFuzzer harnesses (tests/fuzz/) for longer than the test suite does.
#
#   tools/fuzz_long.sh [SECONDS [HARNESS...]]    default: 60 s each, all harnesses
#
# Builds build-fuzz/ (clang, -Dfuzz=true) if needed. Each harness starts from a temporary
# copy of its committed corpus (tests/fuzz/corpus/<name>/, never written) and runs for
# SECONDS with -max_total_time. Prints execs/s and final coverage per harness, and the
# path and hex of any crashing input (kept in build-fuzz/fuzz-long/). Extra libFuzzer
# flags can be passed in FUZZ_FLAGS, e.g. FUZZ_FLAGS=-jobs=2. Exit 1 if any harness crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=(lab_protocol stamp responder stamp_auth)

if [[ ! -f build-fuzz/build.ninja ]]; then
  CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dbenchmarks=false >/dev/null
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("${h}_fuzz"); done
meson compile -C build-fuzz "${targets[@]}" >/dev/null

out=build-fuzz/fuzz-long
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rc=0
for h in "${harnesses[@]}"; do
  mkdir -p "$work/$h"
  cp tests/fuzz/corpus/"$h"/* "$work/$h/"
  log=$out/$h.log
  echo "== ${h}_fuzz: ${secs} s"
  # shellcheck disable=SC2086  # FUZZ_FLAGS is a list of flags
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "build-fuzz/tests/fuzz/${h}_fuzz" -max_total_time="$secs" -max_len=2048 \
      -print_final_stats=1 -error_exitcode=1 -artifact_prefix="$out/${h}-" ${FUZZ_FLAGS:-} \
      "$work/$h" >"$log" 2>&1; then
    rc=1
    grep -E 'fuzz property violated|ERROR: |runtime error' "$log" | head -5 || true
    sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | while read -r f; do
      echo "crash: $f ($(stat -c %s "$f") B): $(od -An -tx1 -v "$f" | tr -d ' \n' | head -c 1024)"
    done
  fi
  grep -E '^#[0-9]+ +DONE' "$log" | tail -1 || grep -E '^#[0-9]+' "$log" | tail -1 || true
  sed -n 's/^stat::\(number_of_executed_units\|average_exec_per_sec\|new_units_added\):[[:space:]]*/  \1 /p' "$log"
  echo "  corpus: $(find "$work/$h" -type f | wc -l) files (log: $log)"
done
exit $rc
