#!/usr/bin/env bash
# fleet.sh - one `udpbeat heartbeat` watching 10,000 targets at 1 probe/s each (issue 13,
# item 5), beside the C floor and fping, in one run. Loopback only.
#
# Steps (each tool alone on the machine, the client on CPU 0 and any server on CPU 1):
#  (1) the floor: the team's udp_loadgen.c (../shared/bench, compiled into $PEERS_BIN as
#      peers.sh does) in open loop, 10,000 sockets x 1 pps = 10,000 pps, against ref_echo.c
#      (recvmmsg/sendmmsg) on 127.0.0.1; its own CPU per probe (a send and its reply
#      received), and ref_echo's per reply. udp_loadgen allows 127.0.0.1 only (one
#      destination address) and at most 20 s: it runs min(FLEET_SECONDS, 20) s.
#  (2) udpbeat: `serve --bind 0.0.0.0:PORT` answers 10,000 distinct addresses 127.1.y.z
#      (from the address each request was sent to); `heartbeat --targets FILE -i 1s
#      --metrics-listen ADDR -q` watches them. After a warm-up, CPU (/proc utime+stime)
#      over FLEET_SECONDS divided by the probes the loop counted in that window (SIGQUIT's
#      interim line at both ends; the schedule's count if it does not answer, then flagged);
#      false downs and suspects by phase (warm-up, window, scrapes, after SIGINT); RSS per
#      target (minus an idle 1-target heartbeat's RSS); FLEET_SCRAPES timed /metrics
#      scrapes each way: as curl sends them (plain), asking for gzip as Prometheus does
#      and timing the bytes as sent (gzip: the agent's side), and the same decoded by curl
#      (--compressed: what a scraper that inflates sees, its own inflating included).
#  (3) fping (Debian's 5.1, ICMP echo answered by the kernel) over the same addresses for
#      FLEET_SECONDS: `fping -l -p 1000 -i 0.05 -r 0 -q`, as one process per 5,000
#      addresses (two for 10,000: one process cannot send 10,000 probes/s, see step 3);
#      CPU per probe of the processes together.
# Prints one table; FLEET_OUT=FILE keeps the raw figures ("name value unit" lines).
#
# usage: bench/fleet.sh
#   UDPBEAT=PATH       the binary (default build/udpbeat; use a release build for figures)
#   FLEET_SECONDS=N    measured seconds per tool, 5..600 (default 60)
#   FLEET_TARGETS=N    targets, 1..15000 (default 10000)
#   FLEET_SCRAPES=N    timed /metrics scrapes, 1..100 (default 10)
#   FLEET_FPING_ADDRS=N  addresses per fping process, 1..6000 (default 5000; at most
#                      6,553 probes/s per fping, see step 3)
#   FLEET_OUT=FILE     keep the raw figures
#   FLEET_KEEP=DIR     keep heartbeat's and serve's outputs, the scrape timings, udp_loadgen's
#   FLEET_OUTPUT=json  heartbeat --json instead of -q (one line per reply: heavy at 10,000)
#   PEERS_DIR=DIR      udp_loadgen.c and ref_echo.c (default ../shared/bench)
# Needs root for fping's 0.05 ms interval and for 10,000+ descriptors (RLIMIT_NOFILE).
# Every process is started here, bounded in time (its own count or a watchdog), stopped
# by PID, and the temporary directory is removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
udpbeat=${UDPBEAT:-$top/build/udpbeat}
secs=${FLEET_SECONDS:-60}
ntargets=${FLEET_TARGETS:-10000}
nscrapes=${FLEET_SCRAPES:-10}
fping_per_process=${FLEET_FPING_ADDRS:-5000}
peers=${PEERS_DIR:-$top/../shared/bench}
bin=${PEERS_BIN:-/tmp/udpbeat-peers-bin}
hb_output=--${FLEET_OUTPUT:-quiet}  # --quiet: transitions and the statistics only
warm=3  # seconds before the measured window: sockets created, first round sent

die() { echo "fleet.sh: $*" >&2; exit 2; }
[[ -x $udpbeat ]] || die "$udpbeat not found; build udpbeat first (UDPBEAT=PATH)"
[[ $secs =~ ^[0-9]+$ ]] && ((secs >= 5 && secs <= 600)) || die "FLEET_SECONDS must be 5..600"
[[ $ntargets =~ ^[0-9]+$ ]] && ((ntargets >= 1 && ntargets <= 15000)) ||
  die "FLEET_TARGETS must be 1..15000"
[[ $hb_output == --quiet || $hb_output == --json ]] || die "FLEET_OUTPUT must be quiet or json"
[[ $nscrapes =~ ^[0-9]+$ ]] && ((nscrapes >= 1 && nscrapes <= 100)) ||
  die "FLEET_SCRAPES must be 1..100"
[[ $fping_per_process =~ ^[0-9]+$ ]] && ((fping_per_process >= 1 && fping_per_process <= 6000)) ||
  die "FLEET_FPING_ADDRS must be 1..6000"
for f in udp_loadgen.c ref_echo.c; do
  [[ -f $peers/$f ]] || die "$peers/$f not found (set PEERS_DIR)"
done
for t in fping curl python3 gcc taskset; do
  command -v $t >/dev/null || die "$t not found (apt-get install fping curl python3 gcc)"
done
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= ntargets + 100)) || die "RLIMIT_NOFILE $(ulimit -n) is below $((ntargets + 100))"

mkdir -p "$bin"
for p in udp_loadgen ref_echo; do  # the team's sources, compiled outside the repo
  if [[ ! -x $bin/$p || $peers/$p.c -nt $bin/$p ]]; then
    gcc -O2 -Wall -o "$bin/$p" "$peers/$p.c" || die "build $p failed"
  fi
done

tmp=$(mktemp -d /tmp/udpbeat-fleet.XXXXXX)
declare -A live  # PID -> signal that stops it: everything started here and not yet reaped
stop() {  # stop PID [SECONDS]: one process we started, and reap it; SIGKILL after SECONDS
  local pid=$1
  [[ -z $pid || -z ${live[$pid]:-} ]] && return 0
  kill "-${live[$pid]}" "$pid" 2>/dev/null || true
  for _ in $(seq $((10 * ${2:-10}))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "live[$pid]"
}
cleanup() {
  local pid
  for pid in "${!live[@]}"; do stop "$pid"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "fleet.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM
started() { live[$1]=${2:-INT}; }
watchdog() {  # watchdog PID SECONDS: SIGINT, then SIGKILL, if PID outlives SECONDS
  (
    trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$2" & s=$!; wait "$s"
    kill -INT "$1" 2>/dev/null; sleep 5; kill -KILL "$1" 2>/dev/null
  ) &
  wd=$!
  started "$wd" TERM
}
out=$tmp/figures.txt
: >"$out"
emit() { echo "$1 $2 $3" >>"$out"; }
cpu_s() { awk '{ sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / 100 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
free_port() {  # free_port udp|tcp: a port free on every address now (the kernel's pick)
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])' "$1"
}
wait_for() {  # wait_for FILE REGEX SECONDS
  for _ in $(seq $((10 * $3))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  die "timed out waiting for /$2/ in $1: $(tail -3 "$1")"
}
(($(getconf CLK_TCK) == 100)) || die "CLK_TCK is not 100"

# Targets: 127.1.y.z, z in 1..250 (no .0, no broadcast-looking .255), two labels each.
port=$(free_port udp)
python3 - "$ntargets" "$port" "$tmp/targets" "$tmp/addrs" <<'PY'
import sys
n, port = int(sys.argv[1]), int(sys.argv[2])
with open(sys.argv[3], "w") as t, open(sys.argv[4], "w") as a:
    for i in range(n):
        addr = f"127.1.{i // 250}.{1 + i % 250}"
        t.write(f"{addr}:{port} rack=r{i // 250} zone=z{i % 4}\n")
        a.write(addr + "\n")
PY
emit env.targets "$ntargets" count
emit env.seconds "$secs" s
emit env.loadavg_start "$(cut -d' ' -f1 /proc/loadavg)" load

# ---------------------------------------------------------------- (1) the C floor
fsecs=$((secs < 20 ? secs : 20))
taskset -c 1 "$bin/ref_echo" "$port" $((fsecs + 30)) 2>"$tmp/ref_echo.err" &
epid=$!; started "$epid"
sleep 0.5
taskset -c 0 "$bin/udp_loadgen" -d "127.0.0.1:$port" -n "$ntargets" -r "$ntargets" -t "$fsecs" \
  -D 1 -p "$epid" -c 1 >"$tmp/lg.txt"
stop "$epid"
kv() { sed -n "s/^$1=//p" "$tmp/lg.txt"; }
emit floor.seconds "$(kv send_phase_s)" s
emit floor.sent "$(kv sent)" pkts
emit floor.received "$(kv received)" pkts
emit floor.cpu "$(kv client_cpu_s)" s
emit floor.server_cpu "$(kv srv_cpu_s)" s

# ---------------------------------------------------------------- (2) udpbeat
# serve's defaults do not throttle this fleet, so none is changed: --max-rate is per
# source address and port (100,000/s by default; each target's socket sends 1/s),
# --max-peers 65,536 >= 10,000 sources, and a peer is forgotten after 60 s silent (each
# sends every second). Its closing line shows "rate limited 0" and the peers it saw.
taskset -c 1 "$udpbeat" serve --bind "0.0.0.0:$port" >"$tmp/serve.log" 2>&1 &
spid=$!; started "$spid"
watchdog "$spid" $((3 * secs + 120)); swd=$wd
wait_for "$tmp/serve.log" "listening on" 10
serve_cpu0=$(cpu_s "$spid")

# idle: the same command with one target, for the RSS baseline
mport=$(free_port tcp)
taskset -c 0 "$udpbeat" heartbeat -i 1s -c 10 "$hb_output" --metrics-listen "127.0.0.1:$mport" \
  "127.1.0.1:$port" >"$tmp/idle.out" 2>"$tmp/idle.err" &
ipid=$!; started "$ipid"
sleep 3
kill -0 "$ipid" 2>/dev/null || die "idle heartbeat ended early: $(tail -3 "$tmp/idle.err")"
curl -s -o /dev/null "http://127.0.0.1:$mport/metrics"
idle_rss=$(rss_kb "$ipid")
stop "$ipid"
emit udpbeat.idle_rss "$idle_rss" KiB

mport=$(free_port tcp)
interim() {  # interim N: SIGQUIT heartbeat, wait (20 s at most) for its Nth interim line
  local end=$((SECONDS + 20))
  kill -QUIT "$hpid"
  while ((SECONDS < end)); do  # a loop far behind its schedule answers late, or not
    (($(grep -c '^sent [0-9]*, received' "$tmp/hb.err" || true) >= $1)) && break
    sleep 0.1
  done
  grep '^sent [0-9]*, received' "$tmp/hb.err" | sed -n "$1s/^sent \([0-9]*\),.*/\1/p" || true
}
t_start=$(now)
taskset -c 0 "$udpbeat" heartbeat --targets "$tmp/targets" -i 1s -c $((secs + warm + 300)) \
  --metrics-listen "127.0.0.1:$mport" "$hb_output" >"$tmp/hb.out" 2>"$tmp/hb.err" &
hpid=$!; started "$hpid"
watchdog "$hpid" $((secs + warm + 290)); hwd=$wd
sleep "$warm"
kill -0 "$hpid" 2>/dev/null || die "heartbeat ended early: $(tail -3 "$tmp/hb.err")"
# The window: CPU from /proc, probes from the loop's own count (SIGQUIT prints it; the
# first interim's cost falls inside the window, the second's outside).
c0=$(cpu_s "$hpid"); t0=$(now); s0=$(cpu_s "$spid")
n0=$(interim 1)
sleep "$secs"
c1=$(cpu_s "$hpid"); t1=$(now); s1=$(cpu_s "$spid")
n1=$(interim 2)
rss=$(rss_kb "$hpid")
emit udpbeat.rss "$rss" KiB
for enc in plain gzip gzip_decoded; do  # curl as is, then as Prometheus asks
  opt=()
  [[ $enc == gzip ]] && opt=(-H 'Accept-Encoding: gzip')  # the bytes as sent, not inflated
  [[ $enc == gzip_decoded ]] && opt=(--compressed)
  for _ in $(seq "$nscrapes"); do
    curl -s "${opt[@]}" -o "$tmp/metrics.txt" -w "$enc %{time_total} %{size_download}\n" \
      "http://127.0.0.1:$mport/metrics" >>"$tmp/scrapes.txt"
    sleep 0.3
  done
done
c2=$(cpu_s "$hpid"); t2=$(now)
stop "$hpid" 120; stop "$hwd"
t3=$(now)
stop "$spid"; stop "$swd"
emit udpbeat.window "$(calc "$t1 - $t0")" s
emit udpbeat.cpu_window "$(calc "$c1 - $c0")" s
if [[ -n $n0 && -n $n1 ]]; then
  emit udpbeat.probes_window "$((n1 - n0))" probes
else  # no count from the loop: the schedule's (an upper bound when it falls behind)
  echo "fleet.sh: heartbeat did not answer SIGQUIT within 20 s; probes in the window taken" \
    "from the schedule (${ntargets}/s), CPU per probe is then a lower bound" >&2
  emit udpbeat.probes_window "$(calc "$ntargets * ($t1 - $t0)")" probes
  emit udpbeat.probes_window_from_schedule 1 flag
fi
emit udpbeat.cpu_life "$c2" s
emit udpbeat.life "$(calc "$t2 - $t_start")" s
emit udpbeat.stop_seconds "$(calc "$t3 - $t2")" s
emit udpbeat.serve_cpu_window "$(calc "$s1 - $s0")" s
emit udpbeat.serve_cpu_life "$(calc "$s1 - $serve_cpu0")" s
python3 - "$tmp/hb.out" "$tmp/metrics.txt" "$tmp/scrapes.txt" "$t_start" "$t0" "$t1" "$t2" \
  >>"$out" <<'PY'
import datetime, json, re, statistics, sys
phases = ("warmup", "window", "scrapes", "after_stop")
bounds = [float(x) for x in sys.argv[4:8]]  # start, window start, window end, stop
def phase(t):
    i = sum(t >= b for b in bounds[1:])
    return phases[i]
count = {(to, p): 0 for to in ("down", "suspect") for p in phases}
sent = received = lost = late = -1
for line in open(sys.argv[1]):
    if line.startswith("{"):  # --json
        j = json.loads(line)
        e = j.get("event")
        if e == "state" and j["to"] in ("down", "suspect"):
            count[(j["to"], phase(j["time_unix_ns"] / 1e9))] += 1
        elif e == "summary":
            sent, received, lost = j["sent"], j["received"], j["lost"]
        continue
    m = re.match(r"(\S+Z) peer \S+ is (down|suspect) \(", line)
    if m:
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        count[(m.group(2), phase(t))] += 1
    m = re.search(r"Sent = (\d+), Received = (\d+), Lost = (\d+)", line)
    if m:
        sent, received, lost = map(int, m.groups())
    m = re.match(r"late (\d+), duplicate", line)
    if m:
        late = int(m.group(1))
for (to, p), n in count.items():
    print(f"udpbeat.to_{to}.{p} {n} events")
print(f"udpbeat.sent {sent} probes")
print(f"udpbeat.received {received} probes")
print(f"udpbeat.lost {lost} probes")
print(f"udpbeat.late {late} probes")
up0 = changes = 0
for line in open(sys.argv[2]):  # the last scrape, taken before the run was stopped
    if line.startswith("udpbeat_up{") and line.split()[-1] == "0":
        up0 += 1
    elif line.startswith("udpbeat_state_changes_total{"):
        changes += int(line.split()[-1])
print(f"udpbeat.metrics_up0 {up0} targets")
print(f"udpbeat.metrics_state_changes {changes} changes")
rows = [l.split() for l in open(sys.argv[3])]
for enc in ("plain", "gzip", "gzip_decoded"):
    times = [float(r[1]) for r in rows if r[0] == enc]
    print(f"udpbeat.scrape_{enc}_median {1000 * statistics.median(times):.1f} ms")
    print(f"udpbeat.scrape_{enc}_max {1000 * max(times):.1f} ms")
    print(f"udpbeat.scrape_{enc}_bytes {max(int(r[2]) for r in rows if r[0] == enc)} B")
PY
sed -n 's/.*rate limited \([0-9]*\), peers \([0-9]*\), peer evictions \([0-9]*\).*/udpbeat.serve_rate_limited \1 pkts\nudpbeat.serve_peers \2 peers\nudpbeat.serve_peer_evictions \3 peers/p' \
  "$tmp/serve.log" >>"$out"

# ---------------------------------------------------------------- (3) fping
# -p 1000: each target once a second; -i 0.05: at least 0.05 ms between two probes (a
# budget of 20,000/s per process; non-root users may not go below 1 ms); -r 0: no retries,
# one probe per period as udpbeat does. One fping 5.1 cannot send 10,000 probes/s: a
# sequence number is not reused for 10 s and there are 65,535, so above 6,553/s it stops
# with "not enough sequence numbers available" (runs 10 and 11 of bench/RESULTS.md (e)).
# So the addresses are split into processes of at most FLEET_FPING_ADDRS (5,000: 5,000
# probes/s each, within the limit), all on the client's CPU, and their CPU and probes are
# summed: what an operator runs to watch this many hosts with fping.
split -l "$fping_per_process" -d -a 3 "$tmp/addrs" "$tmp/addrs."
fping_parts=("$tmp"/addrs.[0-9][0-9][0-9])
emit env.fping_processes "${#fping_parts[@]}" count
emit env.fping_addrs_per_process "$fping_per_process" count
run_fping() {  # run_fping NAME ARGS...: FLEET_SECONDS of fping, CPU over the window, summed
  local name=$1 i pids=() wds=()
  shift
  for i in "${!fping_parts[@]}"; do
    taskset -c 0 fping "$@" -r 0 -q -f "${fping_parts[$i]}" >"$tmp/fping.$i.out" \
      2>"$tmp/fping.$i.err" &
    pids+=($!); started "$!"
    watchdog "$!" $((secs + warm + 60)); wds+=("$wd")
  done
  local t_start c0=0 t0 c1=0 t1 rss=0 pid c
  t_start=$(now)
  sleep "$warm"
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null ||
      die "fping $* ended early: $(tail -2 "$tmp/fping.$i.err")"
  done
  for pid in "${pids[@]}"; do c0=$(calc "$c0 + $(cpu_s "$pid")"); done
  t0=$(now)
  sleep "$secs"
  for i in "${!pids[@]}"; do
    if ! c=$(cpu_s "${pids[$i]}" 2>/dev/null); then  # it gave up
      for pid in "${pids[@]}" "${wds[@]}"; do stop "$pid"; done
      echo "fleet.sh: fping $* (${fping_parts[$i]##*/}) ended before the window did:" \
        "$(tail -1 "$tmp/fping.$i.err")" >&2
      emit "$name.failed" 1 flag
      return 0
    fi
    c1=$(calc "$c1 + $c")
  done
  t1=$(now)
  for pid in "${pids[@]}"; do rss=$((rss + $(rss_kb "$pid"))); done
  emit "$name.rss" "$rss" KiB
  for pid in "${pids[@]}" "${wds[@]}"; do stop "$pid"; done
  emit "$name.processes" "${#pids[@]}" count
  emit "$name.window" "$(calc "$t1 - $t0")" s
  emit "$name.cpu_window" "$(calc "$c1 - $c0")" s
  emit "$name.cpu_life" "$c1" s
  emit "$name.life" "$(calc "$t1 - $t_start")" s
  emit "$name.stdout_lines" "$(cat "$tmp"/fping.*.out | wc -l)" lines
  python3 - "$name" "$tmp"/fping.*.err >>"$out" <<'PY'
import re, sys
xmt = rcv = lossy = 0
for path in sys.argv[2:]:
    for line in open(path):
        m = re.search(r"xmt/rcv/%loss = (\d+)/(\d+)/", line)
        if m:
            x, r = int(m.group(1)), int(m.group(2))
            xmt += x; rcv += r
            if x - r > 1: lossy += 1  # the last probe may be in flight at SIGINT
n = sys.argv[1]
print(f"{n}.sent {xmt} probes")
print(f"{n}.received {rcv} probes")
print(f"{n}.targets_lossy {lossy} targets")
PY
  rm -f "$tmp"/fping.*.out "$tmp"/fping.*.err
}
run_fping fping_loop -l -p 1000 -i 0.05
emit env.loadavg_end "$(cut -d' ' -f1 /proc/loadavg)" load

# ---------------------------------------------------------------- the table
python3 - "$out" "$ntargets" "$secs" <<'PY'
import sys
f = {}
for line in open(sys.argv[1]):
    k, v, _ = line.split(None, 2)
    f[k] = float(v)
n, secs = int(sys.argv[2]), int(sys.argv[3])
g = lambda k: f.get(k, float("nan"))
floor_us = 1e6 * g("floor.cpu") / g("floor.sent")
hb_probes = g("udpbeat.probes_window")
hb_us = 1e6 * g("udpbeat.cpu_window") / hb_probes
# No summary when the run had to be killed: no whole-life figure then.
hb_life = f"{1e6 * g('udpbeat.cpu_life') / g('udpbeat.sent'):.2f}" if g("udpbeat.sent") > 0 else "—"
rss_t = (g("udpbeat.rss") - g("udpbeat.idle_rss")) * 1024 / n
phases = ("warmup", "window", "scrapes")
downs = sum(int(g(f"udpbeat.to_down.{p}")) for p in phases)
suspects = sum(int(g(f"udpbeat.to_suspect.{p}")) for p in phases)
print(f"fleet: {n} targets x 1 probe/s, {secs} s windows "
      f"(load average {g('env.loadavg_start'):.2f} at the start, {g('env.loadavg_end'):.2f} at the end)")
print()
print("| tool | probes/s | CPU s | CPU µs/probe | ÷ floor | µs/probe, whole life | RSS/target | false downs (suspects) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
print(f"| C floor: udp_loadgen, {n} sockets → ref_echo on 127.0.0.1, {g('floor.seconds'):.0f} s | "
      f"{g('floor.sent') / g('floor.seconds'):,.0f} | {g('floor.cpu'):.2f} | {floor_us:.2f} | 1.00 | — | — | "
      f"— (lost {int(g('floor.sent') - g('floor.received'))}) |")
print(f"| udpbeat heartbeat -q | {hb_probes / g('udpbeat.window'):,.0f} | {g('udpbeat.cpu_window'):.2f} | "
      f"{hb_us:.2f}{' (at least)' if g('udpbeat.probes_window_from_schedule') == 1 else ''} | "
      f"{hb_us / floor_us:.2f} | {hb_life} | {rss_t:,.0f} B | {downs} ({suspects}) |")
fp = {}
procs = int(g("env.fping_processes"))
fping_label = "fping -l -p 1000 -i 0.05 -r 0 -q" + (
    f", {procs} processes of at most {int(g('env.fping_addrs_per_process')):,} addresses"
    if procs > 1 else "")
for name, label in (("fping_loop", fping_label),):
    if g(f"{name}.failed") == 1:
        print(f"| {label} (ICMP) | — | — | — | — | — | — | ended before the window did (see above) |")
        continue
    rate = g(f"{name}.sent") / g(f"{name}.life")
    us = 1e6 * g(f"{name}.cpu_window") / (rate * g(f"{name}.window"))
    fp[name] = us
    print(f"| {label} (ICMP) | {rate:,.0f} | {g(f'{name}.cpu_window'):.2f} | {us:.2f} | {us / floor_us:.2f} | "
          f"{1e6 * g(f'{name}.cpu_life') / g(f'{name}.sent'):.2f} | {g(f'{name}.rss') * 1024 / n:,.0f} B (all) | "
          f"— ({int(g(f'{name}.targets_lossy'))} targets lost >1) |")
print()
print(f"/metrics, {n} targets: plain {g('udpbeat.scrape_plain_median'):.0f} ms median, "
      f"{g('udpbeat.scrape_plain_max'):.0f} ms max, {g('udpbeat.scrape_plain_bytes') / 1e6:.1f} MB; gzip "
      f"{g('udpbeat.scrape_gzip_median'):.0f} ms median, {g('udpbeat.scrape_gzip_max'):.0f} ms max, "
      f"{g('udpbeat.scrape_gzip_bytes') / 1e6:.1f} MB; gzip decoded by curl "
      f"{g('udpbeat.scrape_gzip_decoded_median'):.0f} ms median, {g('udpbeat.scrape_gzip_decoded_max'):.0f} ms max")
print(f"servers: ref_echo {1e6 * g('floor.server_cpu') / g('floor.received'):.2f} µs/reply; udpbeat serve "
      f"{1e6 * g('udpbeat.serve_cpu_window') / hb_probes:.2f} µs/reply (rate limited "
      f"{int(g('udpbeat.serve_rate_limited'))}, peers {int(g('udpbeat.serve_peers'))}, evictions "
      f"{int(g('udpbeat.serve_peer_evictions'))})")
print("udpbeat transitions to down/suspect: " + ", ".join(
    f"{p} {int(g(f'udpbeat.to_down.{p}'))}/{int(g(f'udpbeat.to_suspect.{p}'))}"
    for p in phases + ("after_stop",)) +
      f"; last scrape: udpbeat_up 0 for {int(g('udpbeat.metrics_up0'))} targets, "
      f"udpbeat_state_changes_total {int(g('udpbeat.metrics_state_changes'))}; "
      f"sent {int(g('udpbeat.sent'))}, received {int(g('udpbeat.received'))} (late {int(g('udpbeat.late'))}), "
      f"lost {int(g('udpbeat.lost'))}; "
      f"stopped in {g('udpbeat.stop_seconds'):.1f} s")
if g("fping_loop.failed") != 1:
  print(f"fping -l ({procs} processes): sent {int(g('fping_loop.sent'))}, received "
        f"{int(g('fping_loop.received'))}, {int(g('fping_loop.stdout_lines'))} lines on stdout")
ok = lambda c: "yes" if c else "NO"
print(f"targets: CPU/probe <= 1.3 x floor: {ok(hb_us <= 1.3 * floor_us)}; below fping's: "
      f"{ok(bool(fp) and hb_us < min(fp.values()))}; scrape <= 250 ms (median, max): plain "
      f"{ok(g('udpbeat.scrape_plain_median') <= 250)}, {ok(g('udpbeat.scrape_plain_max') <= 250)}; gzip "
      f"{ok(g('udpbeat.scrape_gzip_median') <= 250)}, {ok(g('udpbeat.scrape_gzip_max') <= 250)}; "
      f"zero false downs: {ok(downs == 0)}")
PY
if [[ -n ${FLEET_OUT:-} ]]; then cp "$out" "$FLEET_OUT"; fi
if [[ -n ${FLEET_KEEP:-} ]]; then  # the raw outputs, for a closer look
  mkdir -p "$FLEET_KEEP" && cp "$tmp"/{hb.out,hb.err,serve.log,scrapes.txt,lg.txt,figures.txt} "$FLEET_KEEP"/
fi
