#!/usr/bin/env bash
# udpbeat developer entry point (works on a fresh Debian 12 machine, as root).
#
#   ./dev.sh demo    install what is missing, build, run `udpbeat serve` on 127.0.0.1
#                    and `udpbeat ping` against it, then stop the server
#   ./dev.sh test    install what is missing, build, run the whole test suite: the
#                    normal build, the AddressSanitizer+UndefinedBehaviorSanitizer one,
#                    and the libFuzzer harnesses (bounded runs)
#   ./dev.sh bench   install what is missing, build, run the benchmarks (bench/)
#
# Build directories: build/ (debugoptimized, warnings are errors), build-asan/
# (AddressSanitizer+UndefinedBehaviorSanitizer), build-fuzz/ (clang, libFuzzer harnesses).
set -euo pipefail
cd "$(dirname "$0")"

# Every Debian package the project needs, in one place.
PACKAGES=(
  meson ninja-build pkg-config g++ python3
  liburing-dev libabsl-dev libcli11-dev nlohmann-json3-dev libmicrohttpd-dev libdeflate-dev
  zlib1g-dev  # the tests inflate what libdeflate compresses: an independent decoder
  libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  mandoc
  clang libclang-rt-14-dev
  zsh bash-completion systemd
  python3-scapy python3-jsonschema prometheus iproute2 nftables
  librsvg2-bin
)
BENCH_PACKAGES=(sockperf irtt tcpdump)

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup() {  # setup DIR [meson options...]
  local dir=$1
  shift
  if [[ -f $dir/build.ninja ]]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

build() {
  install_missing "${PACKAGES[@]}"
  setup build --werror --buildtype=debugoptimized
  meson compile -C build >/dev/null
}

# The demo server's PID and output file: globals, so the EXIT trap still sees them.
DEMO_PID=""
DEMO_OUT=""
stop_demo_server() {
  if [[ -n $DEMO_PID ]]; then
    kill -INT "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
    DEMO_PID=""
    cat "$DEMO_OUT"
  fi
  [[ -n $DEMO_OUT ]] && rm -f "$DEMO_OUT"
  DEMO_OUT=""
}

demo() {
  build
  local port=""
  DEMO_OUT=$(mktemp)
  trap stop_demo_server EXIT
  ./build/udpbeat serve --bind 127.0.0.1:0 >"$DEMO_OUT" 2>&1 &
  DEMO_PID=$!
  for _ in $(seq 50); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$DEMO_OUT")
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "dev.sh: udpbeat serve did not start" >&2; exit 1; }
  echo "\$ udpbeat ping 127.0.0.1:$port -c 10"
  ./build/udpbeat ping "127.0.0.1:$port" -c 10
  stop_demo_server
}

run_tests() {
  build
  local rc=0
  meson test -C build --print-errorlogs --num-processes 2 || rc=1
  # The sanitizer build runs unit and integration tests (benchmarks are timing, not tests).
  setup build-asan --werror --buildtype=debug -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbenchmarks=false -Dcpp_args=-fno-sanitize-recover=all
  meson compile -C build-asan >/dev/null
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 || rc=1
  # libFuzzer harnesses (tests/fuzz/): clang only, so their own build dir; each runs a
  # bounded number of inputs from the committed corpus. Longer runs: tools/fuzz_long.sh.
  CXX=clang++ setup build-fuzz -Dfuzz=true -Dbenchmarks=false --buildtype=debugoptimized
  meson compile -C build-fuzz lab_protocol_fuzz stamp_fuzz responder_fuzz stamp_auth_fuzz >/dev/null
  meson test -C build-fuzz --suite fuzz --print-errorlogs --num-processes 2 || rc=1
  return $rc
}

bench() {
  install_missing "${BENCH_PACKAGES[@]}"
  build
  meson test -C build --benchmark --verbose
  bench/side_by_side.sh
}

case "${1:-}" in
  demo) demo ;;
  test) run_tests ;;
  bench) bench ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
