#!/usr/bin/env bash
# accuracy.sh - how far udpbeat's RTT is from the on-the-wire RTT, on loopback.
#
# For each run, protocol (seed, STAMP) and binary (the new one, and an older one to
# compare with if given): start `udpbeat serve` on 127/8 (always the new binary's, so
# only the client differs), capture its port on lo with tcpdump (nanosecond timestamps)
# while `udpbeat ping --json -i 2ms -c 1000` probes at 500 pps, then match each reply
# udpbeat reported to its request and reply in the capture by sequence number
# (bench/accuracy.py) and report the median and p99 of |udpbeat RTT - capture RTT|, with
# STAMP's RTT taken as T4 - T1 (the reflector's residence included, as on the wire), and
# how many replies had the kernel's transmit timestamp as T1.
#
# usage: bench/accuracy.sh
#   UDPBEAT=PATH      the binary measured (default: build/udpbeat)
#   UDPBEAT_OLD=PATH  a binary to compare with (default: /tmp/udpbeat-before if present;
#                     UDPBEAT_OLD= to skip)
#   ACC_RUNS=N        repetitions (default 3); the table gives each and min/median
#   ACC_COUNT=N       probes per measurement (default 1000)
#   ACC_INTERVAL=D    between probes, in us or ms (default 2ms)
#   ACC_OUT=FILE      keep the raw figures (one JSON object per measurement)
# Needs root (or CAP_NET_RAW) for tcpdump. Loopback only; every process is bounded in
# time and stopped by PID; the temporary directory is removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
new=${UDPBEAT:-$top/build/udpbeat}
old=${UDPBEAT_OLD-/tmp/udpbeat-before}
runs=${ACC_RUNS:-3}
count=${ACC_COUNT:-1000}
interval=${ACC_INTERVAL:-2ms}
[[ -x $new ]] || { echo "accuracy.sh: $new not found; build udpbeat first (./dev.sh demo)" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "accuracy.sh: ACC_RUNS must be 1..99" >&2; exit 2; }
[[ $count =~ ^[1-9][0-9]{0,4}$ ]] || { echo "accuracy.sh: ACC_COUNT must be 1..99999" >&2; exit 2; }
[[ $interval =~ ^([1-9][0-9]{0,5})(us|ms)$ ]] ||
  { echo "accuracy.sh: ACC_INTERVAL must be 1us..999999us or 1ms..999999ms" >&2; exit 2; }
interval_us=${BASH_REMATCH[1]}
[[ ${BASH_REMATCH[2]} == ms ]] && interval_us=$((interval_us * 1000))
command -v tcpdump >/dev/null || { echo "accuracy.sh: tcpdump not found (apt-get install tcpdump)" >&2; exit 2; }
binaries=(new)
if [[ -n $old ]]; then
  if [[ -x $old ]]; then binaries+=(old); else echo "accuracy.sh: $old not found; measuring the new binary only" >&2; fi
fi

tmp=$(mktemp -d /tmp/udpbeat-acc.XXXXXX)
spid="" tpid="" ppid=""
stop() {  # stop one process we started, by PID, and reap it
  local pid=$1
  [[ -z $pid ]] && return 0
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() { stop "$ppid"; stop "$tpid"; stop "$spid"; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
results=$tmp/results.jsonl
: >"$results"

wait_for() {  # wait_for FILE PATTERN SECONDS: until a line of FILE matches
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "accuracy.sh: timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

# A generous bound on one ping: its probes at the interval, plus 30 s.
ping_bound=$((count * interval_us / 1000000 + 30))

measure() {  # measure BINARY LABEL PROTO RUN
  local bin=$1 label=$2 proto=$3 run=$4 port
  local pcap=$tmp/cap.pcap json=$tmp/ping.json
  # The background jobs create their output files themselves, maybe after wait_for first
  # looks: remove the last measurement's, or wait_for could find its lines.
  rm -f "$tmp/serve.out" "$tmp/tcpdump.err"
  # The server picks a free port itself; its first line names it (wait for the whole
  # line: the port may be written apart from the words before it). It listens on an
  # address of 127/8 of its own, so that the capture filter matches its packets only and
  # not those of another program whose ephemeral port happens to be the same.
  local addr=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
  timeout 600 "$new" serve --bind "$addr:0" >"$tmp/serve.out" 2>&1 &
  spid=$!
  wait_for "$tmp/serve.out" "listening on ${addr//./\\.}:[0-9][0-9]* " 5
  port=$(sed -n "s/.*listening on ${addr//./\\.}:\\([0-9][0-9]*\\).*/\\1/p" "$tmp/serve.out" | head -1)
  [[ -n $port ]] || { echo "accuracy.sh: no port in the server's output:" >&2; cat "$tmp/serve.out" >&2; return 1; }
  # -c: stop by itself once every request and reply is in; -Z root: write the file as the
  # user who runs this script; -U: packet-buffered, so nothing is lost at stop.
  timeout $((ping_bound + 30)) tcpdump -i lo -n -Z root -s 256 -B 8192 -U \
    --time-stamp-precision=nano -c $((2 * count)) -w "$pcap" "udp and host $addr and port $port" \
    >/dev/null 2>"$tmp/tcpdump.err" &
  tpid=$!
  wait_for "$tmp/tcpdump.err" "listening on" 10
  # In the background, so that a signal to this script stops it at once (see cleanup).
  timeout "$ping_bound" "$bin" ping --proto "$proto" --json -i "$interval" -c "$count" \
    "$addr:$port" >"$json" 2>"$tmp/ping.err" &
  ppid=$!
  wait "$ppid" || {
    echo "accuracy.sh: $label ping --proto $proto failed:" >&2
    cat "$tmp/ping.err" >&2
    return 1
  }
  ppid=""
  # tcpdump ends by itself when no probe was lost; otherwise stop it.
  for _ in $(seq 30); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
  stop "$tpid"
  tpid=""
  stop "$spid"
  spid=""
  local drops
  drops=$(sed -n 's/^\([0-9]*\) packets* dropped by kernel.*/\1/p' "$tmp/tcpdump.err")
  python3 "$here/accuracy.py" match --pcap "$pcap" --json "$json" --port "$port" \
    --proto "$proto" --label "$label#$run" --drops "${drops:-0}" >>"$results"
  rm -f "$pcap" "$json"
}

echo "accuracy.sh: $runs run(s) x {${binaries[*]}} x {seed, stamp}, $count probes at $interval each;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((run = 1; run <= runs; run++)); do
  for proto in seed stamp; do
    for b in "${binaries[@]}"; do
      if [[ $b == new ]]; then measure "$new" new "$proto" "$run"; else measure "$old" old "$proto" "$run"; fi
    done
  done
done
echo "accuracy.sh: done; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[[ -n ${ACC_OUT:-} ]] && cp "$results" "$ACC_OUT"
python3 "$here/accuracy.py" table "$results"
